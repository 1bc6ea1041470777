// Command fetch times one download+verify by sdform's download engine
// (package download) for bench/download/run.sh and prints one line of
// results.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
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
	resolve := flag.Bool("resolve", true, "HEAD first, as a plan does (counted in the time)")
	flag.Parse()
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
	opts := download.FetchOptions{Connections: *conns, HandoverLimit: *handover, WritebackEvery: *writeback}
	if *conns == 1 {
		opts.ParallelMin = 1 << 62
	}
	res, err := c.Fetch(ctx, r, *dest, opts)
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(start)
	fmt.Printf("connections=%d bytes=%d seconds=%.3f MB/s=%.1f hash_tail=%.3fs sync=%.3fs parallel=%v requests=%d hashed_from_memory=%d hashed_from_file=%d sha256=%s\n",
		*conns, res.Size, took.Seconds(), float64(res.Size)/took.Seconds()/1e6, res.HashTail.Seconds(), res.Sync.Seconds(), res.Parallel, res.Requests,
		res.HashedFromMemory, res.HashedFromFile, res.SHA256)
}
