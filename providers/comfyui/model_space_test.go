package comfyui

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// TestFreeSpaceSummedOverPlan plans two downloads of 0.6 × the free space
// each, to one file system, in one command. Each fits, both do not, and an
// apply runs them at once. What must hold: the plan fails with a message
// that names the other download; planning one object again does not count
// it twice; once it no longer downloads, the other fits again.
func TestFreeSpaceSummedOverPlan(t *testing.T) {
	dir := t.TempDir()
	free, _, err := download.FreeSpace(dir)
	if err != nil {
		t.Fatal(err)
	}
	size := free * 6 / 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("ETag", `"x"`)
		if r.Method != http.MethodHead {
			http.Error(w, "HEAD only", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	p := configure(t, nil, dir, nil)
	plan := func(name, source string) providers.PlanResponse {
		cfg := modelCfg(source, "checkpoints/"+name+".bin", nil, nil)
		return p.PlanResource(t.Context(), providers.PlanRequest{TypeName: "comfyui_model", Address: "comfyui_model." + name,
			Prior: none().value, Config: cfg, Proposed: cfg})
	}
	if pr := plan("a", srv.URL+"/a.bin"); len(pr.Diagnostics) > 0 {
		t.Fatalf("a alone: %s", diagText(pr.Diagnostics))
	}
	if pr := plan("a", srv.URL+"/a.bin"); len(pr.Diagnostics) > 0 {
		t.Fatalf("a planned again is counted twice: %s", diagText(pr.Diagnostics))
	}
	pr := plan("b", srv.URL+"/b.bin")
	want := "Not enough disk space: comfyui_model.b needs " + lang.FormatSize(size) +
		", and this plan also downloads comfyui_model.a (" + lang.FormatSize(size) + ") to the same file system: " + lang.FormatSize(2*size) + " in all"
	if !pr.Diagnostics.HasErrors() || !strings.Contains(diagText(pr.Diagnostics), want) {
		t.Fatalf("b beside a: %s\nwant an error containing %q", diagText(pr.Diagnostics), want)
	}
	// a now copies nothing (its source is a missing local file, an error
	// of its own): b fits again.
	plan("a", "file:///nonexistent/a.bin")
	if pr := plan("b", srv.URL+"/b.bin"); len(pr.Diagnostics) > 0 {
		t.Errorf("b once a no longer downloads: %s", diagText(pr.Diagnostics))
	}
}

// TestSpaceTallyDuringApply checks what a plan made during the apply (of
// an object whose dependency was just applied) counts for a download in
// progress. What must hold: only the bytes it has still to write, since
// those it wrote are already gone from the free space; nothing once its
// apply has ended; and only downloads to the same file system.
func TestSpaceTallyDuringApply(t *testing.T) {
	var tally spaceTally
	tally.others("a", 1, 39<<30)
	tally.others("c", 2, 5<<30)
	if got := tally.others("b", 1, 20<<30); got["a"] != 39<<30 || len(got) != 1 {
		t.Fatalf("others at plan: %v", got)
	}
	tally.left("a", 10<<30)
	tally.left("a", 12<<30) // progress never raises it again
	if got := tally.others("b", 1, 20<<30); got["a"] != 10<<30 {
		t.Errorf("others while a downloads: %v, want a's 10 GiB left", got)
	}
	tally.drop("a")
	if got := tally.others("b", 1, 20<<30); len(got) != 0 {
		t.Errorf("others once a was applied: %v", got)
	}
	tally.left("a", 1) // a progress report after its apply ended adds nothing
	if got := tally.others("b", 1, 20<<30); len(got) != 0 {
		t.Errorf("others after a late progress report: %v", got)
	}
}
