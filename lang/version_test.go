package lang

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestCheckRequiredVersion(t *testing.T) {
	tests := map[string]struct {
		constraint, version string
		want                string // "" ok, else a summary
	}{
		">= met":              {">= 0.1", "0.1.0", ""},
		">= unmet":            {">= 0.2", "0.1.0", "Unsupported sdform version"},
		"~> two parts":        {"~> 0.1", "0.9.3", ""},
		"~> two parts major":  {"~> 0.1", "1.0.0", "Unsupported sdform version"},
		"~> three parts":      {"~> 0.1.0", "0.1.7", ""},
		"~> three parts next": {"~> 0.1.0", "0.2.0", "Unsupported sdform version"},
		"~> below":            {"~> 0.1.2", "0.1.1", "Unsupported sdform version"},
		"~> one part":         {"~> 1", "1.4.0", ""},
		"exact":               {"= 0.1.0", "0.1.0", ""},
		"exact short":         {"= 0.1", "0.1.0", ""},
		"bare version":        {"0.1.0", "0.1.0", ""},
		"exact unmet":         {"= 0.1.1", "0.1.0", "Unsupported sdform version"},
		"not equal":           {"!= 0.1.0", "0.1.0", "Unsupported sdform version"},
		"less":                {"< 1.0", "0.1.0", ""},
		"less unmet":          {"< 0.1", "0.1.0", "Unsupported sdform version"},
		"le":                  {"<= 0.1.0", "0.1.0", ""},
		"gt":                  {"> 0.0.9", "0.1.0", ""},
		"range":               {">= 0.1, < 1.0", "0.1.0", ""},
		"range unmet":         {">= 0.1, < 0.1.0", "0.1.0", "Unsupported sdform version"},
		"v prefix":            {">= v0.1", "0.1.0", ""},
		"prerelease below":    {">= 0.1.0", "0.1.0-dev", "Unsupported sdform version"},
		"prerelease above":    {">= 0.0.9", "0.1.0-dev", ""},
		"garbage":             {"banana", "0.1.0", "Invalid required_version constraint"},
		"bad operator":        {"=> 0.1", "0.1.0", "Invalid required_version constraint"},
		"empty term":          {">= 0.1,", "0.1.0", "Invalid required_version constraint"},
		"four parts":          {">= 0.1.0.0", "0.1.0", "Invalid required_version constraint"},
		"empty":               {"", "0.1.0", "Invalid required_version constraint"},
	}
	rng := hcl.Range{Filename: "main.sdf.hcl", Start: hcl.Pos{Line: 2, Column: 22, Byte: 30}, End: hcl.Pos{Line: 2, Column: 30, Byte: 38}}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			diags := CheckRequiredVersion(tc.constraint, tc.version, rng)
			if tc.want == "" {
				if len(diags) > 0 {
					t.Errorf("unexpected %v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != tc.want || diags[0].Severity != hcl.DiagError {
				t.Fatalf("got %v, want one error %q", diags, tc.want)
			}
			if diags[0].Subject == nil || *diags[0].Subject != rng {
				t.Errorf("subject = %v", diags[0].Subject)
			}
			if tc.want == "Unsupported sdform version" {
				want := "This configuration requires sdform " + tc.constraint + ", but this is " + tc.version
				if !strings.Contains(diags[0].Detail, want) {
					t.Errorf("detail %q lacks %q", diags[0].Detail, want)
				}
			}
		})
	}
	if diags := CheckRequiredVersion(">= 0.1", Version, rng); len(diags) > 0 {
		t.Errorf("this build (%s) does not meet >= 0.1: %v", Version, diags)
	}
}
