package planner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// externalData is the test provider whose test_data reads its value from
// a file, as gpu_host reads NVML facts: something outside the config.
type externalData struct {
	*testprovider.Provider
	path string
}

func (p externalData) ReadData(ctx context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	resp := p.Provider.ReadData(ctx, req)
	b, _ := os.ReadFile(p.path)
	m := resp.State.AsValueMap()
	m["value"] = cty.StringVal(string(b))
	resp.State = cty.ObjectVal(m)
	return resp
}

// A data source read at plan time reads another value at apply: the saved
// plan showed a value for test_thing.a that apply would not write, so it is
// stale.
func TestStaleDataSource(t *testing.T) {
	f := newFixture(t, map[string]string{"fact.txt": "v1", "main.sdf.hcl": `
data "test_data" "d" {
  input = "x"
}
resource "test_thing" "a" {
  name = data.test_data.d.value
}
`})
	ctxFor := func() *planner.Context {
		return f.contextWith(externalData{Provider: f.prov, path: filepath.Join(f.dir, "fact.txt")}, lang.VarInputs{})
	}
	p, diags := ctxFor().Plan(context.Background(), f.state(), defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	t.Logf("planned name %#v", change(t, p, "test_thing.a").After.GetAttr("name"))
	f.write("fact.txt", "v2")
	res, diags := ctxFor().Apply(context.Background(), p, f.state(), f.persist, planner.Hooks{})
	if hasDiag(diags, hcl.DiagError, "stale") {
		return
	}
	if diags.HasErrors() || len(res.Failed) > 0 {
		t.Fatalf("apply: %s %v", diagString(diags), res.Errors)
	}
	got := f.state().Resource("test_thing.a").Value.GetAttr("name").AsString()
	t.Errorf("saved plan showed name = \"v1\"; apply was not refused as stale and recorded name = %q", got)
}
