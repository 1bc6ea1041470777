package download

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastOptions keep retries and timeouts short enough for tests.
func fastOptions() FetchOptions {
	return FetchOptions{
		Backoff: time.Millisecond, IdleTimeout: 200 * time.Millisecond,
		CheckpointInterval: 20 * time.Millisecond, ProgressInterval: 5 * time.Millisecond,
	}
}

// parallelOptions make a 1 MiB file go over 4 connections (opened at once)
// in 128 KiB chunks.
func parallelOptions() FetchOptions {
	o := fastOptions()
	o.ParallelMin, o.Connections, o.ChunkSize = 256<<10, 4, 128<<10
	// All at once: these tests are about ranges arriving out of order,
	// which a ramp (see TestRamp) would mostly avoid on a fast server.
	o.RampEvery = -1
	return o
}

func TestFetchFaults(t *testing.T) {
	const size = 1 << 20
	content := randomContent(size, 1)
	type fault = func(s *fileServer) func(n int, w http.ResponseWriter, r *http.Request) bool
	cases := map[string]struct {
		opts  FetchOptions
		fault fault
		setup func(s *fileServer, r *Remote)
		// wantErr is a substring of the error; empty means a verified file.
		wantErr string
		// partialKept: after an error the partial file stays for resume.
		partialKept bool
		minGets     int
	}{
		"clean":          {opts: fastOptions()},
		"clean parallel": {opts: parallelOptions(), minGets: 8},
		"reset mid-body": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 3 {
						hijackSend(s, w, r, 100<<10, true)
						return true
					}
					return false
				}
			},
			minGets: 4,
		},
		"reset mid-body parallel": {
			opts: parallelOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n%3 == 1 && n < 12 {
						hijackSend(s, w, r, 50<<10, true)
						return true
					}
					return false
				}
			},
		},
		"500 then success": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 2 {
						http.Error(w, "upstream down", http.StatusInternalServerError)
						return true
					}
					return false
				}
			},
			minGets: 3,
		},
		"500 forever": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					http.Error(w, "upstream down", http.StatusBadGateway)
					return true
				}
			},
			wantErr: "giving up after 6 attempts without progress", partialKept: true,
		},
		"stall": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 2 {
						stall(s, w, r, 64<<10)
						return true
					}
					return false
				}
			},
			minGets: 3,
		},
		"stall before headers": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n == 0 {
						select {
						case <-r.Context().Done():
						case <-time.After(5 * time.Second):
						}
						return true
					}
					return false
				}
			},
			minGets: 2,
		},
		"truncated body": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 4 {
						hijackSend(s, w, r, 200<<10, false)
						return true
					}
					return false
				}
			},
			minGets: 5,
		},
		"many faults each with progress": {
			// 20 failures in a row, each after some bytes: only attempts
			// without progress count, so this succeeds with Retries 5.
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 20 {
						hijackSend(s, w, r, 40<<10, n%2 == 0)
						return true
					}
					return false
				}
			},
			minGets: 21,
		},
		"200 instead of 206 on resume": {
			opts:  fastOptions(),
			setup: func(s *fileServer, r *Remote) { s.ignoreRange.Store(true) },
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n == 0 {
						hijackSend(s, w, r, 300<<10, true)
						return true
					}
					return false
				}
			},
			minGets: 3,
		},
		"cut short every time, no ranges": {
			// The error names the cut, not only the refused resume.
			opts:  fastOptions(),
			setup: func(s *fileServer, r *Remote) { s.ignoreRange.Store(true) },
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					r.Header.Del("Range") // a server without ranges: 200 and the whole length, every time
					hijackSend(s, w, r, 300<<10, false)
					return true
				}
			},
			wantErr:     "server ignored a range request, so it cannot resume after body ended early at byte 307200 of 1048576",
			partialKept: true, // what arrived, for a next try: the server may learn ranges, and it is never taken for the file
		},
		"200 instead of 206 in parallel": {
			opts:    parallelOptions(),
			setup:   func(s *fileServer, r *Remote) { s.ignoreRange.Store(true) },
			minGets: 2,
		},
		"wrong content": {
			opts:    fastOptions(),
			setup:   func(s *fileServer, r *Remote) { r.SHA256 = sum256([]byte("something else")) },
			wantErr: "sha256 mismatch for http://",
		},
		"wrong content parallel": {
			opts:    parallelOptions(),
			setup:   func(s *fileServer, r *Remote) { s.content = randomContent(size, 99) },
			wantErr: "sha256 mismatch for http://",
		},
		"server has fewer bytes": {
			opts:    fastOptions(),
			setup:   func(s *fileServer, r *Remote) { s.content = content[:size-1000] },
			wantErr: "expected 1048576 bytes, the server sends 1047576",
		},
		"server has fewer bytes parallel": {
			opts:    parallelOptions(),
			setup:   func(s *fileServer, r *Remote) { s.content = content[:size-1000] },
			wantErr: "expected 1048576 bytes, the server now has 1047576",
		},
		"not found": {
			opts: fastOptions(),
			fault: func(s *fileServer) func(int, http.ResponseWriter, *http.Request) bool {
				return func(n int, w http.ResponseWriter, r *http.Request) bool {
					http.NotFound(w, r)
					return true
				}
			},
			wantErr: "not found: http://", partialKept: true,
		},
		"unknown size and hash": {
			opts:  fastOptions(),
			setup: func(s *fileServer, r *Remote) { r.Size, r.SHA256, r.AcceptRanges, s.noLength = -1, "", false, true },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newFileServer(t, content)
			r := s.remote()
			if tc.setup != nil {
				tc.setup(s, r)
			}
			if tc.fault != nil {
				s.fault = tc.fault(s)
			}
			dest := filepath.Join(t.TempDir(), "diffusion_models", "model.safetensors")
			var mu sync.Mutex
			var reports []Progress
			opts := tc.opts
			opts.Progress = func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() }
			c := &Client{}
			res, err := c.Fetch(context.Background(), r, dest, opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if _, serr := os.Stat(dest); !errors.Is(serr, os.ErrNotExist) {
					t.Fatalf("after %v, dest exists (stat: %v)", err, serr)
				}
				_, perr := os.Stat(PartialPath(dest))
				if tc.partialKept != (perr == nil) {
					t.Fatalf("partial kept = %v, want %v", perr == nil, tc.partialKept)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, content) {
				t.Fatalf("dest has %d bytes, not the served content", len(got))
			}
			if res.SHA256 != sum256(content) || res.Size != size {
				t.Fatalf("result %+v, want sha %s size %d", res, sum256(content), size)
			}
			for _, p := range []string{PartialPath(dest), SidecarPath(dest)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s left behind", p)
				}
			}
			if gets, _, _ := s.stats(); gets < tc.minGets {
				t.Fatalf("server saw %d GETs, want at least %d (was the fault injected?)", gets, tc.minGets)
			}
			mu.Lock()
			defer mu.Unlock()
			last := reports[len(reports)-1]
			if last.Done != size || last.Total != size {
				t.Fatalf("last progress %+v, want done = total = %d", last, size)
			}
			for i := 1; i < len(reports); i++ {
				if reports[i].Done < reports[i-1].Done && reports[i].Done != 0 {
					t.Fatalf("progress went back: %+v after %+v", reports[i], reports[i-1])
				}
			}
		})
	}
}

// TestFetchResumeFromSidecar: a partial file with its sidecar is continued
// with a Range request from where it stopped, and nothing is read back.
func TestFetchResume(t *testing.T) {
	const size = 1 << 20
	content := randomContent(size, 2)
	cases := map[string]struct {
		opts FetchOptions
		// prepare damages or removes the state left by the interrupted run.
		prepare func(t *testing.T, dest string, r *Remote)
		// wantMinStart: some GET of the second run starts at or after it.
		wantMinStart int64
		wantResumed  bool
	}{
		"sidecar":          {opts: fastOptions(), wantMinStart: 1, wantResumed: true},
		"sidecar parallel": {opts: parallelOptions(), wantMinStart: 1, wantResumed: true},
		"no sidecar: prefix re-hashed": {
			opts:         fastOptions(),
			prepare:      func(t *testing.T, dest string, r *Remote) { os.Remove(SidecarPath(dest)) },
			wantMinStart: 1, wantResumed: true,
		},
		"remote changed: start over": {
			// Without a sha256 the partial belongs to a URL and ETag.
			opts:    fastOptions(),
			prepare: func(t *testing.T, dest string, r *Remote) { r.ETag, r.SHA256 = "new-etag", "" },
		},
		"same sha256 from another URL: resume": {
			opts: fastOptions(),
			prepare: func(t *testing.T, dest string, r *Remote) {
				r.URL, r.ETag = strings.Replace(r.URL, "/files/", "/mirror/", 1), "mirror-etag"
			},
			wantMinStart: 1, wantResumed: true,
		},
		"sidecar claims more than the file has": {
			opts: fastOptions(),
			prepare: func(t *testing.T, dest string, r *Remote) {
				if err := os.Truncate(PartialPath(dest), 1000); err != nil {
					t.Fatal(err)
				}
			},
		},
		"corrupt sidecar": {
			opts: fastOptions(),
			prepare: func(t *testing.T, dest string, r *Remote) {
				os.WriteFile(SidecarPath(dest), []byte("{not json"), 0o644)
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newFileServer(t, content)
			// The first run dies after 600 KiB: every GET after the first
			// 600 KiB served is refused until the test lets go.
			var block sync.Mutex
			blocked := true
			s.fault = func(n int, w http.ResponseWriter, r *http.Request) bool {
				block.Lock()
				defer block.Unlock()
				if blocked && s.served.Load() >= 600<<10 {
					http.Error(w, "gone", http.StatusNotFound)
					return true
				}
				if blocked {
					hijackSend(s, w, r, 600<<10-s.served.Load(), true)
					return true
				}
				return false
			}
			dest := filepath.Join(t.TempDir(), "m.bin")
			r := s.remote()
			c := &Client{}
			if _, err := c.Fetch(context.Background(), r, dest, tc.opts); !errors.Is(err, ErrNotFound) {
				t.Fatalf("first run: err = %v, want not found", err)
			}
			if _, err := os.Stat(PartialPath(dest)); err != nil {
				t.Fatalf("first run left no partial file: %v", err)
			}
			if tc.prepare != nil {
				tc.prepare(t, dest, r)
			}
			block.Lock()
			blocked = false
			gets0, _, _ := s.stats()
			served0 := s.served.Load()
			block.Unlock()

			res, err := c.Fetch(context.Background(), r, dest, tc.opts)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, content) {
				t.Fatal("resumed file differs from the content")
			}
			_, starts, _ := s.stats()
			var maxStart int64
			for _, st := range starts[gets0:] {
				maxStart = max(maxStart, st)
			}
			served := s.served.Load() - served0
			if tc.wantResumed {
				if res.Resumed == 0 || maxStart < tc.wantMinStart {
					t.Fatalf("did not resume: resumed %d bytes, largest range start %d", res.Resumed, maxStart)
				}
				if served+res.Resumed != size && !tc.opts.parallelish() {
					t.Fatalf("served %d + resumed %d != %d", served, res.Resumed, size)
				}
				if served >= size {
					t.Fatalf("second run downloaded %d bytes, the whole file or more", served)
				}
			} else if res.Resumed != 0 || served < size {
				t.Fatalf("expected a fresh start: resumed %d, served %d", res.Resumed, served)
			}
		})
	}
}

func (o FetchOptions) parallelish() bool { return o.ParallelMin > 0 && o.ParallelMin < 1<<20 }

func TestFetchCancelKeepsPartial(t *testing.T) {
	content := randomContent(1<<20, 3)
	s := newFileServer(t, content)
	s.rate.Store(1 << 20) // one second for the file
	dest := filepath.Join(t.TempDir(), "m.bin")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := (&Client{}).Fetch(ctx, s.remote(), dest, fastOptions())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dest exists after a cancelled fetch")
	}
	sc, err := readSidecar(SidecarPath(dest))
	if err != nil || len(sc.Written) == 0 || sc.Written.bytes() == 0 {
		t.Fatalf("sidecar after cancel: %+v, %v", sc, err)
	}
}

func TestFetchConcurrentSameDestRefused(t *testing.T) {
	content := randomContent(256<<10, 4)
	s := newFileServer(t, content)
	s.rate.Store(512 << 10)
	dest := filepath.Join(t.TempDir(), "m.bin")
	done := make(chan error, 1)
	go func() {
		_, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, fastOptions())
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.served.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, fastOptions())
	if err == nil || !strings.Contains(err.Error(), "another download of") {
		t.Fatalf("second concurrent fetch: err = %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first fetch: %v", err)
	}
}
