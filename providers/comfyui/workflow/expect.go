package workflow

import (
	"fmt"
	"sort"
	"strings"
)

// Expect is what a run's outputs must include.
type Expect struct {
	// Kind is image, animated, video or audio; empty counts every file.
	Kind string
	// MinCount is how many matching files there must be at least (1 when
	// zero).
	MinCount int
	// MinBytes is the least size of a matching file.
	MinBytes int64
	// Frames, when set, is the exact frame count a matching file must
	// have (see Media.Frames); a file whose frame count cannot be read
	// (0: audio, a fragmented MP4) does not match then.
	Frames int
}

// Kinds lists the values Kind may take.
var Kinds = []string{KindImage, KindAnimated, KindVideo, KindAudio}

// Check returns nil when the files meet the expectation, else an error
// that says what was wanted and what came.
func (e Expect) Check(files []File) error {
	want := max(e.MinCount, 1)
	n := 0
	for _, f := range files {
		if e.matches(f) {
			n++
		}
	}
	if n >= want {
		return nil
	}
	return fmt.Errorf("expected at least %d %s; the run wrote %s", want, e.describe(want), summarize(files))
}

func (e Expect) matches(f File) bool {
	if e.Kind != "" && f.Kind != e.Kind {
		return false
	}
	if f.Bytes < e.MinBytes {
		return false
	}
	if e.Frames > 0 && f.Frames != e.Frames {
		return false
	}
	return true
}

func (e Expect) describe(n int) string {
	s := "output file"
	if e.Kind != "" {
		s = e.Kind + " output"
	}
	if n != 1 {
		s += "s"
	}
	var conds []string
	if e.MinBytes > 0 {
		conds = append(conds, fmt.Sprintf("of at least %d bytes", e.MinBytes))
	}
	if e.Frames > 0 {
		conds = append(conds, fmt.Sprintf("with %d frames", e.Frames))
	}
	if len(conds) > 0 {
		s += " " + strings.Join(conds, " and ")
	}
	return s
}

// summarize describes files by kind and format: "6 image (png, 608 bytes
// to 610 bytes), 1 animated (webp, 6 frames, 610 bytes)".
func summarize(files []File) string {
	if len(files) == 0 {
		return "no output files"
	}
	type group struct {
		n          int
		lo, hi     int64
		frames     map[int]bool
		kind, form string
	}
	groups := map[string]*group{}
	for _, f := range files {
		k := f.Kind + "/" + f.Format
		g := groups[k]
		if g == nil {
			g = &group{lo: f.Bytes, hi: f.Bytes, frames: map[int]bool{}, kind: f.Kind, form: f.Format}
			groups[k] = g
		}
		g.n++
		g.lo, g.hi = min(g.lo, f.Bytes), max(g.hi, f.Bytes)
		g.frames[f.Frames] = true
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		g := groups[k]
		var d []string
		if g.form != "" {
			d = append(d, g.form)
		}
		if g.kind == KindAnimated || g.kind == KindVideo {
			var fr []string
			for f := range g.frames {
				if f == 0 {
					fr = append(fr, "frame count unknown")
				} else {
					fr = append(fr, fmt.Sprintf("%d frames", f))
				}
			}
			sort.Strings(fr)
			d = append(d, strings.Join(fr, "/"))
		}
		if g.lo == g.hi {
			d = append(d, fmt.Sprintf("%d bytes", g.lo))
		} else {
			d = append(d, fmt.Sprintf("%d to %d bytes", g.lo, g.hi))
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", g.n, g.kind, strings.Join(d, ", ")))
	}
	return strings.Join(parts, ", ")
}
