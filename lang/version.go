package lang

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Version is sdform's version. It lives here so that every package (state,
// CLI, plan files) can read it without importing the CLI.
const Version = "0.1.0"

// semver is a parsed version: up to three numbers, and how many were
// written (for ~>), plus an optional pre-release tag.
type semver struct {
	parts [3]uint64
	n     int
	pre   string
}

func parseSemver(s string) (semver, error) {
	var v semver
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	core, pre, _ := strings.Cut(s, "-")
	v.pre = pre
	fields := strings.Split(core, ".")
	if core == "" || len(fields) > 3 {
		return v, fmt.Errorf("%q is not a version such as 0.1 or 1.2.3", s)
	}
	for i, f := range fields {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return v, fmt.Errorf("%q is not a version such as 0.1 or 1.2.3", s)
		}
		v.parts[i] = n
	}
	v.n = len(fields)
	return v, nil
}

// compare orders versions; a pre-release sorts before its release.
func (a semver) compare(b semver) int {
	for i := range a.parts {
		switch {
		case a.parts[i] < b.parts[i]:
			return -1
		case a.parts[i] > b.parts[i]:
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	case a.pre < b.pre:
		return -1
	}
	return 1
}

// versionTerm is one "op version" of a constraint.
type versionTerm struct {
	op string
	v  semver
}

func (t versionTerm) allows(v semver) bool {
	c := v.compare(t.v)
	switch t.op {
	case "=", "":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case "~>":
		// Pessimistic: ~> 0.1 allows 0.x from 0.1; ~> 0.1.2 allows 0.1.x
		// from 0.1.2; ~> 1 allows 1.x.
		if c < 0 {
			return false
		}
		fixed := t.v.n - 1
		if fixed < 1 {
			fixed = 1
		}
		for i := 0; i < fixed; i++ {
			if v.parts[i] != t.v.parts[i] {
				return false
			}
		}
		return true
	}
	return false
}

var versionOps = []string{">=", "<=", "~>", "!=", ">", "<", "="}

func parseConstraint(s string) ([]versionTerm, error) {
	var terms []versionTerm
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		var t versionTerm
		for _, op := range versionOps {
			if strings.HasPrefix(raw, op) {
				t.op = op
				raw = strings.TrimSpace(raw[len(op):])
				break
			}
		}
		v, err := parseSemver(raw)
		if err != nil {
			return nil, err
		}
		t.v = v
		terms = append(terms, t)
	}
	return terms, nil
}

// CheckRequiredVersion checks version against a constraint such as
// ">= 0.1", "~> 0.1", "= 0.1.0", "< 1.0" or several joined by commas (all
// must hold). rng is where the constraint was written.
func CheckRequiredVersion(constraint, version string, rng hcl.Range) hcl.Diagnostics {
	terms, err := parseConstraint(constraint)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid required_version constraint",
			Detail: fmt.Sprintf("The constraint %q cannot be read: %s. Write one or more comma-separated terms like \">= 0.1\", \"~> 0.1\" or \"< 1.0\".",
				constraint, err),
			Subject: rng.Ptr(),
		}}
	}
	v, err := parseSemver(version)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid sdform version",
			Detail:   fmt.Sprintf("This build of sdform reports version %q, which cannot be compared: %s.", version, err),
			Subject:  rng.Ptr(),
		}}
	}
	for _, t := range terms {
		if !t.allows(v) {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unsupported sdform version",
				Detail: fmt.Sprintf("This configuration requires sdform %s, but this is %s. Use a release of sdform that meets the constraint, or change required_version.",
					constraint, version),
				Subject: rng.Ptr(),
			}}
		}
	}
	return nil
}
