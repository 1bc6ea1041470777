package gpu

import (
	"fmt"
	"strconv"
	"strings"
)

// size is a parsed min_memory: its value in bytes and whether the user wrote
// a binary unit (GiB), so that messages show the device's memory in the same
// unit family as the requirement ("has 40.0 GiB; needs 80 GiB").
//
// lang.ParseSize (same grammar) was not written yet when this package was;
// this parser also keeps the unit the user wrote, which ParseSize does not
// return.
type size struct {
	bytes  int64
	binary bool
	text   string // the requirement as shown in messages: "80 GiB"
}

var sizeUnits = []struct {
	suffix string
	factor float64
	binary bool
}{
	// Longest suffixes first so "GiB" is not read as "B".
	{"KiB", 1 << 10, true}, {"MiB", 1 << 20, true}, {"GiB", 1 << 30, true}, {"TiB", 1 << 40, true},
	{"KB", 1e3, false}, {"MB", 1e6, false}, {"GB", 1e9, false}, {"TB", 1e12, false},
	{"B", 1, false},
}

// parseSize reads "24GiB", "50GB", "100MB", "1.5 TiB" or a plain number of
// bytes. Units are case-insensitive; decimal units are powers of 1000.
func parseSize(s string) (size, error) {
	bad := fmt.Errorf("%q is not a size like \"24GiB\", \"50GB\" or a number of bytes", s)
	t := strings.TrimSpace(s)
	num, factor, binary, unit := t, 1.0, true, ""
	for _, u := range sizeUnits {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			num, factor, binary, unit = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.factor, u.binary, u.suffix
			break
		}
	}
	if num == "" || strings.Trim(num, "0123456789.") != "" {
		return size{}, bad
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return size{}, bad
	}
	if b := f * factor; b > 1<<62 {
		return size{}, fmt.Errorf("%q is too large", s)
	}
	if unit == "" {
		return size{bytes: int64(f), binary: true, text: num + " bytes"}, nil
	}
	return size{bytes: int64(f * factor), binary: binary, text: num + " " + unit}, nil
}

// formatBytes shows n in GiB (binary) or GB (decimal) with one decimal, or
// in MiB/MB below one gigabyte, so small MIG slices stay readable.
func formatBytes(n uint64, binary bool) string {
	g, m, gu, mu := 1e9, 1e6, "GB", "MB"
	if binary {
		g, m, gu, mu = 1<<30, 1<<20, "GiB", "MiB"
	}
	if float64(n) >= g {
		return fmt.Sprintf("%.1f %s", float64(n)/g, gu)
	}
	return fmt.Sprintf("%.1f %s", float64(n)/m, mu)
}
