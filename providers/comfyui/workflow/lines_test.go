package workflow

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNodeLines(t *testing.T) {
	for name, c := range map[string]struct {
		data string
		want map[string]int
	}{
		"api": {"{\n \"1\": {\"class_type\": \"A\", \"inputs\": {}},\n\n \"12\": {\n  \"class_type\": \"B\",\n  \"inputs\": {}\n }\n}\n",
			map[string]int{"1": 2, "12": 4}},
		"ui": {"{\"last_node_id\": 3,\n \"nodes\": [\n  {\"id\": 3, \"type\": \"A\"},\n  {\n   \"type\": \"B\",\n   \"id\": 7\n  }\n ],\n \"links\": []}",
			map[string]int{"3": 3, "7": 4}},
		"broken":   {"{\n \"1\": {\"class_type\": \"A\"},\n \"2\": {", map[string]int{"1": 2, "2": 3}},
		"not json": {"hello", map[string]int{}},
	} {
		got := NodeLines([]byte(c.data))
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
			continue
		}
		for id, l := range c.want {
			if got[id] != l {
				t.Errorf("%s: node %s at line %d, want %d", name, id, got[id], l)
			}
		}
	}
	// The SteadyDancer example (one line): every node of the file is found.
	b, err := os.ReadFile(filepath.Join("testdata", "steadydancer-ui.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	lines := NodeLines(b)
	if len(lines) != len(g.Nodes) {
		t.Errorf("%d nodes found, the file has %d", len(lines), len(g.Nodes))
	}
	for _, n := range g.Nodes {
		if lines[n.ID] != 1 {
			t.Errorf("node %s: line %d", n.ID, lines[n.ID])
		}
	}
}
