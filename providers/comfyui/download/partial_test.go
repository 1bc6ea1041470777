package download

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchRefusesPartialSymlinks puts a symlink to a file outside the
// models folder (or a directory) where Fetch keeps its partial file, its
// sidecar or the sidecar's temporary file. Join checked dest only, so what
// must hold: Fetch refuses with an error naming the path, the file outside
// is untouched, nothing appears at dest, and the plan's PartialBytes does
// not count the outside file as a resumable prefix.
func TestFetchRefusesPartialSymlinks(t *testing.T) {
	content := randomContent(256<<10, 77)
	s := newFileServer(t, content)
	precious := bytes.Repeat([]byte("precious data, not a model\n"), 20000)
	for name, at := range map[string]struct {
		path func(dest string) string
		dir  bool
	}{
		"partial":      {path: PartialPath},
		"sidecar":      {path: SidecarPath},
		"sidecar temp": {path: sidecarTemp},
		"partial dir":  {path: PartialPath, dir: true},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			models := filepath.Join(root, "models")
			victim := filepath.Join(root, "outside", "victim.txt")
			os.MkdirAll(filepath.Join(models, "diffusion_models"), 0o755)
			os.MkdirAll(filepath.Dir(victim), 0o755)
			if err := os.WriteFile(victim, precious, 0o644); err != nil {
				t.Fatal(err)
			}
			dest, err := Join(models, "diffusion_models/x.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			bad := at.path(dest)
			if at.dir {
				err = os.Mkdir(bad, 0o755)
			} else {
				err = os.Symlink(victim, bad)
			}
			if err != nil {
				t.Fatal(err)
			}
			if at.path(dest) == PartialPath(dest) {
				if n := PartialBytes(dest, s.remote()); n != 0 {
					t.Errorf("PartialBytes = %d, want 0 for a partial file that is not a regular file", n)
				}
			}
			_, ferr := (&Client{}).Fetch(context.Background(), s.remote(), dest, fastOptions())
			if ferr == nil || !strings.Contains(ferr.Error(), bad+" is a") || !strings.Contains(ferr.Error(), "remove it to download again") {
				t.Errorf("Fetch: %v; want a refusal naming %s", ferr, bad)
			}
			if got, _ := os.ReadFile(victim); !bytes.Equal(got, precious) {
				t.Errorf("the file outside the models folder was changed: now %d bytes", len(got))
			}
			if _, err := os.Lstat(dest); err == nil {
				t.Error("something appeared at dest")
			}
		})
	}
}

// TestSaveSidecarReplacesStaleTemp leaves a regular temporary sidecar file
// behind, as a process killed between write and rename does: the next
// Fetch replaces it and completes.
func TestSaveSidecarReplacesStaleTemp(t *testing.T) {
	content := randomContent(256<<10, 78)
	s := newFileServer(t, content)
	dest := filepath.Join(t.TempDir(), "m.bin")
	if err := os.WriteFile(sidecarTemp(dest), []byte("{half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, fastOptions()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, content) {
		t.Error("dest does not hold the content")
	}
}
