package planner_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const graphConfig = `
variable "variant" { default = "fp8" }
locals { tag = "img:${var.variant}" }
provider "test" { label = var.variant }
data "test_data" "host" { input = "h" }
resource "test_thing" "image" {
  name = local.tag
  args = { HOST = data.test_data.host.value }
}
resource "test_test" "imports" {
  target     = test_thing.image.id
  depends_on = [test_thing.weights]
}
resource "test_thing" "weights" { name = "w" }
check "size" {
  assert {
    condition     = test_thing.image.name != ""
    error_message = "empty"
  }
}
output "image" { value = test_thing.image.id }
`

func TestGraphRendering(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": graphConfig})
	g, diags := f.context().Graph()
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	tests := map[string]string{"graph.dot.golden": g.Dot(), "graph.mermaid.golden": g.Mermaid()}
	for name, got := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if *update {
				must(t, os.MkdirAll("testdata", 0o755))
				must(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			must(t, err)
			if got != string(want) {
				t.Errorf("%s differs (run go test -update):\n%s", name, got)
			}
		})
	}
	// Order: every node after what it depends on.
	pos := map[string]int{}
	for i, k := range g.Nodes() {
		pos[k] = i
	}
	if len(pos) != 9 {
		t.Errorf("nodes = %v", g.Nodes())
	}
	for _, k := range g.Nodes() {
		for _, d := range g.Dependencies(k) {
			if pos[d] >= pos[k] {
				t.Errorf("%s comes before its dependency %s", k, d)
			}
		}
	}
	if deps := strings.Join(g.Dependencies("test_test.imports"), ","); deps != "provider.test,test_thing.image,test_thing.weights" {
		t.Errorf("depends_on and references: %s", deps)
	}
}
