package view

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes free text safe to print on a terminal: check messages,
// errors, reasons, ids and diagnostics carry text from configurations,
// servers and builds, which must neither drive the terminal (set its title,
// clear the screen) nor hide what it says. Control characters other than
// "\n" and "\t", bytes that are not UTF-8 and the Unicode controls that
// reorder text are written as visible escapes ("\x1b", "\u202e"), as
// values are in HCL syntax; "\r\n" reads as "\n". sdform's own colours are
// added around the sanitised text, never inside it.
func Sanitize(s string) string {
	return string(appendSafe(nil, s, false))
}

// appendSafe appends s, sanitised, to dst. With keepStyle, colour codes
// ("\x1b[1;32m") and erase-in-line ("\x1b[K") are kept: they only change
// how the current line looks, and providers draw progress bars with them.
func appendSafe(dst []byte, s string, keepStyle bool) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = fmt.Appendf(dst, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			dst = append(dst, s[i])
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
		case r == '\x1b' && keepStyle && styleLen(s[i:]) > 0:
			size = styleLen(s[i:])
			dst = append(dst, s[i:i+size]...)
		case r < utf8.RuneSelf && unicode.IsControl(r):
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// styleLen is the length of the SGR or erase-in-line sequence s starts
// with, or 0: ESC "[", parameters (digits, ";" or ":"), then "m" or "K".
func styleLen(s string) int {
	const maxLen = 32
	if !strings.HasPrefix(s, "\x1b[") {
		return 0
	}
	for i := 2; i < len(s) && i < maxLen; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		case c == 'm' || c == 'K':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// indentText lays free text out under a margin: sanitised, without trailing
// newlines, every line after the first starting with margin, so that a
// multi-line message stays inside the list it is part of.
func indentText(s, margin string) string {
	s = strings.TrimRight(Sanitize(s), "\n")
	return strings.ReplaceAll(s, "\n", "\n"+margin)
}
