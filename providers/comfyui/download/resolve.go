package download

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Remote is what one HEAD request tells about a source.
type Remote struct {
	// Source is the source as written.
	Source string `json:"source"`
	// URL is what Fetch requests: the hub's resolve URL (pinned to the
	// resolved commit when the hub told it) or the plain URL. It never
	// carries a token.
	URL string `json:"url"`
	// Size in bytes; -1 when the server did not say.
	Size int64 `json:"size"`
	// SHA256 is the lower-case hex digest when known (the hub's
	// X-Linked-Etag for LFS files); empty otherwise.
	SHA256 string `json:"sha256,omitempty"`
	// Commit is the hub's X-Repo-Commit; empty for plain URLs.
	Commit string `json:"commit,omitempty"`
	// ETag as the server sent it (quotes stripped).
	ETag string `json:"etag,omitempty"`
	// AcceptRanges: the server (or, for the hub, its CDN) serves byte
	// ranges, so a download can resume and run in parallel.
	AcceptRanges bool `json:"accept_ranges"`
}

// LocalPath is the path of a file: source's file; empty for a download.
func (r *Remote) LocalPath() string {
	u, err := url.Parse(r.URL)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}

// Resolve asks the server about src with one HEAD request (plus the hub's own
// relative redirects). It never downloads the file.
func (c *Client) Resolve(ctx context.Context, src string) (*Remote, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	s, err := ParseSource(src)
	if err != nil {
		return nil, err
	}
	switch {
	case s.Hub:
		return c.resolveHub(ctx, s)
	case s.File != "":
		return c.resolveFile(ctx, s)
	}
	return c.resolveURL(ctx, s)
}

func (c *Client) resolveHub(ctx context.Context, s Source) (*Remote, error) {
	u := s.resolveURL(c.hub, s.Revision)
	resp, final, err := c.send(ctx, http.MethodHead, u, nil, followSameHost)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", s.Raw, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("resolve %s: %w", s.Raw, c.statusError(final, resp, s.Raw))
	}
	h := resp.Header
	r := &Remote{
		Source:       s.Raw,
		URL:          final.String(),
		Size:         -1,
		Commit:       h.Get("X-Repo-Commit"),
		AcceptRanges: true,
	}
	etag := unquote(h.Get("X-Linked-Etag"))
	if etag == "" {
		etag = unquote(h.Get("ETag"))
	}
	r.ETag = etag
	// X-Linked-Etag is the LFS object's sha256; a plain ETag of a non-LFS
	// file is a git blob id (40 hex) and says nothing about sha256.
	if IsSHA256(strings.ToLower(etag)) && h.Get("X-Linked-Etag") != "" {
		r.SHA256 = strings.ToLower(etag)
	}
	if n, ok := parseSize(h.Get("X-Linked-Size")); ok {
		r.Size = n
	} else if !isRedirect(resp.StatusCode) {
		if n, ok := parseSize(h.Get("Content-Length")); ok {
			r.Size = n
		}
		r.AcceptRanges = strings.EqualFold(h.Get("Accept-Ranges"), "bytes")
	}
	// Fetch the very revision the plan saw: a branch may move between plan
	// and apply, a commit does not. (A renamed repository's old name still
	// redirects, relatively, at fetch time.)
	if commitHex.MatchString(r.Commit) {
		r.URL = s.resolveURL(c.hub, r.Commit).String()
	}
	return r, nil
}

func (c *Client) resolveURL(ctx context.Context, s Source) (*Remote, error) {
	resp, final, err := c.send(ctx, http.MethodHead, s.URL, nil, followAll)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", Redact(s.Raw), err)
	}
	resp.Body.Close()
	r := &Remote{Source: s.Raw, URL: s.URL.String(), Size: -1}
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented {
		// Some servers refuse HEAD; one byte of a ranged GET tells the same.
		return c.resolveByGet(ctx, s, r)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("resolve %s: %w", Redact(s.Raw), c.statusError(final, resp, s.Raw))
	}
	if n, ok := parseSize(resp.Header.Get("Content-Length")); ok {
		r.Size = n
	}
	r.ETag = unquote(resp.Header.Get("ETag"))
	r.AcceptRanges = strings.EqualFold(resp.Header.Get("Accept-Ranges"), "bytes")
	return r, nil
}

func (c *Client) resolveByGet(ctx context.Context, s Source, r *Remote) (*Remote, error) {
	hdr := http.Header{"Range": {"bytes=0-0"}}
	resp, final, err := c.send(ctx, http.MethodGet, s.URL, hdr, followAll)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", Redact(s.Raw), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		_, _, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if ok {
			r.Size = total
		}
		r.AcceptRanges = true
	case http.StatusOK:
		if n, ok := parseSize(resp.Header.Get("Content-Length")); ok {
			r.Size = n
		}
	default:
		return nil, fmt.Errorf("resolve %s: %w", Redact(s.Raw), c.statusError(final, resp, s.Raw))
	}
	r.ETag = unquote(resp.Header.Get("ETag"))
	return r, nil
}

func unquote(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.Trim(s, `"`)
}

func parseSize(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n >= 0
}

// parseUnsatisfiedRange parses a 416's "bytes */TOTAL".
func parseUnsatisfiedRange(s string) (total int64, ok bool) {
	tot, found := strings.CutPrefix(strings.TrimSpace(s), "bytes */")
	if !found {
		return 0, false
	}
	total, err := strconv.ParseInt(tot, 10, 64)
	return total, err == nil && total >= 0
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err error
	if start, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, 0, false
	}
	if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, 0, false
		}
	}
	return start, end, total, true
}
