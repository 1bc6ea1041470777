package view

import (
	"bytes"
	"io"
	"testing"
)

// Providers find the terminal beneath the writers the CLI gives them by
// following Unwrap; a broken chain silently turns tty progress into plain.
func TestUnwrapReachesTheUnderlyingWriter(t *testing.T) {
	var base bytes.Buffer
	var w io.Writer = NewPrefixWriter(NewSyncWriter(&base), "docker_image.x: ")
	for i := 0; i < 3; i++ {
		if w == io.Writer(&base) {
			return
		}
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			t.Fatalf("%T has no Unwrap", w)
		}
		w = u.Unwrap()
	}
	t.Fatalf("Unwrap chain did not reach the base writer; ended at %T", w)
}
