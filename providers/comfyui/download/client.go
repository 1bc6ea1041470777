package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client resolves and fetches sources. The zero value talks to the public hub
// without a token. A Client is safe for concurrent use.
type Client struct {
	// Endpoint is the Hugging Face hub or a mirror of it; DefaultEndpoint
	// when empty.
	Endpoint string
	// Token is sent as "Authorization: Bearer" to the hub's own host only.
	Token string
	// Transport carries the requests; a tuned clone of
	// http.DefaultTransport when nil. Redirects are followed by the Client,
	// never by the transport.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// BaseDir is the directory relative file: sources are read from (the
	// configuration directory); the working directory when empty.
	BaseDir string

	once sync.Once
	hc   *http.Client
	hub  *url.URL
	err  error
}

// Errors a caller may test for with errors.Is.
var (
	// ErrNotFound: the server answered 404 or 410.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the hub answered 401 or 403, a gated or private
	// repository for which no (or a wrong) token was sent.
	ErrUnauthorized = errors.New("gated or private repository")
	// ErrInsecureRedirect: an https URL redirected to a plain http one.
	ErrInsecureRedirect = errors.New("refusing redirect from https to http")
	// ErrMismatch: the downloaded or re-hashed bytes are not the expected
	// ones (size or sha256).
	ErrMismatch = errors.New("content mismatch")
)

// tokenHint is said whenever the hub refuses access.
const tokenHint = "accept its terms on the hub and set HF_TOKEN (or the provider's token)"

// HTTPError is a status the Client does not treat specially.
type HTTPError struct {
	URL    string // redacted
	Status int
	// Hint, when set, says what may help.
	Hint string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (c *Client) init() error {
	c.once.Do(func() {
		ep := c.Endpoint
		if ep == "" {
			ep = DefaultEndpoint
		}
		u, err := url.Parse(strings.TrimSuffix(ep, "/"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			c.err = fmt.Errorf("parse hub endpoint %q: want an http(s) URL", Redact(ep))
			return
		}
		c.hub = u
		rt := c.Transport
		if rt == nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			// Parallel ranges need their own TCP connections (a CDN caps
			// each one), so HTTP/2 multiplexing is off and the idle pool
			// keeps every connection of a parallel fetch.
			t.Protocols = new(http.Protocols)
			t.Protocols.SetHTTP1(true)
			t.MaxIdleConnsPerHost = 64
			t.DisableCompression = true
			t.ResponseHeaderTimeout = 60 * time.Second
			rt = t
		}
		c.hc = &http.Client{
			Transport:     schemeTransport{net: rt},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return c.err
}

// isHub reports whether u is on the hub's own host (scheme and host:port).
func (c *Client) isHub(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.hub.Scheme) && strings.EqualFold(u.Host, c.hub.Host)
}

// redirectPolicy says how far send follows redirects.
type redirectPolicy int

const (
	followAll      redirectPolicy = iota
	followSameHost                // stop at a redirect to another host and return it
)

// send performs one request, following redirects itself so that the token
// goes to the hub's host only and https never degrades to http. The returned
// response may be a redirect (under followSameHost); its body is the
// caller's to close. Errors name the redacted URL of the first request.
func (c *Client) send(ctx context.Context, method string, u *url.URL, hdr http.Header, policy redirectPolicy) (*http.Response, *url.URL, error) {
	if err := c.init(); err != nil {
		return nil, nil, err
	}
	orig := redactURL(u)
	for hop := 0; hop < 10; hop++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", strings.ToLower(method), orig, err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Accept-Encoding", "identity")
		if c.UserAgent != "" {
			req.Header.Set("User-Agent", c.UserAgent)
		}
		if c.Token != "" && c.isHub(u) {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", strings.ToLower(method), orig, unwrapURLError(err))
		}
		if !isRedirect(resp.StatusCode) {
			return resp, u, nil
		}
		loc := resp.Header.Get("Location")
		next, err := u.Parse(loc)
		if loc == "" || err != nil {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("%s %s: redirect without a usable Location", strings.ToLower(method), orig)
		}
		if u.Scheme == "https" && next.Scheme != "https" {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("%s %s: %w (to %s)", strings.ToLower(method), orig, ErrInsecureRedirect, redactURL(next))
		}
		if next.Scheme != "https" && next.Scheme != "http" {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("%s %s: redirect to unsupported scheme %q", strings.ToLower(method), orig, next.Scheme)
		}
		if policy == followSameHost && !strings.EqualFold(next.Host, u.Host) {
			return resp, u, nil
		}
		drain(resp.Body)
		u = next
	}
	return nil, nil, fmt.Errorf("%s %s: too many redirects", strings.ToLower(method), orig)
}

// statusError turns a failed status into an error naming the URL (redacted)
// and, for the hub, what went wrong and what to do about it. src is the
// source as written; the hub's X-Error-Code is put in its terms.
func (c *Client) statusError(u *url.URL, resp *http.Response, src string) error {
	name, status := redactURL(u), resp.StatusCode
	if !c.isHub(u) {
		switch {
		case status == http.StatusNotFound || status == http.StatusGone:
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		case (status == http.StatusUnauthorized || status == http.StatusForbidden) && c.Token != "":
			return &HTTPError{URL: name, Status: status, Hint: "sdform sends HF_TOKEN only to the Hugging Face endpoint (HF_ENDPOINT), never to this host"}
		}
		return &HTTPError{URL: name, Status: status}
	}
	// The hub's words, as huggingface_hub reads them: X-Error-Code says
	// which thing is missing; a 401 without one may be a missing repository
	// too, since the hub does not tell private names from unknown ones.
	code, msg := resp.Header.Get("X-Error-Code"), resp.Header.Get("X-Error-Message")
	s, _ := ParseSource(src)
	repo := s.Repo
	if repo == "" {
		repo = "the repository"
	}
	tokenSent := c.Token != ""
	switch {
	case code == "RevisionNotFound":
		return &hubError{ErrNotFound, fmt.Sprintf("revision %q not found in %s (%d from %s)", s.Revision, repo, status, name)}
	case code == "EntryNotFound":
		return &hubError{ErrNotFound, fmt.Sprintf("file %q not found in %s at revision %q (%d from %s)", s.Path, repo, s.Revision, status, name)}
	case code == "RepoNotFound" && tokenSent:
		return &hubError{ErrNotFound, fmt.Sprintf("repository not found, or the token sent cannot read it (%d from %s): check %s and HF_TOKEN (or the provider's token)", status, name, repo)}
	case code == "RepoNotFound":
		return &hubError{ErrNotFound, fmt.Sprintf("repository not found, or private (%d from %s): check %s, or set HF_TOKEN (or the provider's token) to a token that can read it", status, name, repo)}
	case status == http.StatusUnauthorized && tokenSent && msg == "Invalid credentials in Authorization header":
		return &hubError{ErrUnauthorized, fmt.Sprintf("the hub rejected the token sent (%d from %s): check HF_TOKEN (or the provider's token)", status, name)}
	case code == "GatedRepo" && tokenSent:
		return &hubError{ErrUnauthorized, fmt.Sprintf("gated repository (%d from %s): the token sent (HF_TOKEN or the provider's token) has not been granted access; accept its terms on the hub with that token's account", status, name)}
	case code == "GatedRepo":
		return &hubError{ErrUnauthorized, fmt.Sprintf("gated repository (%d from %s): %s", status, name, tokenHint)}
	case status == http.StatusNotFound || status == http.StatusGone:
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	case (status == http.StatusUnauthorized || status == http.StatusForbidden) && tokenSent:
		return fmt.Errorf("%w (%d from %s): the token sent has no access to it; %s", ErrUnauthorized, status, name, tokenHint)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w (%d from %s): %s", ErrUnauthorized, status, name, tokenHint)
	}
	return &HTTPError{URL: name, Status: status}
}

// hubError is the hub's refusal in words; errors.Is matches its kind
// (ErrNotFound, ErrUnauthorized) without the kind's words repeated.
type hubError struct {
	kind error
	msg  string
}

func (e *hubError) Error() string { return e.msg }
func (e *hubError) Unwrap() error { return e.kind }

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message repeats
// the full URL (with any signed query string).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// drain reads a little of a body so the connection can be reused, then
// closes it.
func drain(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

// retryable reports whether an error from one request may go away on retry:
// resets, truncated bodies, stalls, timeouts and 5xx/408/429 answers. What
// the server said for certain (404, 401/403, wrong size or content), a
// refused redirect, a cancelled context and local disk failures are final.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var de *diskError
	if errors.As(err, &de) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized) ||
		errors.Is(err, ErrInsecureRedirect) || errors.Is(err, ErrMismatch) || errors.Is(err, errNoRanges) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, errStalled) || errors.Is(err, errShortBody) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500 || he.Status == http.StatusRequestTimeout || he.Status == http.StatusTooManyRequests
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// net/http reports a connection the server dropped before answering
	// with plain errors ("server closed idle connection", "transport
	// connection broken").
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "transport connection broken") ||
		strings.Contains(msg, "server closed")
}
