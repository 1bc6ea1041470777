package lang

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps a lower-cased unit to its multiplier. Units without "i"
// are decimal (GB = 10⁹), as disk and download sizes are quoted; "iB"
// units are binary (GiB = 2³⁰), as GPU memory is.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}

var sizeRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)$`)

// ParseSize parses a size into bytes: "50GB" (50×10⁹), "24GiB" (24×2³⁰),
// "1.5 TB", "100MB", "512" (bytes). Units are case-insensitive; a
// fractional result is rounded to the nearest byte.
func ParseSize(s string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit, such as 50GB, 24GiB or 1.5 TB", s)
	}
	mult, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, MB, GB, TB, PB or KiB, MiB, GiB, TiB, PiB)", s, m[2])
	}
	num, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("invalid size %q: bad number %q", s, m[1])
	}
	num.Mul(num, new(big.Rat).SetInt64(mult))
	// Round half up: add ½ and truncate.
	num.Add(num, big.NewRat(1, 2))
	n := new(big.Int).Quo(num.Num(), num.Denom())
	if !n.IsInt64() {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n.Int64(), nil
}

var daysRe = regexp.MustCompile(`([0-9]*\.?[0-9]+)d`)

// ParseDuration parses a Go duration ("45m", "1h30m", "90s") and also
// accepts days ("2d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	var bad error
	expanded := daysRe.ReplaceAllStringFunc(in, func(tok string) string {
		days, err := strconv.ParseFloat(strings.TrimSuffix(tok, "d"), 64)
		if err != nil || days > math.MaxInt64/float64(24*time.Hour) {
			bad = fmt.Errorf("invalid duration %q: bad number of days %q", s, tok)
			return tok
		}
		return strconv.FormatFloat(days*24, 'f', -1, 64) + "h"
	})
	if bad != nil {
		return 0, bad
	}
	d, err := time.ParseDuration(expanded)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, such as 45m, 1h30m or 2d", s)
	}
	return d, nil
}

// FormatSize renders bytes with decimal units and one decimal place, as
// plan output quotes sizes: 14.2 GB, 512 B, 1.5 kB.
func FormatSize(n int64) string {
	if n > -1000 && n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	sign := ""
	if n < 0 {
		sign = "-"
	}
	v := math.Abs(float64(n))
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	for i, u := range units {
		v /= 1000
		// Move up a unit when rounding would print 1000.0.
		if v < 999.95 || i == len(units)-1 {
			return fmt.Sprintf("%s%.1f %s", sign, v, u)
		}
	}
	panic("unreachable")
}
