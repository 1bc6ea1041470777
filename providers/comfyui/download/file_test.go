package download

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileSource(t *testing.T) {
	cases := map[string]struct {
		src     string
		file    string
		wantErr string
	}{
		"absolute":           {src: "file:///srv/models/x.safetensors", file: "/srv/models/x.safetensors"},
		"absolute localhost": {src: "file://localhost/srv/x.bin", file: "/srv/x.bin"},
		"absolute one slash": {src: "file:/srv/x.bin", file: "/srv/x.bin"},
		"relative":           {src: "file:weights/tiny-model.safetensors", file: "weights/tiny-model.safetensors"},
		"relative dotdot":    {src: "file:../shared/x.bin", file: "../shared/x.bin"},
		"escaped space":      {src: "file:///srv/my%20models/x.bin", file: "/srv/my models/x.bin"},
		"host":               {src: "file://weights/x.bin", wantErr: "file:///ABSOLUTE/PATH or file:RELATIVE/PATH"},
		"no file":            {src: "file:///srv/models/", wantErr: "names no file"},
		"empty":              {src: "file:", wantErr: "names no file"},
		"query":              {src: "file:///x.bin?a=b", wantErr: "query"},
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
			if s.Hub || s.File != tc.file || s.FileName() != filepath.Base(tc.file) {
				t.Fatalf("got %+v (file name %q)", s, s.FileName())
			}
		})
	}
}

// TestFileTransport checks the file: transport against what the fetcher
// relies on from an HTTP server: sizes, ranges, 404 and 416.
func TestFileTransport(t *testing.T) {
	dir := t.TempDir()
	content := []byte("0123456789abcdefghij")
	path := filepath.Join(dir, "w.bin")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		method, path, rng string
		status            int
		body, contentRng  string
	}{
		"head":        {method: "HEAD", path: path, status: 200},
		"whole":       {method: "GET", path: path, status: 200, body: string(content)},
		"open range":  {method: "GET", path: path, rng: "bytes=15-", status: 206, body: "fghij", contentRng: "bytes 15-19/20"},
		"closed":      {method: "GET", path: path, rng: "bytes=2-4", status: 206, body: "234", contentRng: "bytes 2-4/20"},
		"past end":    {method: "GET", path: path, rng: "bytes=18-99", status: 206, body: "ij", contentRng: "bytes 18-19/20"},
		"beyond":      {method: "GET", path: path, rng: "bytes=20-", status: 416, contentRng: "bytes */20"},
		"missing":     {method: "GET", path: filepath.Join(dir, "nope.bin"), status: 404},
		"not allowed": {method: "PUT", path: path, status: 405},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, (&url.URL{Scheme: "file", Path: tc.path}).String(), nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			resp, err := fileTransport{}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || string(body) != tc.body || resp.Header.Get("Content-Range") != tc.contentRng {
				t.Fatalf("got %d %q Content-Range %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
			}
			if tc.status < 300 && (resp.Header.Get("Accept-Ranges") != "bytes" || resp.Header.Get("ETag") == "") {
				t.Fatalf("headers %v", resp.Header)
			}
			if tc.method == "HEAD" && resp.Header.Get("Content-Length") != "20" {
				t.Fatalf("HEAD Content-Length %q", resp.Header.Get("Content-Length"))
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "file://"+dir, nil)
		if _, err := (fileTransport{}).RoundTrip(req); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestFetchFileSource copies a local file the way a download goes: into
// DEST.partial with the sha256 computed on the way, renamed only when it
// matches, resumed from a partial file, nothing left at DEST on a mismatch.
func TestFetchFileSource(t *testing.T) {
	base := t.TempDir()
	content := randomContent(3<<20+11, 7)
	if err := os.MkdirAll(filepath.Join(base, "weights"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "weights", "w.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := map[string]struct {
		src     string
		sha256  string
		partial []byte // left in DEST.partial before the fetch
		wantErr error
		resumed int64
	}{
		"relative":       {src: "file:weights/w.bin", sha256: sum256(content)},
		"absolute":       {src: "file://" + filepath.Join(base, "weights", "w.bin"), sha256: sum256(content)},
		"sha256 unknown": {src: "file:weights/w.bin"},
		"resumes":        {src: "file:weights/w.bin", sha256: sum256(content), partial: content[:1<<20], resumed: 1 << 20},
		"wrong sha256":   {src: "file:weights/w.bin", sha256: strings.Repeat("0", 64), wantErr: ErrMismatch},
		"missing":        {src: "file:weights/nope.bin", wantErr: ErrNotFound},
		"empty partial":  {src: "file:weights/w.bin", sha256: sum256(content), partial: []byte{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &Client{BaseDir: base, Token: testToken}
			dest := filepath.Join(t.TempDir(), "checkpoints", "w.bin")
			r, err := c.Resolve(ctx, tc.src)
			if errors.Is(tc.wantErr, ErrNotFound) {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope.bin") {
					t.Fatalf("Resolve err = %v, want not found naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Size != int64(len(content)) || !r.AcceptRanges || r.ETag == "" || !strings.HasPrefix(r.URL, "file:///") {
				t.Fatalf("remote %+v", r)
			}
			r.SHA256 = tc.sha256
			if tc.partial != nil {
				os.MkdirAll(filepath.Dir(dest), 0o755)
				if err := os.WriteFile(PartialPath(dest), tc.partial, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var phases []string
			opts := fastOptions()
			opts.Progress = func(p Progress) { phases = append(phases, p.Phase) }
			res, err := c.Fetch(ctx, r, dest, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "w.bin") {
					t.Fatalf("err = %v, want %v naming the file", err, tc.wantErr)
				}
				for _, p := range []string{dest, PartialPath(dest)} {
					if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s left behind after a mismatch", p)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, content) || res.SHA256 != sum256(content) || res.Resumed != tc.resumed || res.Parallel {
				t.Fatalf("result %+v, content equal %v", res, bytes.Equal(got, content))
			}
			if res.HashedFromFile != 0 && tc.resumed == 0 {
				t.Errorf("a sequential copy read %d bytes back", res.HashedFromFile)
			}
			for _, p := range []string{PartialPath(dest), SidecarPath(dest)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind", p)
				}
			}
			if len(phases) == 0 || phases[len(phases)-1] != "copy" {
				t.Errorf("progress phases %q, want copy", phases)
			}
		})
	}
}

// TestRedirectToFileRefused: a server must not be able to make the client
// read a local file by redirecting to a file: URL.
func TestRedirectToFileRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("local secret"), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file://"+secret, http.StatusFound)
	}))
	defer srv.Close()
	c := &Client{}
	_, err := c.Resolve(context.Background(), srv.URL+"/x.bin")
	if err == nil || !strings.Contains(err.Error(), `unsupported scheme "file"`) {
		t.Fatalf("Resolve err = %v", err)
	}
	dest := filepath.Join(t.TempDir(), "x.bin")
	_, err = c.Fetch(context.Background(), &Remote{URL: srv.URL + "/x.bin", Size: -1}, dest, fastOptions())
	if err == nil || !strings.Contains(err.Error(), `unsupported scheme "file"`) {
		t.Fatalf("Fetch err = %v", err)
	}
	if b, _ := os.ReadFile(PartialPath(dest)); len(b) > 0 {
		t.Fatalf("the partial file holds %q", b)
	}
}
