package download

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestRamp drives ramp with a hasher that is always busy or always idle and
// counts the connections it opens.
func TestRamp(t *testing.T) {
	cases := map[string]struct {
		idle bool
		more int
		want int64
	}{
		"busy hasher: no more connections": {idle: false, more: 7, want: 0},
		"idle hasher: up to the limit":     {idle: true, more: 7, want: 7},
		"idle hasher, limit reached":       {idle: true, more: 0, want: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := &orderedHasher{}
			if tc.idle {
				h.idleSince = time.Now()
			}
			fx := &fetcher{h: h, o: FetchOptions{RampEvery: time.Millisecond}}
			fx.opened.Store(1)
			var opened atomic.Int64
			fed := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				fx.ramp(context.Background(), fed, tc.more, func() { opened.Add(1) })
			}()
			// Doubling needs 3 intervals for 7 more; give it many.
			time.Sleep(50 * time.Millisecond)
			close(fed)
			<-done
			if got := opened.Load(); got != tc.want {
				t.Fatalf("opened %d connections, want %d", got, tc.want)
			}
			if got := fx.opened.Load(); got != 1+tc.want {
				t.Fatalf("fx.opened = %d, want %d", got, 1+tc.want)
			}
		})
	}
}

// TestFetchRampsAgainstCappedServer: a server that caps every response
// leaves the hasher idle, so a fetch opens every connection it may.
func TestFetchRampsAgainstCappedServer(t *testing.T) {
	content := randomContent(2<<20, 21)
	s := newFileServer(t, content)
	s.rate.Store(8 << 20) // 8 MiB/s per response: 2 MiB take ≥ 64 ms even on 4
	opts := fastOptions()
	opts.ParallelMin, opts.Connections, opts.ChunkSize, opts.RampEvery = 256<<10, 4, 128<<10, 5*time.Millisecond
	dest := filepath.Join(t.TempDir(), "m.bin")
	res, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections != 4 {
		t.Fatalf("opened %d connections, want 4", res.Connections)
	}
	if got, err := os.ReadFile(dest); err != nil || sum256(got) != sum256(content) {
		t.Fatalf("file differs from the content (err %v)", err)
	}
}
