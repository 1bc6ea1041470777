package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC checks that sdform raises GOGC for itself, and leaves a GOGC
// set in the environment alone.
func TestTuneGC(t *testing.T) {
	// SetGCPercent returns the previous setting; put it back afterwards.
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	tests := map[string]struct {
		env  string
		want int
	}{
		"unset":      {env: "", want: gcPercent},
		"set by env": {env: "150", want: 100}, // the runtime read GOGC at start; tuneGC must not override it
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("GOGC", tc.env)
			debug.SetGCPercent(100)
			tuneGC()
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent after tuneGC = %d, want %d", got, tc.want)
			}
		})
	}
}
