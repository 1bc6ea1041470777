package gpu

import (
	"fmt"
	"strconv"
	"strings"
)

// version is a dotted numeric version ("12.4", "9.0", "12.4.1"), compared
// component by component as numbers, so "12.10" is newer than "12.9".
type version []int

// parseVersion reads a dotted numeric version of one to four components.
func parseVersion(s string) (version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) > 4 {
		return nil, fmt.Errorf("%q has more than four components", s)
	}
	v := make(version, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return nil, fmt.Errorf("%q is not a version like \"12.4\"", s)
		}
		v[i], _ = strconv.Atoi(p)
	}
	return v, nil
}

// compare returns -1, 0 or 1 as v is older than, equal to or newer than w.
// Missing components count as zero: "12" equals "12.0".
func (v version) compare(w version) int {
	for i := 0; i < max(len(v), len(w)); i++ {
		a, b := 0, 0
		if i < len(v) {
			a = v[i]
		}
		if i < len(w) {
			b = w[i]
		}
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	}
	return 0
}

// majorMinor drops components past the second. The driver's CUDA support is
// reported as major.minor, and a patch release never needs a newer driver.
func (v version) majorMinor() version {
	if len(v) > 2 {
		return v[:2]
	}
	return v
}

// cudaVersionString formats NVML's CUDA driver version integer
// (1000*major + 10*minor) the way nvidia-smi does: 13000 → "13.0".
func cudaVersionString(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}
