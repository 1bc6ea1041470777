package workflow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestParseErrorPosition: a workflow file that is not JSON, or whose member
// is not a node, says where.
func TestParseErrorPosition(t *testing.T) {
	for name, c := range map[string]struct {
		data         string
		line, column int
		msg          string
	}{
		"trailing comma": {"{\n  \"1\": {\"class_type\": \"EmptyImage\", \"inputs\": {\"width\": 64, \"height\": 48,}},\n  \"2\": {}\n}\n",
			2, 74, "parse workflow: line 2, column 74: invalid character '}' looking for beginning of object key string"},
		"column in characters": {"{\"é\": 1,\n \"ü\": x}", 2, 7, "parse workflow: line 2, column 7: invalid character 'x' looking for beginning of value"},
		"cut short":            {"{\n \"1\": {\"class_type\": \"A\"", 2, 25, "parse workflow: line 2, column 25: unexpected end of JSON input"},
		"not an object":        {"\n[1, 2]", 2, 1, "parse workflow: line 2, column 1: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		"member not a node": {"{\n \"1\": {\"class_type\": \"A\", \"inputs\": {}},\n \"2\": 7\n}",
			3, 0, `parse workflow: line 3: member "2" is not an API-format node`},
		"UI links not a list": {"{\"nodes\": [],\n \"links\": \"x\"}", 2, 13, "parse workflow: line 2, column 13: UI format: json: cannot unmarshal string into Go struct field"},
	} {
		_, _, err := Parse([]byte(c.data))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || pe.Column != c.column || !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("%s: %v (%+v), want line %d column %d %q", name, err, pe, c.line, c.column, c.msg)
		}
	}
}
