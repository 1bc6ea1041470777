package planner

import "testing"

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"image is over the budget":  "image is over the budget.",
		"image is over the budget.": "image is over the budget.",
		"too big!":                  "too big!",
		"a; b.":                     "a; b.",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
