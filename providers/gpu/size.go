package gpu

import (
	"fmt"
	"strings"

	"github.com/sdform/sdform/lang"
)

// size is a parsed min_memory: its value in bytes and whether the user wrote
// a binary unit (GiB), so that messages show the device's memory in the same
// unit family as the requirement ("has 40.0 GiB; needs 80 GiB").
type size struct {
	bytes  int64
	binary bool
	text   string // the requirement as shown in messages: "80 GiB"
}

// unitNames spells each unit lang.ParseSize accepts the canonical way.
var unitNames = map[string]string{
	"b": "B", "k": "KB", "kb": "KB", "m": "MB", "mb": "MB", "g": "GB", "gb": "GB",
	"t": "TB", "tb": "TB", "p": "PB", "pb": "PB",
	"kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB", "pib": "PiB",
}

// parseSize reads a size with lang.ParseSize (so min_memory accepts what
// every other size in the language accepts) and keeps the unit's family and
// spelling for messages. A plain number of bytes counts as binary.
func parseSize(s string) (size, error) {
	n, err := lang.ParseSize(s)
	if err != nil {
		return size{}, err
	}
	t := strings.TrimSpace(s)
	num := strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	unit := strings.ToLower(t[len(num):])
	num = strings.TrimSpace(num)
	if unit == "" {
		return size{bytes: n, binary: true, text: num + " bytes"}, nil
	}
	name, ok := unitNames[unit]
	if !ok {
		name = t[len(t)-len(unit):]
	}
	return size{bytes: n, binary: strings.Contains(unit, "i"), text: num + " " + name}, nil
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
