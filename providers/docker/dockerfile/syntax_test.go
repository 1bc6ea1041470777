package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// TestSyntaxAfter12: what the Docker Engine 20.10's built-in frontend
// (Dockerfile syntax 1.2) fails to parse is found, on its line; what it
// parses (RUN --mount, COPY --chmod and --chown) is not.
func TestSyntaxAfter12(t *testing.T) {
	for name, tc := range map[string]struct {
		dockerfile string
		want       string // "LINE:what, …"
	}{
		"syntax 1.2": {
			dockerfile: "FROM busybox\nRUN --mount=type=cache,target=/c echo hi\nCOPY --chmod=0600 --chown=1:1 a.txt /a\n",
		},
		"heredocs": {
			dockerfile: "FROM busybox\nCOPY <<EOF /etc/c\nk=v\nEOF\nRUN <<SH\necho hi\nSH\n",
			want:       "2:heredoc <<EOF, 5:heredoc <<SH",
		},
		"newer flags": {
			dockerfile: "FROM busybox\nCOPY --link --exclude=*.md . /src\nRUN --network=none echo\nADD --checksum=sha256:00 https://example.com/m /m\n",
			want:       "2:COPY --link, 2:COPY --exclude, 3:RUN --network, 4:ADD --checksum",
		},
		"unparsable": {dockerfile: "FROM busybox\nCOPY <<EOF\n"},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, u := range SyntaxAfter12([]byte(tc.dockerfile)) {
				got = append(got, fmt.Sprintf("%d:%s", u.Line, u.What))
			}
			if s := strings.Join(got, ", "); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}
