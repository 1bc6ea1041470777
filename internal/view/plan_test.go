package view

import (
	"strings"
	"testing"

	"github.com/sdform/sdform/planner/plan"
)

// A check left unevaluated by a failed apply says why, not that it "will
// be evaluated after apply".
func TestChecksNotEvaluated(t *testing.T) {
	var b strings.Builder
	err := Checks(&b, []*plan.CheckResult{
		{Address: "check.size", Status: plan.CheckUnknown, Messages: []string{"not evaluated: depends on docker_image.app, which failed"}},
		{Address: "check.later", Status: plan.CheckUnknown},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"check.size: not evaluated: depends on docker_image.app, which failed\n", "check.later: will be evaluated after apply\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
