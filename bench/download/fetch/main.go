// Command fetch times one download+verify by sdform's download engine
// (package download) for bench/download/run.sh and prints one line of
// results. With -sink it times the ceilings instead: one GET whose body is
// only read (discard) or only hashed (sha256), nothing written, or (memory)
// no GET at all, -bytes hashed from a buffer: one core's SHA-256 rate, the
// floor of any single-pass verify, since sha256 cannot be split across
// cores. Together they split the engine's time into loopback, hashing and
// file writes.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"hash"
	"io"
	"log"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/sdform/sdform/providers/comfyui/download"
)

func main() {
	url := flag.String("url", "", "URL to fetch")
	dest := flag.String("dest", "", "destination file")
	sha := flag.String("sha256", "", "expected sha256")
	conns := flag.Int("connections", 8, "parallel connections (1: one stream)")
	handover := flag.Int64("handover", 0, "hand-over limit in bytes (0: default, -1: always read back)")
	writeback := flag.Int64("writeback", 0, "start writeback every N bytes per connection (0: default, -1: only the final fsync)")
	ramp := flag.Duration("ramp", 0, "open another connection at most this often while the hasher idles (0: default, negative: all at once)")
	buffered := flag.Bool("buffered", false, "never write with O_DIRECT (every byte through the page cache)")
	resolve := flag.Bool("resolve", true, "HEAD first, as a plan does (counted in the time)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the fetch here (go tool pprof)")
	sink := flag.String("sink", "", "discard or sha256: one GET, body read (and hashed), no file, no engine; memory: -bytes hashed from a buffer")
	bytes := flag.Int64("bytes", 0, "with -sink memory: how many bytes to hash")
	flag.Parse()
	if *sink == "memory" {
		hashMemory(*bytes)
		return
	}
	if *sink != "" {
		sinkGet(*url, *sink)
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	c := &download.Client{}
	ctx := context.Background()
	start := time.Now()
	r := &download.Remote{URL: *url, Size: -1, AcceptRanges: true}
	if *resolve {
		var err error
		if r, err = c.Resolve(ctx, *url); err != nil {
			log.Fatal(err)
		}
	}
	r.SHA256 = *sha
	opts := download.FetchOptions{Connections: *conns, HandoverLimit: *handover, WritebackEvery: *writeback, Buffered: *buffered, RampEvery: *ramp}
	if *conns == 1 {
		opts.ParallelMin = 1 << 62
	}
	res, err := c.Fetch(ctx, r, *dest, opts)
	if err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
	took := time.Since(start)
	fmt.Printf("connections=%d bytes=%d seconds=%.3f MB/s=%.1f hash_idle=%.3fs hash_tail=%.3fs sync=%.3fs parallel=%v opened=%d requests=%d direct=%d hashed_from_memory=%d hashed_from_file=%d sha256=%s\n",
		*conns, res.Size, took.Seconds(), float64(res.Size)/took.Seconds()/1e6, res.HashIdle.Seconds(), res.HashTail.Seconds(), res.Sync.Seconds(), res.Parallel, res.Connections, res.Requests, res.DirectBytes,
		res.HashedFromMemory, res.HashedFromFile, res.SHA256)
}

// sinkGet reads url's body with the engine's 1 MiB reads, hashing it when
// mode is sha256, and prints the time.
func sinkGet(url, mode string) {
	var d hash.Hash
	switch mode {
	case "discard":
	case "sha256":
		d = sha256.New()
	default:
		log.Fatalf("-sink %q: want discard or sha256", mode)
	}
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := io.ReadFull(resp.Body, buf)
		if d != nil {
			d.Write(buf[:k])
		}
		n += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	took := time.Since(start)
	sum := ""
	if d != nil {
		sum = " sha256=" + hex.EncodeToString(d.Sum(nil))
	}
	fmt.Printf("sink=%s bytes=%d seconds=%.3f MB/s=%.1f%s\n", mode, n, took.Seconds(), float64(n)/took.Seconds()/1e6, sum)
}

// hashMemory hashes n bytes from a 1 MiB buffer, the same piece size as the
// engine's reads, and prints the time: the SHA-256 floor of this machine.
func hashMemory(n int64) {
	if n <= 0 {
		log.Fatal("-sink memory needs -bytes > 0")
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	d := sha256.New()
	start := time.Now()
	for left := n; left > 0; left -= int64(len(buf)) {
		d.Write(buf[:min(left, int64(len(buf)))])
	}
	d.Sum(nil)
	took := time.Since(start)
	fmt.Printf("sink=memory bytes=%d seconds=%.3f MB/s=%.1f\n", n, took.Seconds(), float64(n)/took.Seconds()/1e6)
}
