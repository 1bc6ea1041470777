package download

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchFileChangedOnServer: with no sha256 to check against, a file
// that changes on the server in the middle of a download (its ETag
// changes) must not be stored as a mix of two versions: the fetch fails
// with a clear error and leaves nothing at dest. With a sha256, the final
// check catches it anyway, and the ETag is not needed.
func TestFetchFileChangedOnServer(t *testing.T) {
	const size = 1 << 20
	oldContent, newContent := randomContent(size, 21), randomContent(size, 22)
	for name, withSHA := range map[string]bool{"no sha256": false, "sha256": true} {
		t.Run(name, func(t *testing.T) {
			s := newFileServer(t, oldContent)
			// From the second GET on, the server has the new version.
			s.fault = func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n < 1 {
					return false
				}
				w.Header().Set("ETag", `"v2"`)
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(newContent))
				return true
			}
			r := s.remote()
			if !withSHA {
				r.SHA256 = ""
			}
			dest := filepath.Join(t.TempDir(), "x.bin")
			_, err := (&Client{}).Fetch(context.Background(), r, dest, parallelOptions())
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want a mismatch", err)
			}
			if !withSHA && !strings.Contains(err.Error(), "changed on the server during the download") {
				t.Fatalf("err = %v", err)
			}
			for _, p := range []string{dest, PartialPath(dest)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
}
