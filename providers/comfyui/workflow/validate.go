package workflow

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Problem is something wrong with a workflow, found before it is submitted
// (or told by the server's 400 answer), about one node and input when they
// are known.
type Problem struct {
	Node    string
	Class   string
	Title   string
	Input   string
	Summary string
	Detail  string
	// Pack is the custom node pack that provides a missing class, when it
	// can be told.
	Pack string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Node != "" {
		b.WriteString("node " + p.Node)
		if p.Class != "" {
			b.WriteString(" (" + p.Class)
			if p.Title != "" && p.Title != p.Class {
				b.WriteString(" \"" + p.Title + "\"")
			}
			b.WriteString(")")
		}
		if p.Input != "" {
			b.WriteString(" input " + p.Input)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Summary)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	return b.String()
}

// Validate checks a prompt against the server's classes before it is
// submitted: every class exists (a missing one names the custom node pack
// it likely comes from), required inputs are set, links point at existing
// nodes and outputs of a matching type, and literal values have the input's
// type, lie within min/max and, for combos (model files among them), are in
// the server's list.
func Validate(p Prompt, info Info) []Problem {
	var probs []Problem
	for _, id := range p.IDs() {
		n := p[id]
		ni := info[n.ClassType]
		base := Problem{Node: id, Class: n.ClassType, Title: n.Title()}
		if ni == nil {
			pr := base
			pr.Pack = PackFor(n.ClassType, packOf(n))
			pr.Summary = "Node class not on the server"
			pr.Detail = fmt.Sprintf("Node %s uses class %s, which the server's /object_info does not list.", id, n.ClassType)
			if pr.Pack != "" {
				pr.Detail += fmt.Sprintf(" It comes from the custom node pack %s: install it in the image (or check that it imported without errors in the server's log).", pr.Pack)
			} else {
				pr.Detail += " It is probably from a custom node pack that is not installed, or that failed to import (see the server's log)."
			}
			probs = append(probs, pr)
			continue
		}
		for i := range ni.Inputs {
			spec := &ni.Inputs[i]
			v, has := n.Inputs[spec.Name]
			pr := base
			pr.Input = spec.Name
			if !has || v == nil {
				if spec.Required {
					pr.Summary = "Required input missing"
					pr.Detail = fmt.Sprintf("Node %s (%s) needs input %s (%s), which is neither set nor linked.", id, n.ClassType, spec.Name, spec.Type)
					probs = append(probs, pr)
				}
				continue
			}
			if src, slot, ok := Link(v); ok {
				if msg := checkLink(p, info, spec, src, slot); msg != "" {
					pr.Summary, pr.Detail = "Bad link", msg
					probs = append(probs, pr)
				}
				continue
			}
			if sum, msg := checkLiteral(spec, v); msg != "" {
				pr.Summary, pr.Detail = sum, fmt.Sprintf("Node %s (%s) input %s: %s", id, n.ClassType, spec.Name, msg)
				probs = append(probs, pr)
			}
		}
	}
	return probs
}

func packOf(n *Node) string {
	if n.Meta != nil {
		return n.Meta.Pack
	}
	return ""
}

func checkLink(p Prompt, info Info, spec *InputSpec, src string, slot int) string {
	sn, ok := p[src]
	if !ok {
		return fmt.Sprintf("input %s is linked to node %s, which the workflow does not have (muted, deleted, or never there).", spec.Name, src)
	}
	si := info[sn.ClassType]
	if si == nil {
		return "" // reported on the source node
	}
	if slot >= len(si.Outputs) {
		return fmt.Sprintf("input %s is linked to output %d of node %s (%s), which has only %d outputs.", spec.Name, slot, src, sn.ClassType, len(si.Outputs))
	}
	if got := si.Outputs[slot]; !typesOverlap(got, spec.Type) && !(got == "COMBO" && spec.Type == "COMBO") {
		return fmt.Sprintf("input %s takes %s, but is linked to output %d of node %s (%s), which gives %s.", spec.Name, spec.Type, slot, src, sn.ClassType, got)
	}
	return ""
}

// modelExtensions mark combo values that are weight files.
var modelExtensions = []string{".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".sft", ".pkl"}

func looksLikeModel(s string) bool {
	l := strings.ToLower(s)
	for _, e := range modelExtensions {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

// checkLiteral returns a summary and a message for a bad literal, or "".
func checkLiteral(spec *InputSpec, v any) (string, string) {
	switch spec.Type {
	case "INT", "FLOAT":
		f, ok := number(v)
		if !ok {
			return "Wrong value type", fmt.Sprintf("%s is not a number (%s expected).", show(v), spec.Type)
		}
		if spec.Type == "INT" && f != math.Trunc(f) {
			return "Wrong value type", fmt.Sprintf("%s is not a whole number (INT expected); the server would truncate it.", show(v))
		}
		if spec.Min != nil && f < *spec.Min {
			return "Value out of range", fmt.Sprintf("%s is smaller than the minimum %s.", show(v), fmtNum(*spec.Min))
		}
		if spec.Max != nil && f > *spec.Max {
			return "Value out of range", fmt.Sprintf("%s is bigger than the maximum %s.", show(v), fmtNum(*spec.Max))
		}
	case "BOOLEAN":
		if _, ok := v.(bool); !ok {
			return "Wrong value type", fmt.Sprintf("%s is not true or false (BOOLEAN expected); the server would read any non-empty value as true.", show(v))
		}
	case "STRING":
		switch v.(type) {
		case string, json.Number, bool:
		default:
			return "Wrong value type", fmt.Sprintf("%s is not a string.", show(v))
		}
	case "COMBO":
		for _, o := range spec.Options {
			if sameValue(o, v) {
				return "", ""
			}
		}
		s := fmt.Sprint(v)
		summary := "Value not in list"
		what := "is not one of the server's choices"
		if looksLikeModel(s) || (len(spec.Options) > 0 && looksLikeModel(fmt.Sprint(spec.Options[0]))) {
			summary, what = "Model file not on the server", "is not among the model files the server lists"
		}
		return summary, fmt.Sprintf("%s %s: %s.", show(v), what, listOptions(spec.Options))
	}
	return "", ""
}

func listOptions(opts []any) string {
	if len(opts) == 0 {
		return "the server lists none (the folder is empty or not mounted)"
	}
	const max = 40
	var parts []string
	for i, o := range opts {
		if i == max {
			parts = append(parts, fmt.Sprintf("… and %d more", len(opts)-max))
			break
		}
		parts = append(parts, show(o))
	}
	return strings.Join(parts, ", ")
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func sameValue(a, b any) bool {
	fa, oka := number(a)
	fb, okb := number(b)
	if oka && okb {
		return fa == fb
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && !oka && !okb
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// knownPacks maps registry ids (a UI node's cnr_id) to the packs' names.
var knownPacks = map[string]string{
	"comfyui-kjnodes":              "ComfyUI-KJNodes",
	"comfyui-videohelpersuite":     "ComfyUI-VideoHelperSuite",
	"comfyui-wanvideowrapper":      "ComfyUI-WanVideoWrapper",
	"comfyui-wananimatepreprocess": "ComfyUI-WanAnimatePreprocess",
	"comfyui-impact-pack":          "ComfyUI-Impact-Pack",
	"rgthree-comfy":                "rgthree-comfy",
	"comfyui-easy-use":             "ComfyUI-Easy-Use",
}

// kjNodes are KJNodes classes without a telling prefix.
var kjNodes = map[string]bool{
	"SetNode": true, "GetNode": true, "ImageConcatMulti": true, "GetImageSizeAndCount": true, "GetImageRangeFromBatch": true,
	"ImageResizeKJ": true, "ImageResizeKJv2": true, "ColorMatch": true, "ConditioningMultiCombine": true, "ImageBatchMulti": true,
	"INTConstant": true, "FloatConstant": true, "StringConstant": true, "GrowMaskWithBlur": true, "ImageAndMaskPreview": true,
	"VRAM_Debug": true, "WidgetToString": true, "SomethingToString": true, "CreateShapeMask": true,
}

// PackFor names the custom node pack a class most likely comes from: the
// pack the workflow itself records (hint: a cnr_id or aux_id), else a
// guess from the class name; "" when it cannot tell.
func PackFor(class, hint string) string {
	if hint != "" {
		if p, ok := knownPacks[strings.ToLower(hint)]; ok {
			return p
		}
		if _, repo, ok := strings.Cut(hint, "/"); ok {
			return repo
		}
		return hint
	}
	switch {
	case strings.HasPrefix(class, "WanVideo"):
		return "ComfyUI-WanVideoWrapper"
	case strings.HasPrefix(class, "VHS_"):
		return "ComfyUI-VideoHelperSuite"
	case kjNodes[class] || strings.HasSuffix(class, "KJ") || strings.HasSuffix(class, "KJv2"):
		return "ComfyUI-KJNodes"
	case class == "PoseDetectionOneToAllAnimation" || class == "OnnxDetectionModelLoader" || strings.HasPrefix(class, "PoseRetarget"):
		return "ComfyUI-WanAnimatePreprocess"
	case strings.HasSuffix(class, "(rgthree)"):
		return "rgthree-comfy"
	case strings.HasPrefix(class, "easy "):
		return "ComfyUI-Easy-Use"
	case strings.HasPrefix(class, "ADE_"):
		return "ComfyUI-AnimateDiff-Evolved"
	case strings.HasPrefix(class, "ACN_"):
		return "ComfyUI-Advanced-ControlNet"
	case strings.HasPrefix(class, "IPAdapter"):
		return "ComfyUI_IPAdapter_plus"
	}
	return ""
}

// MissingPacks groups the "Node class not on the server" problems by pack:
// pack ("" for unknown) → classes, sorted.
func MissingPacks(probs []Problem) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, p := range probs {
		if p.Summary != "Node class not on the server" || seen[p.Class] {
			continue
		}
		seen[p.Class] = true
		out[p.Pack] = append(out[p.Pack], p.Class)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}
