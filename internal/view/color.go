package view

// Options are the rendering settings shared by every human view.
type Options struct {
	// Color enables ANSI colours.
	Color bool
	// Width wraps diagnostic details; 0 disables wrapping.
	Width int
}

const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiCyan    = "\x1b[36m"
	ansiMagenta = "\x1b[35m"
)

// paint wraps s in an ANSI code when colours are on.
func (o Options) paint(code, s string) string {
	if !o.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}
