package download

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// directSupported reports whether dir's file system takes O_DIRECT writes.
func directSupported(t *testing.T, dir string) bool {
	t.Helper()
	p := filepath.Join(dir, "probe")
	probe, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	defer probe.Close()
	f := openDirect(p, probe)
	if f == nil {
		return false
	}
	defer f.Close()
	_, err = f.WriteAt(alignedBuf(directAlign), 0)
	return err == nil
}

// TestFetchDirectWrites fetches files whose sizes, chunk boundaries and
// resume offsets are not block-aligned, with and without O_DIRECT, and checks
// that the file holds exactly the content and which bytes went past the page
// cache.
func TestFetchDirectWrites(t *testing.T) {
	const size = 3<<20 + 777
	content := randomContent(size, 9)
	unalignedChunks := parallelOptions()
	unalignedChunks.ChunkSize = 100_003
	buffered := fastOptions()
	buffered.Buffered = true
	cases := map[string]struct {
		opts FetchOptions
		// prefix bytes are in the partial file before the fetch.
		prefix int
		// wantDirect: most of the file is written with O_DIRECT (where the
		// file system allows it); otherwise none of it.
		wantDirect bool
	}{
		"one stream":                   {opts: fastOptions(), wantDirect: true},
		"resumed at an unaligned byte": {opts: fastOptions(), prefix: 12345, wantDirect: true},
		"parallel, unaligned chunks":   {opts: unalignedChunks},
		"buffered":                     {opts: buffered},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newFileServer(t, content)
			dir := t.TempDir()
			dest := filepath.Join(dir, "m.bin")
			if tc.prefix > 0 {
				if err := os.WriteFile(PartialPath(dest), content[:tc.prefix], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) || res.SHA256 != sum256(content) {
				t.Fatalf("file differs from the content (%d bytes, sha256 %s)", len(got), res.SHA256)
			}
			if res.Resumed != int64(tc.prefix) {
				t.Fatalf("resumed %d bytes, want %d", res.Resumed, tc.prefix)
			}
			switch {
			case tc.wantDirect && directSupported(t, dir):
				// Everything but the unaligned head after the prefix and
				// the tail of the file.
				if min := int64(size-tc.prefix) - 2*directAlign; res.DirectBytes < min {
					t.Fatalf("%d bytes written with O_DIRECT, want at least %d", res.DirectBytes, min)
				}
			case tc.wantDirect:
				t.Logf("%s does not take O_DIRECT: only the content is checked", dir)
			case tc.opts.Buffered && res.DirectBytes != 0:
				t.Fatalf("%d bytes written with O_DIRECT with Buffered set", res.DirectBytes)
			}
			if res.DirectBytes%directAlign != 0 {
				t.Fatalf("%d bytes written with O_DIRECT: not whole blocks", res.DirectBytes)
			}
		})
	}
}

// failingReader stands for a file that must not be read back.
type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("read back") }

// TestOrderedHasherHoldsFrontier: with holdFrontier, buffers at the frontier
// wait for room instead of being refused, so a file written with O_DIRECT is
// never read back from the disk, however small the memory bound.
func TestOrderedHasherHoldsFrontier(t *testing.T) {
	const size = 9<<20 + 5
	content := randomContent(size, 11)
	h, err := newOrderedHasher(failingReader{}, hashSnapshot{}, bufSize, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	h.holdFrontier = true
	for off := int64(0); off < size; off += bufSize {
		bp := bufPool.Get().(*[]byte)
		n := copy(*bp, content[off:])
		if !h.written(off, int64(n), bp) {
			t.Fatalf("buffer at %d refused", off)
		}
	}
	sum, err := h.wait(size)
	if err != nil {
		t.Fatal(err)
	}
	if sum != sum256(content) || h.fromFile != 0 {
		t.Fatalf("digest %s (want %s), %d bytes read back", sum, sum256(content), h.fromFile)
	}
}
