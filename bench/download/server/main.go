// Command server serves one file over loopback HTTP for the download
// benchmarks, with Range support (http.ServeContent) and, with -rate, each
// response capped at that many bytes per second, the way a CDN caps a
// single connection.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func main() {
	file := flag.String("file", "", "file to serve (at /NAME)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	addrFile := flag.String("addrfile", "", "write the bound address here once listening")
	rate := flag.Int64("rate", 0, "cap each response at this many bytes per second (0: no cap)")
	flag.Parse()
	fi, err := os.Stat(*file)
	if err != nil {
		log.Fatal(err)
	}
	name := "/" + filepath.Base(*file)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile+".tmp", []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
			log.Fatal(err)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != name {
			http.NotFound(w, r)
			return
		}
		// A file of its own per request: ServeContent seeks, and
		// concurrent ranged requests must not share one offset.
		rf, err := os.Open(*file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rf.Close()
		var out http.ResponseWriter = w
		if *rate > 0 {
			out = &capped{ResponseWriter: w, rate: *rate, start: time.Now()}
		}
		http.ServeContent(out, r, name, fi.ModTime(), rf)
	})
	log.Fatal(http.Serve(ln, h))
}

// capped paces writes to rate bytes per second. It hides the
// ResponseWriter's ReadFrom, so the copy goes through Write in 32 KiB
// pieces instead of sendfile.
type capped struct {
	http.ResponseWriter
	rate  int64
	start time.Time
	sent  int64
}

func (c *capped) Write(b []byte) (int, error) {
	const piece = 64 << 10
	written := 0
	for len(b) > 0 {
		k := min(piece, len(b))
		n, err := c.ResponseWriter.Write(b[:k])
		written += n
		c.sent += int64(n)
		if err != nil {
			return written, err
		}
		b = b[k:]
		due := c.start.Add(time.Duration(float64(c.sent) / float64(c.rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
	}
	return written, nil
}
