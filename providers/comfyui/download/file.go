package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// resolveFile stats a local file source through the file transport, so that
// its Remote looks like an http(s) one: size, an ETag made of its stat (a
// partial copy of another version of the file is not resumed, and a saved
// plan goes stale when the file changes), and byte ranges.
func (c *Client) resolveFile(ctx context.Context, s Source) (*Remote, error) {
	p := s.File
	if !filepath.IsAbs(p) {
		base := c.BaseDir
		if base == "" {
			wd, err := os.Getwd()
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", s.Raw, err)
			}
			base = wd
		}
		p = filepath.Join(base, p)
	}
	s.URL = &url.URL{Scheme: "file", Path: filepath.ToSlash(p)}
	return c.resolveURL(ctx, s)
}

// schemeTransport sends file: requests to the local file system and every
// other request over the network.
type schemeTransport struct{ net http.RoundTripper }

func (t schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "file" {
		return fileTransport{}.RoundTrip(req)
	}
	return t.net.RoundTrip(req)
}

// fileTransport answers requests for file: URLs from the local file system
// as an HTTP server with byte ranges would (HEAD, GET, one Range, 404, 416),
// so that a local source takes the same way as a download: into
// DEST.partial, its sha256 computed while the bytes are copied, verified
// before the rename, resumed after an interruption. Only the Client's own
// requests reach it: redirects to file: URLs are refused in send.
type fileTransport struct{}

func (fileTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp := &http.Response{
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody,
	}
	answer := func(code int) (*http.Response, error) {
		resp.StatusCode, resp.Status = code, strconv.Itoa(code)+" "+http.StatusText(code)
		return resp, nil
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return answer(http.StatusMethodNotAllowed)
	}
	if h := req.URL.Host; h != "" && h != "localhost" {
		return nil, fmt.Errorf("open %s: a file URL names no host", redactURL(req.URL))
	}
	path := filepath.FromSlash(req.URL.Path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return answer(http.StatusNotFound)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open %s: not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	size := fi.Size()
	st := statRecord(fi)
	resp.Header.Set("Accept-Ranges", "bytes")
	resp.Header.Set("ETag", fmt.Sprintf(`"%x-%x-%x"`, st.Size, st.MtimeNs, st.Inode))
	resp.Header.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	start, end, code := int64(0), size, http.StatusOK
	if rng := req.Header.Get("Range"); rng != "" {
		a, b, ok := parseByteRange(rng, size)
		if !ok {
			f.Close()
			resp.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return answer(http.StatusRequestedRangeNotSatisfiable)
		}
		start, end, code = a, b, http.StatusPartialContent
		resp.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b-1, size))
	}
	resp.ContentLength = end - start
	resp.Header.Set("Content-Length", strconv.FormatInt(end-start, 10))
	if req.Method == http.MethodHead {
		f.Close()
	} else {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.NewSectionReader(f, start, end-start), f}
	}
	return answer(code)
}

// parseByteRange parses the one kind of Range header the fetcher sends,
// "bytes=START-" or "bytes=START-END", into the half-open [start, end)
// within size; ok is false when it is unsatisfiable or of another kind.
func parseByteRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < start {
			return 0, 0, false
		}
		end = min(last+1, size)
	}
	return start, end, true
}
