package comfyui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers/comfyui/download"
	"github.com/sdform/sdform/providers/comfyui/workflow"
)

// outputFolders are the folders of one comfyui_workflow's outputs. The
// state records the files of the last run that passed, with their sha256:
// they are the evidence that the run passed, so a run replaces them only
// once it has passed too.
//
//   - dir holds the outputs of the run the state records;
//   - dir.run-* holds a run's outputs while they are fetched and checked;
//   - dir.failed holds those of the last run that failed its expect block,
//     for a look at what it wrote.
type outputFolders struct{ dir string }

// fetch fetches the outputs of a run into a new folder beside dir, and
// returns it with the files. On error nothing of the run is left.
func (o outputFolders) fetch(ctx context.Context, client *workflow.Client, refs []workflow.OutputRef) (string, []workflow.File, error) {
	// A run that an apply killed during its fetch left its folder.
	o.removeRuns()
	if err := os.MkdirAll(filepath.Dir(o.dir), 0o755); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(o.dir), filepath.Base(o.dir)+".run-*")
	if err != nil {
		return "", nil, fmt.Errorf("create a folder for the outputs: %w", err)
	}
	files, err := client.Fetch(ctx, refs, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return tmp, files, nil
}

// promote makes the outputs fetched into tmp those of dir, and points
// files at them there.
func (o outputFolders) promote(tmp string, files []workflow.File) error {
	old := o.dir + ".previous"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	hadOld := true
	if err := os.Rename(o.dir, old); errors.Is(err, fs.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return fmt.Errorf("move the last run's outputs aside: %w", err)
	}
	if err := os.Rename(tmp, o.dir); err != nil {
		if hadOld {
			os.Rename(old, o.dir)
		}
		return fmt.Errorf("move the outputs into %s: %w", o.dir, err)
	}
	for i := range files {
		files[i].Path = filepath.Join(o.dir, files[i].Rel)
	}
	os.RemoveAll(old)
	os.RemoveAll(o.failedDir())
	return nil
}

func (o outputFolders) failedDir() string { return o.dir + ".failed" }

// keepFailed moves the outputs of a run that failed its checks from tmp to
// dir.failed, in place of an earlier failed run's, and returns where they
// are ("" when they could not be kept, and are removed).
func (o outputFolders) keepFailed(tmp string) string {
	failed := o.failedDir()
	if err := os.RemoveAll(failed); err == nil {
		if err := os.Rename(tmp, failed); err == nil {
			return failed
		}
	}
	os.RemoveAll(tmp)
	return ""
}

func (o outputFolders) removeRuns() {
	runs, _ := filepath.Glob(o.dir + ".run-*")
	for _, r := range runs {
		os.RemoveAll(r)
	}
}

// removeAll removes every folder of the outputs.
func (o outputFolders) removeAll() error {
	o.removeRuns()
	var errs []error
	for _, d := range []string{o.dir, o.failedDir(), o.dir + ".previous"} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// outputStats records the stat of each output file, for checkOutputs.
func outputStats(files []workflow.File) map[string]download.StatRecord {
	out := map[string]download.StatRecord{}
	for _, f := range files {
		if st, err := download.Stat(f.Path); err == nil {
			out[f.Path] = st
		}
	}
	return out
}

// checkOutputs compares the recorded outputs of a run (its state value
// prior) with the files on disk: by stat where stats records one (no
// read), else by sha256. It returns the outputs as they are now (those
// deleted left out, those modified with their sha256 and size now), and
// what changed ("" when nothing did).
func checkOutputs(prior cty.Value, stats map[string]download.StatRecord) (cty.Value, string) {
	outs := prior.GetAttr("outputs")
	if outs.IsNull() || !outs.IsWhollyKnown() || outs.LengthInt() == 0 {
		return outs, ""
	}
	dir := ""
	if d := prior.GetAttr("output_dir"); d.IsKnown() && !d.IsNull() {
		dir = d.AsString()
	}
	var now []cty.Value
	var changes []string
	for it := outs.ElementIterator(); it.Next(); {
		_, o := it.Element()
		p := o.GetAttr("path")
		if p.IsNull() {
			now = append(now, o)
			continue
		}
		path := p.AsString()
		name := path
		if rel, err := filepath.Rel(dir, path); dir != "" && err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
		var rec download.Record
		if sum := o.GetAttr("sha256"); sum.IsKnown() && !sum.IsNull() {
			rec = download.Record{Stat: stats[path], SHA256: sum.AsString()}
		}
		if _, ok := stats[path]; !ok {
			rec.SHA256 = "" // no stat recorded (an older state): read it
		}
		now1, trusted, err := download.Verify(context.Background(), path, rec, nil)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changes = append(changes, name+" deleted")
			continue
		case err != nil:
			changes = append(changes, fmt.Sprintf("%s unreadable (%v)", name, err))
			continue
		case trusted || o.GetAttr("sha256").RawEquals(cty.StringVal(now1.SHA256)):
			now = append(now, o)
			continue
		}
		changes = append(changes, name+" modified")
		attrs := o.AsValueMap()
		attrs["sha256"], attrs["bytes"] = cty.StringVal(now1.SHA256), cty.NumberIntVal(now1.Stat.Size)
		now = append(now, cty.ObjectVal(attrs))
	}
	if len(changes) == 0 {
		return outs, ""
	}
	if len(changes) > 4 {
		changes = append(changes[:4], fmt.Sprintf("and %d more", len(changes)-4))
	}
	list := cty.ListValEmpty(outputType)
	if len(now) > 0 {
		list = cty.ListVal(now)
	}
	return list, "outputs of the recorded run changed outside sdform: " + strings.Join(changes, ", ")
}
