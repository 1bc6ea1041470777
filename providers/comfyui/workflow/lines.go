package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// NodeLines maps each node id of a workflow file to the 1-based line where
// the node starts: the member "<id>" of an API-format file, or the object
// of a UI-format file's "nodes" list. Diagnostics point there. A file that
// does not parse gives what was read before the error.
func NodeLines(data []byte) map[string]int {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	lineAt := func(off int64) int { return bytes.Count(data[:min(off, int64(len(data)))], []byte("\n")) + 1 }
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return map[string]int{}
	}
	api := map[string]int{}
	for d.More() {
		// The offset after a key token is its end; a key starts on
		// the line of its closing quote for any sane file.
		t, err := d.Token()
		if err != nil {
			return api
		}
		key, _ := t.(string)
		if key == "nodes" {
			if nodes, ok := uiNodeLines(d, lineAt); ok {
				return nodes
			}
			return api
		}
		api[key] = lineAt(d.InputOffset())
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return api
		}
	}
	return api
}

// uiNodeLines reads the value of "nodes": when it is a list, the line of
// each element object and its "id".
func uiNodeLines(d *json.Decoder, lineAt func(int64) int) (map[string]int, bool) {
	lines := map[string]int{}
	t, err := d.Token()
	if err != nil || t != json.Delim('[') {
		return nil, false
	}
	for d.More() {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return lines, true
		}
		var n struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(raw, &n) == nil && n.ID != nil {
			// The element ends at the offset; it starts len(raw) before.
			lines[fmt.Sprint(n.ID)] = lineAt(d.InputOffset() - int64(len(raw)))
		}
	}
	return lines, true
}
