package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fileServer serves one file with Range support and lets a test inject
// faults per GET request. It records what it saw.
type fileServer struct {
	content []byte
	etag    string
	// rate caps each response at this many bytes per second (0: none).
	rate atomic.Int64
	// ignoreRange answers every GET with 200 and the whole file.
	ignoreRange atomic.Bool
	// fault, when it returns true, has handled GET number n (0-based).
	fault func(n int, w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	gets     int
	heads    int
	starts   []int64 // range start of each GET (0 without Range)
	auth     []string
	served   atomic.Int64
	srv      *httptest.Server
	noLength bool // omit Content-Length on 200 (chunked)
}

func randomContent(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newFileServer(t *testing.T, content []byte) *fileServer {
	t.Helper()
	s := &fileServer{content: content, etag: `"` + sum256(content)[:16] + `"`}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *fileServer) URL() string { return s.srv.URL + "/files/model.safetensors" }

func (s *fileServer) remote() *Remote {
	return &Remote{URL: s.URL(), Size: int64(len(s.content)), SHA256: sum256(s.content), ETag: strings.Trim(s.etag, `"`), AcceptRanges: true}
}

func (s *fileServer) stats() (gets int, starts []int64, auth []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, append([]int64(nil), s.starts...), append([]string(nil), s.auth...)
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	n := -1
	if r.Method == http.MethodGet {
		n = s.gets
		s.gets++
		start, _, _ := parseRange(r.Header.Get("Range"), int64(len(s.content)))
		s.starts = append(s.starts, start)
	} else {
		s.heads++
	}
	s.mu.Unlock()
	if n >= 0 && s.fault != nil && s.fault(n, w, r) {
		return
	}
	size := int64(len(s.content))
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Accept-Ranges", "bytes")
	start, end := int64(0), size
	status := http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" && !s.ignoreRange.Load() {
		a, b, ok := parseRange(rng, size)
		if !ok {
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, end, status = a, b, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b-1, size))
	}
	if status == http.StatusPartialContent || !s.noLength {
		w.Header().Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	s.write(r.Context(), w, s.content[start:end])
}

// write sends b in small pieces, at the configured rate.
func (s *fileServer) write(ctx context.Context, w http.ResponseWriter, b []byte) {
	const piece = 32 << 10
	began := time.Now()
	var sent int64
	for len(b) > 0 && ctx.Err() == nil {
		k := min(piece, len(b))
		m, err := w.Write(b[:k])
		sent += int64(m)
		s.served.Add(int64(m))
		if err != nil {
			return
		}
		b = b[k:]
		if rate := s.rate.Load(); rate > 0 {
			due := began.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
	}
}

// parseRange parses "bytes=a-b" or "bytes=a-" into [a, b+1).
func parseRange(h string, size int64) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, size, h == ""
	}
	a, b, _ := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start >= size {
		return 0, 0, false
	}
	end := size
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e+1, size)
	}
	return start, end, true
}

// hijackSend answers with the headers of a full response for the requested
// range and only k bytes of its body, then ends the connection: with a TCP
// reset when reset is true, with a clean close (a truncated body) otherwise.
func hijackSend(s *fileServer, w http.ResponseWriter, r *http.Request, k int64, reset bool) {
	size := int64(len(s.content))
	start, end, _ := parseRange(r.Header.Get("Range"), size)
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	status := "200 OK"
	extra := ""
	if r.Header.Get("Range") != "" {
		status = "206 Partial Content"
		extra = fmt.Sprintf("Content-Range: bytes %d-%d/%d\r\n", start, end-1, size)
	}
	fmt.Fprintf(buf, "HTTP/1.1 %s\r\nContent-Length: %d\r\n%sAccept-Ranges: bytes\r\n\r\n", status, end-start, extra)
	k = min(k, end-start)
	buf.Write(s.content[start : start+k])
	buf.Flush()
	s.served.Add(k)
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}

// stall sends the headers and k bytes, then sends nothing more until the
// client gives up (bounded, so a broken client cannot hang the test).
func stall(s *fileServer, w http.ResponseWriter, r *http.Request, k int64) {
	size := int64(len(s.content))
	start, end, _ := parseRange(r.Header.Get("Range"), size)
	if r.Header.Get("Range") != "" {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
		w.Header().Set("Content-Length", strconv.FormatInt(end-start, 10))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
	}
	k = min(k, end-start)
	w.Write(s.content[start : start+k])
	s.served.Add(k)
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}
