package workflow

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Graph is a UI-format workflow: what the ComfyUI frontend saves.
type Graph struct {
	Nodes []*UINode
	Links map[int]*UILink
	// Subgraphs are the ids of subgraph definitions; a node whose type is
	// one of them is a subgraph instance.
	Subgraphs map[string]bool
}

// UINode is one node of a UI-format workflow.
type UINode struct {
	ID      string
	Type    string
	Mode    int // 0 always, 2 never (muted), 4 bypassed
	Title   string
	Inputs  []UIInput
	Outputs []UIOutput
	// Widgets is widgets_values: a list (most nodes) or an object keyed
	// by widget name (VideoHelperSuite).
	Widgets    json.RawMessage
	Properties map[string]any
}

// UIInput is an input slot; Widget is set for inputs that are (or were)
// widgets.
type UIInput struct {
	Name   string
	Type   string
	Link   *int
	Widget string
}

// UIOutput is an output slot.
type UIOutput struct {
	Name   string
	Type   string
	Links  []int
	Widget string
}

// UILink connects an output slot to an input slot.
type UILink struct {
	ID       int
	From     string
	FromSlot int
	To       string
	ToSlot   int
	Type     string
}

// Node modes of the frontend (LGraphEventMode).
const (
	ModeAlways = 0
	ModeNever  = 2
	ModeBypass = 4
)

func parseGraph(data []byte) (*Graph, error) {
	var raw struct {
		Nodes       []json.RawMessage `json:"nodes"`
		Links       []json.RawMessage `json:"links"`
		Definitions struct {
			Subgraphs []struct {
				ID string `json:"id"`
			} `json:"subgraphs"`
		} `json:"definitions"`
	}
	if err := decodeNumbers(data, &raw); err != nil {
		return nil, parseError(data, fmt.Errorf("UI format: %w", err))
	}
	g := &Graph{Links: map[int]*UILink{}, Subgraphs: map[string]bool{}}
	for _, s := range raw.Definitions.Subgraphs {
		g.Subgraphs[s.ID] = true
	}
	for i, rn := range raw.Nodes {
		var n struct {
			ID     any    `json:"id"`
			Type   string `json:"type"`
			Mode   int    `json:"mode"`
			Title  string `json:"title"`
			Inputs []struct {
				Name   string `json:"name"`
				Type   any    `json:"type"`
				Link   *int   `json:"link"`
				Widget *struct {
					Name string `json:"name"`
				} `json:"widget"`
			} `json:"inputs"`
			Outputs []struct {
				Name   string `json:"name"`
				Type   any    `json:"type"`
				Links  []int  `json:"links"`
				Widget *struct {
					Name string `json:"name"`
				} `json:"widget"`
			} `json:"outputs"`
			Widgets    json.RawMessage `json:"widgets_values"`
			Properties map[string]any  `json:"properties"`
		}
		if err := decodeNumbers(rn, &n); err != nil {
			return nil, fmt.Errorf("parse UI workflow: node %d: %w", i, err)
		}
		un := &UINode{ID: idString(n.ID), Type: n.Type, Mode: n.Mode, Title: n.Title, Widgets: n.Widgets, Properties: n.Properties}
		if un.ID == "" {
			return nil, fmt.Errorf("parse UI workflow: node %d has no id", i)
		}
		for _, in := range n.Inputs {
			ui := UIInput{Name: in.Name, Type: typeString(in.Type), Link: in.Link}
			if in.Widget != nil {
				ui.Widget = in.Widget.Name
			}
			un.Inputs = append(un.Inputs, ui)
		}
		for _, out := range n.Outputs {
			uo := UIOutput{Name: out.Name, Type: typeString(out.Type), Links: out.Links}
			if out.Widget != nil {
				uo.Widget = out.Widget.Name
			}
			un.Outputs = append(un.Outputs, uo)
		}
		g.Nodes = append(g.Nodes, un)
	}
	for i, rl := range raw.Links {
		l, err := parseLink(rl)
		if err != nil {
			return nil, fmt.Errorf("parse UI workflow: link %d: %w", i, err)
		}
		if l != nil {
			g.Links[l.ID] = l
		}
	}
	return g, nil
}

// parseLink reads a link in the list form [id, from, from_slot, to,
// to_slot, type] (schema 0.4) or the object form (schema 1).
func parseLink(data json.RawMessage) (*UILink, error) {
	var list []any
	if err := decodeNumbers(data, &list); err == nil {
		if len(list) == 0 {
			return nil, nil
		}
		if len(list) < 5 {
			return nil, fmt.Errorf("a link list needs 5 or 6 members, this one has %d", len(list))
		}
		l := &UILink{ID: intOf(list[0]), From: idString(list[1]), FromSlot: intOf(list[2]), To: idString(list[3]), ToSlot: intOf(list[4])}
		if len(list) > 5 {
			l.Type = typeString(list[5])
		}
		return l, nil
	}
	var obj struct {
		ID         any `json:"id"`
		OriginID   any `json:"origin_id"`
		OriginSlot any `json:"origin_slot"`
		TargetID   any `json:"target_id"`
		TargetSlot any `json:"target_slot"`
		Type       any `json:"type"`
	}
	if err := decodeNumbers(data, &obj); err != nil {
		return nil, err
	}
	return &UILink{ID: intOf(obj.ID), From: idString(obj.OriginID), FromSlot: intOf(obj.OriginSlot),
		To: idString(obj.TargetID), ToSlot: intOf(obj.TargetSlot), Type: typeString(obj.Type)}, nil
}

func idString(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return ""
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return -1
}

func typeString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		return "COMBO"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Frontend-only node types: they never reach the server.
const (
	typeNote         = "Note"
	typeMarkdownNote = "MarkdownNote"
	typePrimitive    = "PrimitiveNode"
	typeReroute      = "Reroute"
	typeSetNode      = "SetNode" // KJNodes
	typeGetNode      = "GetNode" // KJNodes
)

func isVirtual(t string) bool {
	switch t {
	case typeNote, typeMarkdownNote, typePrimitive, typeReroute, typeSetNode, typeGetNode:
		return true
	}
	return false
}

// converter holds one conversion's lookups.
type converter struct {
	g     *Graph
	info  Info
	nodes map[string]*UINode
	sets  map[string]*UINode // SetNode by variable name
	probs []Problem
}

// Convert turns a UI-format workflow into the API format, as the
// frontend's graphToPrompt does: widgets_values are mapped onto the
// inputs that are widgets (using info for the input order, or the node's
// own widget inputs when the workflow lists them all), links become
// [node id, slot], muted nodes are dropped, bypassed nodes pass a matching
// input through, and frontend-only nodes (Note, MarkdownNote,
// PrimitiveNode, Reroute, SetNode/GetNode) are resolved away. Nodes whose
// class info lacks are kept, with what could be mapped, for Validate to
// report.
func Convert(g *Graph, info Info) (Prompt, []Problem) {
	c := &converter{g: g, info: info, nodes: map[string]*UINode{}, sets: map[string]*UINode{}}
	for _, n := range g.Nodes {
		c.nodes[n.ID] = n
		if n.Type == typeSetNode && n.Mode != ModeNever {
			if name := c.firstWidget(n); name != "" {
				c.sets[name] = n
			}
		}
	}
	p := Prompt{}
	for _, n := range g.Nodes {
		if isVirtual(n.Type) || n.Mode == ModeNever || n.Mode == ModeBypass {
			continue
		}
		if g.Subgraphs[n.Type] {
			c.probs = append(c.probs, Problem{Node: n.ID, Title: n.Title, Summary: "Subgraph not supported",
				Detail: fmt.Sprintf("Node %s is an instance of a subgraph; sdform converts flat UI workflows only. Export the workflow in API format (Workflow → Export (API)) and use that file.", n.ID)})
			continue
		}
		p[n.ID] = c.convertNode(n)
	}
	return p, c.probs
}

func (c *converter) firstWidget(n *UINode) string {
	var list []any
	if decodeNumbers(n.Widgets, &list) == nil && len(list) > 0 {
		if s, ok := list[0].(string); ok {
			return s
		}
	}
	return ""
}

func (c *converter) convertNode(n *UINode) *Node {
	out := &Node{ClassType: n.Type, Inputs: map[string]any{}, Meta: &NodeMeta{Title: n.Title, Pack: packHint(n)}}
	ni := c.info[n.Type]
	if out.Meta.Title == "" && ni != nil && ni.DisplayName != "" {
		out.Meta.Title = ni.DisplayName
	}
	if out.Meta.Title == "" {
		out.Meta.Title = n.Type
	}
	c.mapWidgets(n, ni, out.Inputs)
	for _, in := range n.Inputs {
		if in.Link == nil {
			continue
		}
		v, ok := c.resolve(*in.Link, in.Type, 0)
		if ok {
			out.Inputs[in.Name] = v
		}
	}
	return out
}

// packHint is the custom node pack a UI node records it comes from.
func packHint(n *UINode) string {
	for _, k := range []string{"cnr_id", "aux_id"} {
		if s, ok := n.Properties[k].(string); ok && s != "" && s != "comfy-core" {
			return s
		}
	}
	return ""
}

// widgetSlots lists, for each position of a list-form widgets_values, the
// input it belongs to ("" for positions that are not inputs: the
// control_after_generate value after a seed, an upload button).
func (c *converter) widgetSlots(n *UINode, ni *NodeInfo) []string {
	saved := map[string]bool{}
	var savedOrder []string
	for _, in := range n.Inputs {
		if in.Widget != "" {
			saved[in.Widget] = true
			savedOrder = append(savedOrder, in.Widget)
		}
	}
	// Recent frontends list every widget among the inputs, in widget
	// order; trust that order when it covers every widget the server
	// knows, since it is what widgets_values was saved from.
	covers := len(savedOrder) > 0
	if ni != nil {
		for _, s := range ni.Inputs {
			if s.IsWidget() && !saved[s.Name] {
				covers = false
			}
		}
	}
	var slots []string
	if covers {
		for _, name := range savedOrder {
			slots = append(slots, name)
			var spec *InputSpec
			if ni != nil {
				spec = ni.Input(name)
			}
			if spec == nil {
				for _, in := range n.Inputs {
					if in.Widget == name {
						spec = &InputSpec{Name: name, Type: in.Type}
					}
				}
			}
			if spec != nil && spec.HasControl() {
				slots = append(slots, "")
			}
		}
		return slots
	}
	if ni == nil {
		return nil
	}
	for _, s := range ni.Inputs {
		if !s.IsWidget() {
			continue
		}
		slots = append(slots, s.Name)
		if s.HasControl() {
			slots = append(slots, "")
		}
		if s.Upload {
			slots = append(slots, "")
		}
	}
	return slots
}

func (c *converter) mapWidgets(n *UINode, ni *NodeInfo, inputs map[string]any) {
	if len(n.Widgets) == 0 || string(n.Widgets) == "null" {
		return
	}
	known := func(name string) bool {
		if ni != nil {
			return ni.Input(name) != nil
		}
		// Unknown class: keep what the node says are its widget inputs.
		for _, in := range n.Inputs {
			if in.Widget == name && in.Type != "IMAGEUPLOAD" {
				return true
			}
		}
		return false
	}
	var dict map[string]any
	if decodeNumbers(n.Widgets, &dict) == nil {
		for name, v := range dict {
			if v != nil && known(name) {
				inputs[name] = v
			}
		}
		return
	}
	var list []any
	if decodeNumbers(n.Widgets, &list) != nil {
		c.probs = append(c.probs, Problem{Node: n.ID, Class: n.Type, Title: n.Title, Summary: "Unreadable widget values",
			Detail: fmt.Sprintf("Node %s (%s) has widgets_values that are neither a list nor an object.", n.ID, n.Type)})
		return
	}
	for i, name := range c.widgetSlots(n, ni) {
		if i >= len(list) {
			break
		}
		if name == "" || list[i] == nil || !known(name) {
			continue
		}
		inputs[name] = list[i]
	}
}

// resolve follows a link back to the node that produces its value:
// through Reroutes, SetNode/GetNode pairs and bypassed nodes. A
// PrimitiveNode gives its value as a literal. ok is false when nothing
// real feeds the input (a muted source, a dangling link).
func (c *converter) resolve(linkID int, inputType string, depth int) (any, bool) {
	if depth > len(c.g.Nodes)+1 {
		return nil, false
	}
	l := c.g.Links[linkID]
	if l == nil {
		return nil, false
	}
	src := c.nodes[l.From]
	if src == nil {
		return nil, false
	}
	if src.Mode == ModeNever {
		return nil, false
	}
	switch src.Type {
	case typeReroute, typeSetNode:
		return c.follow(src, 0, inputType, depth)
	case typePrimitive:
		var list []any
		if decodeNumbers(src.Widgets, &list) == nil && len(list) > 0 {
			return list[0], true
		}
		return nil, false
	case typeGetNode:
		name := c.firstWidget(src)
		set := c.sets[name]
		if set == nil {
			c.probs = append(c.probs, Problem{Node: src.ID, Title: src.Title, Summary: "GetNode without SetNode",
				Detail: fmt.Sprintf("GetNode %s reads the variable %q, which no active SetNode in the workflow sets.", src.ID, name)})
			return nil, false
		}
		return c.follow(set, 0, inputType, depth)
	case typeNote, typeMarkdownNote:
		return nil, false
	}
	if src.Mode == ModeBypass {
		// The frontend passes through the input in the same slot if its
		// type matches, else the first input of the wanted type.
		order := []int{l.FromSlot}
		for i := range src.Inputs {
			order = append(order, i)
		}
		for _, i := range order {
			if i >= 0 && i < len(src.Inputs) && typesOverlap(src.Inputs[i].Type, inputType) {
				return c.follow(src, i, inputType, depth)
			}
		}
		return nil, false
	}
	return newLink(src.ID, l.FromSlot), true
}

func (c *converter) follow(n *UINode, slot int, inputType string, depth int) (any, bool) {
	if slot >= len(n.Inputs) || n.Inputs[slot].Link == nil {
		return nil, false
	}
	return c.resolve(*n.Inputs[slot].Link, inputType, depth+1)
}

// typesOverlap is ComfyUI's non-strict type check: equal, "*" on either
// side, or overlapping comma-separated unions.
func typesOverlap(a, b string) bool {
	if a == b || a == "*" || b == "*" || a == "" || b == "" {
		return true
	}
	for _, x := range strings.Split(a, ",") {
		for _, y := range strings.Split(b, ",") {
			if strings.TrimSpace(x) == strings.TrimSpace(y) {
				return true
			}
		}
	}
	return false
}
