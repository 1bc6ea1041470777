package planner

import (
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// secretSet is the clear text of every sensitive value a Context has seen:
// sensitive variables, and each configuration's leaves at sensitive paths
// (marked by a variable, or sensitive in the provider's schema).
//
// Marks stop at the provider boundary: what a provider returns or prints
// carries none, yet it may repeat a secret (an image's ENV set from a
// sensitive build arg, a test's expectation, a message quoting the
// attribute it rejects). The engine therefore looks for the secrets
// themselves in everything providers hand back: a returned leaf holding one
// is sensitive (hidden in plans, a keyed hash in state), and messages and
// progress lines have it replaced by "(sensitive value)".
//
// A secret of minSubstring or more characters is found anywhere in a
// string; a shorter one only as a whole leaf, or quoted in a message, so
// that a short value ("1", "dev") does not hide every string containing it.
type secretSet struct {
	mu   sync.RWMutex
	list []string // distinct, longest first, so that a longer secret is replaced before a shorter one inside it
}

const minSubstring = 6

// sensitiveText replaces a secret in messages and output.
const sensitiveText = "(sensitive value)"

// addMarked adds the string leaves of v that carry the sensitive mark.
func (s *secretSet) addMarked(v cty.Value) {
	u, pvm := unmarkDeepWithPaths(v)
	s.addAt(u, sensitiveFromMarks(pvm))
}

// addAt adds the string leaves of v at or under paths.
func (s *secretSet) addAt(v cty.Value, paths []cty.Path) {
	var found []string
	for _, p := range paths {
		at, err := p.Apply(v)
		if err != nil {
			continue
		}
		eachString(at, func(_ cty.Path, str string) { found = append(found, str) })
	}
	if len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, str := range found {
		if str != "" && !slices.Contains(s.list, str) {
			s.list = append(s.list, str)
		}
	}
	slices.SortStableFunc(s.list, func(a, b string) int { return len(b) - len(a) })
}

// eachString calls fn with every known, non-null string leaf of v and its
// path (which fn must copy to keep).
func eachString(v cty.Value, fn func(cty.Path, string)) {
	cty.Walk(v, func(p cty.Path, leaf cty.Value) (bool, error) {
		if leaf.IsKnown() && !leaf.IsNull() && leaf.Type() == cty.String {
			fn(p, leaf.AsString())
		}
		return true, nil
	})
}

func (s *secretSet) empty() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.list) == 0
}

// holds reports whether str is, or contains, a secret.
func (s *secretSet) holds(str string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sec := range s.list {
		if str == sec || (len(sec) >= minSubstring && strings.Contains(str, sec)) {
			return true
		}
	}
	return false
}

// paths returns the string leaves of v that hold a secret.
func (s *secretSet) paths(v cty.Value) []cty.Path {
	if v == cty.NilVal || s.empty() {
		return nil
	}
	var out []cty.Path
	eachString(v, func(p cty.Path, str string) {
		if s.holds(str) {
			out = append(out, p.Copy())
		}
	})
	return out
}

// scrub replaces every secret in text.
func (s *secretSet) scrub(text string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sec := range s.list {
		if len(sec) >= minSubstring {
			text = strings.ReplaceAll(text, sec, sensitiveText)
		} else {
			text = strings.ReplaceAll(text, `"`+sec+`"`, sensitiveText)
		}
	}
	return text
}

// scrubDiags scrubs the summaries and details of diags in place.
func (s *secretSet) scrubDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	if s.empty() {
		return diags
	}
	for _, d := range diags {
		d.Summary, d.Detail = s.scrub(d.Summary), s.scrub(d.Detail)
	}
	return diags
}

// scrubErr returns err with the secrets of its message replaced; errors.Is
// and errors.As still see err.
func (s *secretSet) scrubErr(err error) error {
	if err == nil || s.empty() {
		return err
	}
	msg := s.scrub(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// writer returns w with the secrets of each write replaced. Providers write
// whole lines; a secret split across two writes would pass.
func (s *secretSet) writer(w io.Writer) io.Writer { return &scrubWriter{w: w, s: s} }

type scrubWriter struct {
	w io.Writer
	s *secretSet
}

func (sw *scrubWriter) Write(p []byte) (int, error) {
	if sw.s.empty() {
		return sw.w.Write(p)
	}
	if _, err := io.WriteString(sw.w, sw.s.scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap gives the writer underneath, so that a provider can still tell a
// terminal (see internal/view).
func (sw *scrubWriter) Unwrap() io.Writer { return sw.w }
