package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestModelMirrorIsNotADownload: a pinned weight file whose source moves
// to a mirror is only recorded again: the file on disk has the pinned
// sha256. The plan words
// and counts it as an update, not as a download, and apply fetches nothing.
func TestModelMirrorIsNotADownload(t *testing.T) {
	served := t.TempDir()
	weights := []byte("the same weights on both servers")
	if err := os.WriteFile(filepath.Join(served, "w.safetensors"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(weights)
	var gets atomic.Int64
	files := http.FileServer(http.Dir(served))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := `
variable "url" {
  type = string
}

provider "comfyui" {
  models_dir = "models"
}

resource "comfyui_model" "w" {
  source = var.url
  sha256 = "%s"
  path   = "vae/w.safetensors"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), []byte(fmt.Sprintf(cfg, hex.EncodeToString(sum[:]))), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NO_COLOR", "1")
	t.Setenv("SDF_VAR_url", srv.URL+"/w.safetensors")
	if r := sdform(t, dir, "apply", "-auto-approve"); r.code != 0 || gets.Load() != 1 {
		t.Fatalf("first apply (%d GETs): %s", gets.Load(), r)
	}

	t.Setenv("SDF_VAR_url", srv.URL+"/w.safetensors?mirror=1")
	r := sdform(t, dir, "plan", "-detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("plan after the source moved: %s", r)
	}
	for _, want := range []string{"comfyui_model.w will be updated in place", "up to date: no download", "Plan: 1 to update"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{"downloaded again", "to download"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("plan says %q though nothing is downloaded:\n%s", bad, r.stdout)
		}
	}
	if r := sdform(t, dir, "apply", "-auto-approve"); r.code != 0 || gets.Load() != 1 {
		t.Errorf("second apply (%d GETs in all, want 1): %s", gets.Load(), r)
	}
	if r := sdform(t, dir, "plan", "-detailed-exitcode"); r.code != exitOK {
		t.Errorf("plan after the second apply: %s", r)
	}
}
