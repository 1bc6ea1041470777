package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prompt is an API-format workflow: node id → node. It is what POST /prompt
// takes.
type Prompt map[string]*Node

// Node is one node of an API-format workflow. Inputs hold literals
// (string, json.Number, bool, …) or links ([]any{"<node id>", slot}).
type Node struct {
	ClassType string         `json:"class_type"`
	Inputs    map[string]any `json:"inputs"`
	Meta      *NodeMeta      `json:"_meta,omitempty"`
}

// NodeMeta is what the frontend sends beside a node; the server ignores it.
type NodeMeta struct {
	Title string `json:"title,omitempty"`
	// Pack is the custom node pack the UI workflow says the node comes
	// from (its cnr_id or aux_id); not sent.
	Pack string `json:"-"`
}

// Title returns the node's title, or its class.
func (n *Node) Title() string {
	if n.Meta != nil && n.Meta.Title != "" {
		return n.Meta.Title
	}
	return n.ClassType
}

// IDs returns the node ids in numeric order (then lexical), so messages
// list nodes in a stable order.
func (p Prompt) IDs() []string {
	ids := make([]string, 0, len(p))
	for id := range p {
		ids = append(ids, id)
	}
	sortIDs(ids)
	return ids
}

func sortIDs(ids []string) { sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) }) }

// lessID orders numeric ids numerically, before any other ids.
func lessID(x, y string) bool {
	a, errA := strconv.Atoi(x)
	b, errB := strconv.Atoi(y)
	if errA == nil && errB == nil {
		return a < b
	}
	if (errA == nil) != (errB == nil) {
		return errA == nil
	}
	return x < y
}

// Link returns the source of a linked input value.
func Link(v any) (node string, slot int, ok bool) {
	l, isList := v.([]any)
	if !isList || len(l) != 2 {
		return "", 0, false
	}
	switch id := l[0].(type) {
	case string:
		node = id
	case json.Number:
		node = id.String()
	default:
		return "", 0, false
	}
	var f float64
	switch s := l[1].(type) {
	case json.Number:
		var err error
		if f, err = s.Float64(); err != nil {
			return "", 0, false
		}
	case float64:
		f = s
	case int:
		f = float64(s)
	default:
		return "", 0, false
	}
	if f != float64(int(f)) || f < 0 {
		return "", 0, false
	}
	return node, int(f), true
}

func newLink(node string, slot int) []any { return []any{node, json.Number(strconv.Itoa(slot))} }

// ParseError is a workflow file that Parse cannot read, with where the
// problem is when it can tell: Line and Column count from 1 (Column in
// characters), and are 0 when unknown.
type ParseError struct {
	Line, Column int
	Err          error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("parse workflow: line %d, column %d: %v", e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("parse workflow: line %d: %v", e.Line, e.Err)
	}
	return "parse workflow: " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// parseError places an error of encoding/json about data. Its syntax and
// type errors carry the offset of the byte after the one it could not
// take; a file cut short stops at its end.
func parseError(data []byte, err error) *ParseError {
	var at int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(data)):
		at = int64(len(data))
	case errors.As(err, &syn):
		at = syn.Offset - 1
	case errors.As(err, &typ):
		at = typ.Offset - 1
	default:
		return &ParseError{Err: err}
	}
	line, col := position(data, int(min(max(at, 0), int64(len(data)))))
	return &ParseError{Line: line, Column: col, Err: err}
}

// position gives the line and column of data[at], both from 1, the column
// in characters.
func position(data []byte, at int) (line, column int) {
	start := bytes.LastIndexByte(data[:at], '\n') + 1
	return bytes.Count(data[:at], []byte("\n")) + 1, utf8.RuneCount(data[start:at]) + 1
}

// Parse reads a workflow file in either format: it returns the prompt of an
// API-format file, or the graph of a UI-format one (to Convert). A file it
// cannot read gives a *ParseError.
func Parse(data []byte) (Prompt, *Graph, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, parseError(data, err)
	}
	if nodes, ok := top["nodes"]; ok && bytes.HasPrefix(bytes.TrimSpace(nodes), []byte("[")) {
		g, err := parseGraph(data)
		if err != nil {
			return nil, nil, err
		}
		return nil, g, nil
	}
	if len(top) == 0 {
		return nil, nil, &ParseError{Line: 1, Err: errors.New("the file holds an empty object, not a workflow")}
	}
	p := Prompt{}
	var lines map[string]int
	for id, raw := range top {
		var n Node
		if err := decodeNumbers(raw, &n); err != nil || n.ClassType == "" {
			if lines == nil {
				lines = NodeLines(data)
			}
			return nil, nil, &ParseError{Line: lines[id], Err: fmt.Errorf("member %q is not an API-format node (an object with class_type and inputs), and the file has no \"nodes\" list of a UI-format workflow", id)}
		}
		if n.Inputs == nil {
			n.Inputs = map[string]any{}
		}
		p[id] = &n
	}
	return p, nil, nil
}

// Clone returns a deep copy of the prompt's structure (input values are
// shared; they are never mutated).
func (p Prompt) Clone() Prompt {
	out := make(Prompt, len(p))
	for id, n := range p {
		c := *n
		c.Inputs = make(map[string]any, len(n.Inputs))
		for k, v := range n.Inputs {
			c.Inputs[k] = v
		}
		if n.Meta != nil {
			m := *n.Meta
			c.Meta = &m
		}
		out[id] = &c
	}
	return out
}

// Override is one "NODE.input" = value setting.
type Override struct {
	Key   string // as written: "22.model"
	Value string // as written in the config (HCL turns numbers and bools into strings in a map(string))
}

// ApplyOverrides sets literal inputs. A value is converted to the input's
// type from info (INT/FLOAT → number, BOOLEAN → bool, else string); an
// override naming a node or input that does not exist is a problem, so a
// typo never silently leaves the workflow unchanged, and so is one of an
// input linked to another node's output, which a literal cannot stand for
// (the server would pass the string to a node that expects an image or a
// model). With a nil info only the workflow itself is checked.
func ApplyOverrides(p Prompt, info Info, overrides []Override) []Problem {
	var probs []Problem
	for _, o := range overrides {
		id, input, ok := strings.Cut(o.Key, ".")
		if !ok || id == "" || input == "" {
			probs = append(probs, Problem{Summary: "Invalid input override", Input: o.Key,
				Detail: fmt.Sprintf("The override key %q must be NODE.input, the node's id in the workflow and the input's name, such as \"22.model\".", o.Key)})
			continue
		}
		n, ok := p[id]
		if !ok {
			probs = append(probs, Problem{Summary: "No such node", Node: id, Input: input,
				Detail: fmt.Sprintf("The override %q names node %s, which the workflow does not have; its nodes are %s.", o.Key, id, strings.Join(p.IDs(), ", "))})
			continue
		}
		if src, slot, linked := Link(n.Inputs[input]); linked {
			from := "node " + src
			if sn, ok := p[src]; ok {
				from += " (" + sn.ClassType + ")"
			}
			probs = append(probs, Problem{Summary: "Override of a linked input", Node: id, Class: n.ClassType, Title: n.Title(), Input: input,
				Detail: fmt.Sprintf("The override %q would replace input %s of node %s (%s), which is linked to output %d of %s. Overrides set literal inputs only: "+
					"override an input of %s instead, or change the link in the workflow.", o.Key, input, id, n.ClassType, slot, from, from)})
			continue
		}
		var spec *InputSpec
		if ni := info[n.ClassType]; ni != nil {
			spec = ni.Input(input)
			if spec == nil {
				if _, has := n.Inputs[input]; !has {
					probs = append(probs, Problem{Summary: "No such input", Node: id, Class: n.ClassType, Title: n.Title(), Input: input,
						Detail: fmt.Sprintf("The override %q names input %q, which node %s (%s) does not have; its inputs are %s.", o.Key, input, id, n.ClassType, strings.Join(ni.InputNames(), ", "))})
					continue
				}
			}
		}
		v, err := coerce(spec, o.Value)
		if err != nil {
			probs = append(probs, Problem{Summary: "Invalid input override", Node: id, Class: n.ClassType, Title: n.Title(), Input: input,
				Detail: fmt.Sprintf("The override %q = %q: %v.", o.Key, o.Value, err)})
			continue
		}
		n.Inputs[input] = v
	}
	return probs
}

// jsonNumber matches a number as JSON writes it (and as HCL writes a number
// into a string): no leading + or 0, no hex, NaN or infinity. A number
// override is kept as written (a json.Number), so it must be one, or the
// prompt would pass plan and fail to encode at submit.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// coerce turns a config string into the JSON value the input takes.
func coerce(spec *InputSpec, s string) (any, error) {
	if spec == nil {
		// Unknown type (a node the server lacks): keep numbers and bools.
		if s == "true" || s == "false" {
			return s == "true", nil
		}
		if jsonNumber.MatchString(s) {
			return json.Number(s), nil
		}
		return s, nil
	}
	switch spec.Type {
	case "INT":
		if _, err := strconv.ParseInt(s, 10, 64); err != nil || !jsonNumber.MatchString(s) {
			return nil, fmt.Errorf("input %s is an INT and %q is not a whole number written in plain digits (an optional -, no leading + or 0)", spec.Name, s)
		}
		return json.Number(s), nil
	case "FLOAT":
		if _, err := strconv.ParseFloat(s, 64); err != nil || !jsonNumber.MatchString(s) {
			return nil, fmt.Errorf("input %s is a FLOAT and %q is not a finite number as JSON writes it (no NaN, infinity, hex, or leading + or 0)", spec.Name, s)
		}
		return json.Number(s), nil
	case "BOOLEAN":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("input %s is a BOOLEAN and %q is neither true nor false", spec.Name, s)
		}
		return b, nil
	case "COMBO":
		// A combo of numbers takes the number.
		for _, o := range spec.Options {
			if n, ok := o.(json.Number); ok && n.String() == s {
				return n, nil
			}
		}
	}
	return s, nil
}

// MarshalJSON writes the prompt with node ids in order, so that the same
// workflow always gives the same bytes (and the same fingerprint).
func (p Prompt) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, id := range p.IDs() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(id)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p[id])
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
