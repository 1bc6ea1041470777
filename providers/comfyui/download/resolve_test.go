package download

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testToken  = "hf_secretTOKEN123"
)

// hub imitates huggingface.co's resolve endpoint as observed with curl -I:
// the branch URL answers 307 with a relative Location, the cache URL answers
// 302 to the CDN with the file's metadata in X-Repo-Commit, X-Linked-Etag
// and X-Linked-Size. A small non-LFS file is served directly (200).
type hub struct {
	srv  *httptest.Server
	cdn  *fileServer
	mu   sync.Mutex
	seen []string // "METHOD path auth"
}

func newHub(t *testing.T, cdn *fileServer, tls bool) *hub {
	h := &hub{cdn: cdn}
	if tls {
		h.srv = httptest.NewTLSServer(h)
	} else {
		h.srv = httptest.NewServer(h)
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hub) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	h.mu.Unlock()
	p := r.URL.Path
	lfs := func() {
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("X-Linked-Etag", `"`+sum256(h.cdn.content)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(h.cdn.content)))
		w.Header().Set("ETag", `W/"not-the-sha"`)
		w.Header().Set("Location", h.cdn.srv.URL+"/blob/xyz?X-Amz-Signature=SIGNEDsecret&Expires=1")
		w.WriteHeader(http.StatusFound)
	}
	switch {
	case strings.HasPrefix(p, "/gated/"):
		switch r.Header.Get("Authorization") {
		case "Bearer " + testToken:
			lfs()
		case "":
			http.Error(w, "Access to model gated/repo is restricted.", http.StatusUnauthorized)
		default:
			http.Error(w, "forbidden", http.StatusForbidden)
		}
	case p == "/Org/Repo/resolve/main/sub/model.safetensors":
		w.Header().Set("Location", "/api/resolve-cache/models/Org/Repo/"+testCommit+"/sub%2Fmodel.safetensors")
		w.WriteHeader(http.StatusTemporaryRedirect)
	case p == "/api/resolve-cache/models/Org/Repo/"+testCommit+"/sub/model.safetensors",
		p == "/Org/Repo/resolve/"+testCommit+"/sub/model.safetensors":
		lfs()
	case p == "/Org/Repo/resolve/main/config.json":
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("ETag", `"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"`)
		w.Header().Set("Content-Length", "2")
		w.Header().Set("Accept-Ranges", "bytes")
		w.Write([]byte("{}"))
	case p == "/Org/Repo/resolve/main/insecure.bin":
		w.Header().Set("Location", "http://"+r.Host+"/Org/Repo/resolve/main/sub/model.safetensors")
		w.WriteHeader(http.StatusFound)
	case p == "/plain/redirect-elsewhere":
		http.Redirect(w, r, h.cdn.URL(), http.StatusFound)
	default:
		http.Error(w, "Entry not found", http.StatusNotFound)
	}
}

func TestResolveHub(t *testing.T) {
	content := randomContent(300<<10, 7)
	cdn := newFileServer(t, content)
	h := newHub(t, cdn, false)
	c := &Client{Endpoint: h.srv.URL, Token: testToken}
	r, err := c.Resolve(context.Background(), "hf://Org/Repo/sub/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want := Remote{
		Source: "hf://Org/Repo/sub/model.safetensors",
		URL:    h.srv.URL + "/Org/Repo/resolve/" + testCommit + "/sub/model.safetensors",
		Size:   int64(len(content)), SHA256: sum256(content), Commit: testCommit,
		ETag: sum256(content), AcceptRanges: true,
	}
	if *r != want {
		t.Fatalf("Resolve =\n %+v\nwant\n %+v", *r, want)
	}
	seen := h.requests()
	if len(seen) != 2 || !strings.HasPrefix(seen[1], "HEAD /api/resolve-cache/") {
		t.Fatalf("hub saw %q, want the HEAD and its relative redirect", seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, "Bearer "+testToken) {
			t.Fatalf("hub request %q without the token", s)
		}
	}
	if _, _, auth := cdn.stats(); len(auth) != 0 {
		t.Fatalf("the CDN was asked %d times during Resolve; its redirect must not be followed", len(auth))
	}

	// A file that is not in LFS: size from Content-Length, no sha256.
	r, err = c.Resolve(context.Background(), "hf://Org/Repo/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 2 || r.SHA256 != "" || r.Commit != testCommit || r.ETag != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Fatalf("non-LFS Resolve = %+v", *r)
	}
}

// TestTokenOnlyToHub fetches through the hub and its CDN redirect, and from
// plain URLs, and checks where the Authorization header went.
func TestTokenOnlyToHub(t *testing.T) {
	content := randomContent(300<<10, 8)
	cdn := newFileServer(t, content)
	h := newHub(t, cdn, false)
	c := &Client{Endpoint: h.srv.URL, Token: testToken}
	ctx := context.Background()
	dir := t.TempDir()

	for _, src := range []string{
		"hf://Org/Repo/sub/model.safetensors",
		cdn.URL(),                               // another host: no token
		h.srv.URL + "/plain/redirect-elsewhere", // hub host, redirected away
	} {
		r, err := c.Resolve(ctx, src)
		if err != nil {
			t.Fatalf("Resolve %s: %v", src, err)
		}
		dest := filepath.Join(dir, strconv.Itoa(len(src)))
		if _, err := c.Fetch(ctx, r, dest, fastOptions()); err != nil {
			t.Fatalf("Fetch %s: %v", src, err)
		}
	}
	gets, _, auth := cdn.stats()
	if gets < 3 {
		t.Fatalf("CDN saw %d GETs, want 3", gets)
	}
	for _, a := range auth {
		if a != "" {
			t.Fatalf("the CDN received Authorization %q", a)
		}
	}
	var hubGets int
	for _, s := range h.requests() {
		if strings.HasPrefix(s, "GET ") {
			hubGets++
			if !strings.HasSuffix(s, "Bearer "+testToken) {
				t.Fatalf("hub GET %q without the token", s)
			}
		}
	}
	if hubGets != 2 {
		t.Fatalf("hub saw %d GETs, want 2 (the hf source and the redirecting URL)", hubGets)
	}
}

func TestResolveErrors(t *testing.T) {
	cdn := newFileServer(t, randomContent(1000, 9))
	h := newHub(t, cdn, false)
	tlsHub := newHub(t, cdn, true)
	cases := map[string]struct {
		client  *Client
		src     string
		is      error
		wantMsg string
	}{
		"hub 404": {
			client: &Client{Endpoint: h.srv.URL, Token: testToken}, src: "hf://Org/Repo@main/missing.bin",
			is: ErrNotFound, wantMsg: "not found: " + h.srv.URL + "/Org/Repo/resolve/main/missing.bin",
		},
		"plain 404": {
			client: &Client{}, src: h.srv.URL + "/x?sig=SIGNEDsecret",
			is: ErrNotFound, wantMsg: "not found: " + h.srv.URL + "/x?…",
		},
		"gated without token": {
			client: &Client{Endpoint: h.srv.URL}, src: "hf://gated/repo/model.safetensors",
			is: ErrUnauthorized, wantMsg: "gated or private repository (401 from " + h.srv.URL + "/gated/repo/resolve/main/model.safetensors): accept its terms on the hub and set HF_TOKEN",
		},
		"gated with a wrong token": {
			client: &Client{Endpoint: h.srv.URL, Token: "hf_wrongTOKEN"}, src: "hf://gated/repo/model.safetensors",
			is: ErrUnauthorized, wantMsg: "403 from",
		},
		"https hub redirects to http": {
			client: &Client{Endpoint: tlsHub.srv.URL, Token: testToken, Transport: tlsHub.srv.Client().Transport},
			src:    "hf://Org/Repo/insecure.bin",
			is:     ErrInsecureRedirect, wantMsg: "refusing redirect from https to http",
		},
		"https hub sends the CDN redirect to http": {
			client: &Client{Endpoint: tlsHub.srv.URL, Token: testToken, Transport: tlsHub.srv.Client().Transport},
			src:    "hf://Org/Repo/sub/model.safetensors",
			is:     ErrInsecureRedirect, wantMsg: "(to " + cdn.srv.URL + "/blob/xyz?…)",
		},
		"https URL redirects to http": {
			client: &Client{Token: testToken, Transport: tlsHub.srv.Client().Transport},
			src:    tlsHub.srv.URL + "/plain/redirect-elsewhere",
			is:     ErrInsecureRedirect, wantMsg: "resolve " + tlsHub.srv.URL + "/plain/redirect-elsewhere",
		},
		"bad source": {client: &Client{}, src: "hf://only-org", wantMsg: "want hf://ORG/REPO@REVISION/PATH"},
		"ftp":        {client: &Client{}, src: "ftp://example.com/x", wantMsg: "want hf://ORG/REPO@REVISION/PATH or an http(s) URL"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tc.client.Resolve(context.Background(), tc.src)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.wantMsg)
			}
			for _, secret := range []string{testToken, "hf_wrongTOKEN", "SIGNEDsecret"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %q", err)
				}
			}
		})
	}
}

// TestFetchInsecureCDNRedirect: a download whose CDN redirect degrades to
// http fails before any byte is written and leaves nothing at dest.
func TestFetchInsecureCDNRedirect(t *testing.T) {
	cdn := newFileServer(t, randomContent(1000, 10))
	tlsHub := newHub(t, cdn, true)
	c := &Client{Endpoint: tlsHub.srv.URL, Transport: tlsHub.srv.Client().Transport}
	r := &Remote{URL: tlsHub.srv.URL + "/Org/Repo/resolve/" + testCommit + "/sub/model.safetensors", Size: 1000, AcceptRanges: true}
	dest := filepath.Join(t.TempDir(), "m.bin")
	_, err := c.Fetch(context.Background(), r, dest, fastOptions())
	if !errors.Is(err, ErrInsecureRedirect) {
		t.Fatalf("err = %v, want an insecure redirect refusal", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dest exists")
	}
	if gets, _, _ := cdn.stats(); gets != 0 {
		t.Fatalf("the http CDN was contacted %d times", gets)
	}
}

func TestParseSource(t *testing.T) {
	cases := map[string]struct {
		src                      string
		repoType, repo, rev, pth string
		url                      string
		wantErr                  string
	}{
		"hub with commit":  {src: "hf://Kijai/WanVideo_comfy@" + testCommit + "/SteadyDancer/x.safetensors", repo: "Kijai/WanVideo_comfy", rev: testCommit, pth: "SteadyDancer/x.safetensors"},
		"hub default main": {src: "hf://Org/Repo/x.bin", repo: "Org/Repo", rev: "main", pth: "x.bin"},
		"hub dataset":      {src: "hf://datasets/Org/Data@v1/a/b.bin", repoType: "datasets", repo: "Org/Data", rev: "v1", pth: "a/b.bin"},
		"pr revision":      {src: "hf://Org/Repo@refs%2Fpr%2F1/x.bin", repo: "Org/Repo", rev: "refs%2Fpr%2F1", pth: "x.bin"},
		"https":            {src: "https://example.com/a/b.safetensors?download=true", url: "https://example.com/a/b.safetensors?download=true"},
		"no path":          {src: "hf://Org/Repo", wantErr: "want hf://"},
		"empty revision":   {src: "hf://Org/Repo@/x.bin", wantErr: "empty revision"},
		"dotdot in path":   {src: "hf://Org/Repo/../x.bin", wantErr: "bad file path"},
		"bad repo":         {src: "hf://Org/Re po/x.bin", wantErr: "is not a repository name"},
		"no host":          {src: "https:///x", wantErr: "want hf://"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSource(tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.url != "" {
				if s.Hub || s.URL.String() != tc.url {
					t.Fatalf("got %+v", s)
				}
				return
			}
			if !s.Hub || s.RepoType != tc.repoType || s.Repo != tc.repo || s.Revision != tc.rev || s.Path != tc.pth {
				t.Fatalf("got %+v", s)
			}
		})
	}
}

// TestRedact: a source or URL is quoted as written, less its user info and
// query string; an @ that is not user info (the hub's revision, a path) is
// kept, and so are characters url.URL.String would escape.
func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"hf://org@main/file":                            "hf://org@main/file",
		"hf://Org/Repo@v1/x.bin":                        "hf://Org/Repo@v1/x.bin",
		"not a url":                                     "not a url",
		"https://example.com/a b/x.bin":                 "https://example.com/a b/x.bin",
		"https://user:secret@example.com/x.bin":         "https://example.com/x.bin",
		"https://example.com/x.bin?X-Amz-Signature=abc": "https://example.com/x.bin?…",
		"https://example.com/x.bin?":                    "https://example.com/x.bin?",
		"https://example.com/x.bin#part":                "https://example.com/x.bin",
		"https://example.com/org/model@v2/x.bin":        "https://example.com/org/model@v2/x.bin",
		"https://u:secret@[bad/x.bin":                   "https://[bad/x.bin",
		"https://u:sec/ret@example.com/x.bin":           "https://example.com/x.bin",
		"file:weights/x.bin":                            "file:weights/x.bin",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestParseSourceErrorRedacted: a source that does not parse as a URL is
// quoted without its password (url.Parse's own error quotes it whole).
func TestParseSourceErrorRedacted(t *testing.T) {
	_, err := ParseSource("https://u:secret@[bad/x.bin")
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), `"https://[bad/x.bin"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestResolveHubErrorCodes: the hub says what went wrong in X-Error-Code and
// X-Error-Message (it answers 401 for a repository that does not exist, so
// that private names do not leak); the error says it in words, names
// HF_TOKEN where a token would help, and never carries the token.
func TestResolveHubErrorCodes(t *testing.T) {
	type answer struct {
		status        int
		code, message string
	}
	var mu sync.Mutex
	var next answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := next
		mu.Unlock()
		if a.code != "" {
			w.Header().Set("X-Error-Code", a.code)
		}
		if a.message != "" {
			w.Header().Set("X-Error-Message", a.message)
		}
		w.WriteHeader(a.status)
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	cases := map[string]struct {
		answer
		token, src string
		is         error
		want       []string
	}{
		"missing repository": {
			answer: answer{401, "RepoNotFound", "Repository not found"}, src: "hf://Org/Typo@main/x.bin",
			is: ErrNotFound, want: []string{"repository not found, or private (401 from " + srv.URL + "/Org/Typo/resolve/main/x.bin)", "check Org/Typo", "set HF_TOKEN"},
		},
		"missing repository with a token": {
			answer: answer{401, "RepoNotFound", ""}, token: testToken, src: "hf://Org/Typo@main/x.bin",
			is: ErrNotFound, want: []string{"repository not found, or the token sent cannot read it (401 from", "check Org/Typo and HF_TOKEN"},
		},
		"missing revision": {
			answer: answer{404, "RevisionNotFound", "Invalid rev id: v9"}, src: "hf://Org/Repo@v9/x.bin",
			is: ErrNotFound, want: []string{"revision \"v9\" not found in Org/Repo (404 from " + srv.URL + "/Org/Repo/resolve/v9/x.bin)"},
		},
		"missing file": {
			answer: answer{404, "EntryNotFound", "Entry not found"}, src: "hf://Org/Repo@main/dir/x.bin",
			is: ErrNotFound, want: []string{"file \"dir/x.bin\" not found in Org/Repo at revision \"main\" (404 from"},
		},
		"gated without a token": {
			answer: answer{401, "GatedRepo", "Access to model Org/Gated is restricted."}, src: "hf://Org/Gated/x.bin",
			is: ErrUnauthorized, want: []string{"gated repository (401 from", "accept its terms on the hub and set HF_TOKEN"},
		},
		"gated, terms not accepted": {
			answer: answer{403, "GatedRepo", ""}, token: testToken, src: "hf://Org/Gated/x.bin",
			is: ErrUnauthorized, want: []string{"gated repository (403 from", "the token sent (HF_TOKEN or the provider's token) has not been granted access", "accept its terms on the hub with that token's account"},
		},
		"invalid token": {
			answer: answer{401, "", "Invalid credentials in Authorization header"}, token: testToken, src: "hf://Org/Repo/x.bin",
			is: ErrUnauthorized, want: []string{"the hub rejected the token sent (401 from", "check HF_TOKEN"},
		},
		"forbidden without a code, with a token": {
			answer: answer{403, "", ""}, token: testToken, src: "hf://Org/Repo/x.bin",
			is: ErrUnauthorized, want: []string{"gated or private repository (403 from", "the token sent has no access to it"},
		},
		"401 from another host": {
			token: testToken, src: other.URL + "/x.bin",
			want: []string{"401 Unauthorized", "sdform sends HF_TOKEN only to the Hugging Face endpoint"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			mu.Lock()
			next = tc.answer
			mu.Unlock()
			c := &Client{Endpoint: srv.URL, Token: tc.token}
			_, err := c.Resolve(context.Background(), tc.src)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("error leaks the token: %q", err)
			}
		})
	}
}
