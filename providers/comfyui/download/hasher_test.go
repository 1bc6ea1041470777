package download

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOrderedHasher writes a file's pieces in a random order, offering each
// buffer to the hasher as a real connection would, and checks the digest.
func TestOrderedHasher(t *testing.T) {
	const size = 5<<20 + 12345
	content := randomContent(size, 5)
	for name, memMax := range map[string]int64{"hand over": 64 << 20, "read back only": 0, "tight memory": 2 << 20} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := newOrderedHasher(f, hashSnapshot{}, memMax, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			// Pieces of random sizes, written in shuffled order except that
			// a quarter of them go out in order (the frontier connection).
			var pieces []span
			for off := int64(0); off < size; {
				n := min(int64(1+rand.IntN(bufSize)), size-off)
				pieces = append(pieces, span{off, off + n})
				off += n
			}
			rand.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
			for _, p := range pieces {
				bp := bufPool.Get().(*[]byte)
				n := copy(*bp, content[p.Start:p.End])
				if _, err := f.WriteAt((*bp)[:n], p.Start); err != nil {
					t.Fatal(err)
				}
				if !h.written(p.Start, int64(n), bp) {
					bufPool.Put(bp)
				}
			}
			sum, err := h.wait(size)
			if err != nil {
				t.Fatal(err)
			}
			if sum != sum256(content) {
				t.Fatalf("digest %s, want %s", sum, sum256(content))
			}
			if h.fromMem+h.fromFile != size {
				t.Fatalf("digested %d from memory + %d from file, want %d", h.fromMem, h.fromFile, size)
			}
			if memMax == 0 && h.fromMem != 0 {
				t.Fatalf("took %d bytes from memory with hand-over off", h.fromMem)
			}
		})
	}
}

// TestOrderedHasherSnapshot: a digest restored from a snapshot continues to
// the same sum as one that never stopped.
func TestOrderedHasherSnapshot(t *testing.T) {
	const size = 3 << 20
	content := randomContent(size, 6)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	h, _ := newOrderedHasher(f, hashSnapshot{}, 0, time.Hour)
	h.written(0, 1<<20+7, nil)
	h.wait(1<<20 + 7)
	snap := h.snapshot()
	if snap.Off != 1<<20+7 || len(snap.State) == 0 {
		t.Fatalf("snapshot %d/%d bytes of state", snap.Off, len(snap.State))
	}
	h2, err := newOrderedHasher(f, snap, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h2.written(0, size, nil)
	sum, err := h2.wait(size)
	if err != nil || sum != sum256(content) {
		t.Fatalf("restored digest %s (%v), want %s", sum, err, sum256(content))
	}
	if h2.fromFile != size-(1<<20+7) {
		t.Fatalf("restored hasher read %d bytes, want only the %d after the snapshot", h2.fromFile, size-(1<<20+7))
	}
	if _, err := newOrderedHasher(f, hashSnapshot{Off: 10, State: []byte("garbage")}, 0, time.Hour); err == nil {
		t.Fatal("a garbage state restored without error")
	}
}

// failOnceReader fails its first read, then reads f.
type failOnceReader struct {
	f      *os.File
	failed bool
}

func (r *failOnceReader) ReadAt(b []byte, off int64) (int, error) {
	if !r.failed {
		r.failed = true
		return 0, errors.New("EIO (injected)")
	}
	return r.f.ReadAt(b, off)
}

// TestOrderedHasherSnapshotAfterReadError hands the hasher a buffer, then
// a span to read back whose read fails, then another buffer. What must
// hold: the hasher reports the error, digests nothing after it, and its
// snapshot (which a sidecar saves for the next Fetch to resume from) is
// still the sha256 state of exactly the bytes it claims, here the first
// buffer's.
func TestOrderedHasherSnapshotAfterReadError(t *testing.T) {
	content := randomContent(3*bufSize, 78)
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	h, err := newOrderedHasher(&failOnceReader{f: f}, hashSnapshot{}, 64<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	handOver := func(off int64) {
		bp := bufPool.Get().(*[]byte)
		copy(*bp, content[off:off+bufSize])
		if !h.written(off, bufSize, bp) {
			t.Fatalf("the buffer at %d was not taken", off)
		}
	}
	handOver(0)
	h.written(bufSize, bufSize, nil) // read back: fails
	handOver(2 * bufSize)
	if _, err := h.wait(3 * bufSize); err == nil || !strings.Contains(err.Error(), "EIO (injected)") {
		t.Errorf("wait: %v, want the read error", err)
	}
	h.close()
	snap := h.snapshot()
	if snap.Off != bufSize {
		t.Fatalf("snapshot at %d bytes, want %d (the bytes digested before the failure)", snap.Off, bufSize)
	}
	h2, err := newOrderedHasher(failingReader{}, snap, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sum, _ := h2.wait(snap.Off); sum != sum256(content[:snap.Off]) {
		t.Fatalf("the snapshot's state is not the sha256 state of its %d bytes: a resume would record a wrong sha256", snap.Off)
	}
}

func TestSpanSet(t *testing.T) {
	cases := map[string]struct {
		add     [][2]int64
		want    spanSet
		missing []span // within 100
	}{
		"merge adjacent":    {add: [][2]int64{{0, 10}, {10, 20}}, want: spanSet{{0, 20}}, missing: []span{{20, 100}}},
		"out of order":      {add: [][2]int64{{50, 60}, {0, 10}, {20, 30}}, want: spanSet{{0, 10}, {20, 30}, {50, 60}}, missing: []span{{10, 20}, {30, 50}, {60, 100}}},
		"bridge":            {add: [][2]int64{{0, 10}, {20, 30}, {5, 25}}, want: spanSet{{0, 30}}, missing: []span{{30, 100}}},
		"overlap many":      {add: [][2]int64{{10, 20}, {30, 40}, {50, 60}, {15, 55}}, want: spanSet{{10, 60}}, missing: []span{{0, 10}, {60, 100}}},
		"empty ignored":     {add: [][2]int64{{5, 5}}, want: nil, missing: []span{{0, 100}}},
		"complete":          {add: [][2]int64{{0, 100}}, want: spanSet{{0, 100}}, missing: nil},
		"inside existing":   {add: [][2]int64{{0, 50}, {10, 20}}, want: spanSet{{0, 50}}, missing: []span{{50, 100}}},
		"touching the left": {add: [][2]int64{{10, 20}, {0, 10}}, want: spanSet{{0, 20}}, missing: []span{{20, 100}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var s spanSet
			for _, a := range tc.add {
				s = s.add(a[0], a[1])
			}
			if !equalSpans(s, tc.want) {
				t.Fatalf("set = %v, want %v", s, tc.want)
			}
			if m := s.missing(100); !equalSpans(m, tc.missing) {
				t.Fatalf("missing = %v, want %v", m, tc.missing)
			}
		})
	}
}

func equalSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gatedReader is a ReaderAt whose first ReadAt waits until released, and
// which counts its calls.
type gatedReader struct {
	r       io.ReaderAt
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	calls   atomic.Int64
}

func (g *gatedReader) ReadAt(b []byte, off int64) (int, error) {
	g.calls.Add(1)
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.r.ReadAt(b, off)
}

// TestOrderedHasherMergesReadBacks: when the hasher is behind, adjacent
// spans to read back queue as one item, so the file is read in large
// blocks ahead of the digest rather than one small read per write, each
// waited for in turn.
func TestOrderedHasherMergesReadBacks(t *testing.T) {
	const piece, pieces = 64 << 10, 64
	content := randomContent(piece*pieces, 6)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(content, 0); err != nil {
		t.Fatal(err)
	}
	g := &gatedReader{r: f, entered: make(chan struct{}), release: make(chan struct{})}
	h, err := newOrderedHasher(g, hashSnapshot{}, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h.written(0, piece, nil)
	<-g.entered // the hasher is busy reading the first piece
	for i := int64(1); i < pieces; i++ {
		h.written(i*piece, piece, nil)
	}
	close(g.release)
	sum, err := h.wait(int64(len(content)))
	if err != nil || sum != sum256(content) {
		t.Fatalf("digest %s, %v", sum, err)
	}
	// One read for the first piece, then the other 63 in one 4 MiB block.
	if n := g.calls.Load(); n > 2 {
		t.Fatalf("%d reads for %d adjacent pieces queued together", n, pieces)
	}
}
