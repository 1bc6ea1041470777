package download

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cappedRangeServer serves content without announcing its size: a plain
// GET is chunked and cut after cut bytes; a range gets a 206 of at most
// capBytes, whose Content-Range gives the total unless hideTotal
// ("*"); a range past the end gets a 416 with "bytes */TOTAL".
func cappedRangeServer(t *testing.T, content []byte, cut, capBytes int, hideTotal bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rng := r.Header.Get("Range")
		if rng == "" {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nAccept-Ranges: bytes\r\n\r\n%x\r\n", cut)
			buf.Write(content[:cut])
			buf.WriteString("\r\n")
			buf.Flush()
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
		from, to, _ := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
		start, err := strconv.Atoi(from)
		if err != nil {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if start >= len(content) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(content)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		end := min(start+capBytes, len(content))
		if last, err := strconv.Atoi(to); err == nil {
			end = min(end, last+1)
		}
		total := strconv.Itoa(len(content))
		if hideTotal {
			total = "*"
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%s", start, end-1, total))
		w.Header().Set("Content-Length", strconv.Itoa(end-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(content[start:end])
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFetchUnknownSizeCappedRanges fetches a file whose size no response
// announced up front (chunked, cut short), then resumes with open ranges
// that the server answers with 206s for only a part of the rest. What
// must hold: a 206 ending before the file does is not the end of the file,
// so the committed file is the whole content; the total a Content-Range
// gives, or a 416 for the byte after the last, says where it ends.
func TestFetchUnknownSizeCappedRanges(t *testing.T) {
	content := randomContent(1<<20, 79)
	for name, hideTotal := range map[string]bool{"total given": false, "total hidden": true} {
		t.Run(name, func(t *testing.T) {
			srv := cappedRangeServer(t, content, 100<<10, 128<<10, hideTotal)
			dest := filepath.Join(t.TempDir(), "m.bin")
			r := &Remote{URL: srv.URL + "/m.bin", Size: -1, AcceptRanges: true}
			res, err := (&Client{}).Fetch(context.Background(), r, dest, fastOptions())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, content) || res.Size != int64(len(content)) || res.SHA256 != sum256(content) {
				t.Fatalf("committed %d bytes (result %d, sha256 %s), want the %d-byte file", len(got), res.Size, res.SHA256, len(content))
			}
		})
	}
}

// TestFetchUnknownSizeCompletePartial resumes a download of unknown size
// whose partial file already holds every byte (killed before its commit):
// the server's 416 "bytes */N" for the range after the last byte says the
// file is complete. What must hold: it is committed, not deleted as a
// mismatch.
func TestFetchUnknownSizeCompletePartial(t *testing.T) {
	content := randomContent(300<<10, 80)
	srv := cappedRangeServer(t, content, len(content), 128<<10, false)
	dest := filepath.Join(t.TempDir(), "m.bin")
	if err := os.WriteFile(PartialPath(dest), content, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Remote{URL: srv.URL + "/m.bin", Size: -1, AcceptRanges: true}
	res, err := (&Client{}).Fetch(context.Background(), r, dest, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, content) || res.Resumed != int64(len(content)) {
		t.Fatalf("committed %d bytes, resumed %d; want the whole %d-byte partial file", len(got), res.Resumed, len(content))
	}
}
