package workflow

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

func realInfo(t *testing.T) Info {
	t.Helper()
	info, err := ParseInfo(comfytest.ObjectInfo080)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func loadGraph(t *testing.T, name string) *Graph {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, g, err := Parse(b)
	if err != nil || p != nil {
		t.Fatalf("parse %s: %v (API prompt %v)", name, err, p != nil)
	}
	return g
}

func TestParseInfoOrderAndWidgets(t *testing.T) {
	info := realInfo(t)
	if len(info) != 440 {
		t.Fatalf("%d classes, want 440", len(info))
	}
	ks := info["KSampler"]
	if got := strings.Join(ks.InputNames(), ","); got != "model,seed,steps,cfg,sampler_name,scheduler,positive,negative,latent_image,denoise" {
		t.Errorf("KSampler input order = %s", got)
	}
	seed := ks.Input("seed")
	if !seed.IsWidget() || !seed.HasControl() || ks.Input("model").IsWidget() {
		t.Errorf("seed widget/control = %v/%v", seed.IsWidget(), seed.HasControl())
	}
	if li := info["LoadImage"].Input("image"); li.Type != "COMBO" || !li.Upload || len(li.Options) != 1 {
		t.Errorf("LoadImage image = %+v", li)
	}
	if m := info["SaveAnimatedWEBP"].Input("method"); m.Type != "COMBO" || len(m.Options) != 3 {
		t.Errorf("V3 combo = %+v", m)
	}
	if w := info["EmptyImage"].Input("width"); w.Min == nil || *w.Min != 1 || *w.Max != 16384 {
		t.Errorf("EmptyImage width = %+v", w)
	}
}

// TestConvertSteadyDancerAgainstRealServer converts the published
// SteadyDancer workflow against a server with core nodes only: every
// missing custom node pack is named.
func TestConvertSteadyDancerAgainstRealServer(t *testing.T) {
	info := realInfo(t)
	p, convProbs := Convert(loadGraph(t, "steadydancer-ui.json"), info)
	if len(convProbs) != 0 {
		t.Errorf("conversion problems: %v", convProbs)
	}
	probs := Validate(p, info)
	packs := MissingPacks(probs)
	for pack, class := range map[string]string{
		"ComfyUI-WanVideoWrapper":      "WanVideoModelLoader",
		"ComfyUI-KJNodes":              "ImageResizeKJv2",
		"ComfyUI-VideoHelperSuite":     "VHS_VideoCombine",
		"ComfyUI-WanAnimatePreprocess": "PoseDetectionOneToAllAnimation",
	} {
		if !contains(packs[pack], class) {
			t.Errorf("pack %s: classes %v, want %s among them", pack, packs[pack], class)
		}
	}
	if len(packs[""]) != 0 || len(packs) != 4 {
		t.Errorf("packs = %v", packs)
	}
	var clip *Problem
	for i, pr := range probs {
		if pr.Class == "CLIPVisionLoader" {
			clip = &probs[i]
		}
	}
	if clip == nil || clip.Summary != "Model file not on the server" || !strings.Contains(clip.Detail, `"clip_vision_h.safetensors"`) ||
		!strings.Contains(clip.Detail, "lists none") {
		t.Errorf("CLIPVisionLoader problem = %+v", clip)
	}
	for _, pr := range probs {
		if pr.Class == "WanVideoModelLoader" && !strings.Contains(pr.String(), "custom node pack ComfyUI-WanVideoWrapper") {
			t.Errorf("missing class message: %s", pr)
		}
	}
}

// infoFromGraph makes an /object_info for the classes core ComfyUI lacks
// from the UI nodes themselves: their widget inputs (in the order the
// workflow saved them) and sockets.
func infoFromGraph(g *Graph, base Info) Info {
	info := Info{}
	for k, v := range base {
		info[k] = v
	}
	for _, n := range g.Nodes {
		if isVirtual(n.Type) || info[n.Type] != nil {
			continue
		}
		ni := &NodeInfo{Name: n.Type}
		for _, in := range n.Inputs {
			if in.Type == "IMAGEUPLOAD" {
				continue
			}
			// Combo choices are unknown here: take any string.
			typ := in.Type
			if typ == "COMBO" && in.Link == nil {
				typ = "STRING"
			}
			ni.Inputs = append(ni.Inputs, InputSpec{Name: in.Name, Type: typ, Required: in.Widget != ""})
		}
		for _, o := range n.Outputs {
			ni.Outputs = append(ni.Outputs, o.Type)
		}
		info[n.Type] = ni
	}
	return info
}

func link(id string, slot int) []any { return newLink(id, slot) }

func TestConvertSteadyDancerStructure(t *testing.T) {
	g := loadGraph(t, "steadydancer-ui.json")
	info := infoFromGraph(g, realInfo(t))
	p, probs := Convert(g, info)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	virtual := 0
	for _, n := range g.Nodes {
		if isVirtual(n.Type) {
			virtual++
			if _, ok := p[n.ID]; ok {
				t.Errorf("frontend-only node %s (%s) reached the prompt", n.ID, n.Type)
			}
		}
	}
	if virtual != 24 || len(p) != len(g.Nodes)-virtual {
		t.Errorf("%d nodes in the prompt, %d frontend-only of %d", len(p), virtual, len(g.Nodes))
	}
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, c := range []struct {
		node, input string
		want        any
	}{
		// GetNode "VAE" → SetNode → the VAE loader.
		{"72", "vae", link("38", 0)},
		{"63", "vae", link("38", 0)},
		// GetNode "width"/"height" → SetNode → GetImageSizeAndCount's outputs.
		{"63", "width", link("91", 1)},
		{"63", "height", link("91", 2)},
		{"63", "num_frames", link("91", 3)},
		// SetNode used as a pass-through.
		{"63", "start_image", link("68", 0)},
		// PrimitiveNodes give their values.
		{"119", "seed", json.Number("42")},
		{"119", "cfg", json.Number("1")},
		// The control_after_generate value after the seed is skipped:
		// force_offload gets true, not "fixed".
		{"119", "steps", json.Number("4")},
		{"119", "shift", json.Number("5")},
		{"119", "force_offload", true},
		{"119", "scheduler", link("122", 3)},
		{"119", "rope_function", "comfy"},
		{"119", "end_step", json.Number("-1")},
		{"22", "model", "WanVideo/SteadyDancer/Wan21_SteadyDancer_fp8_e4m3fn_scaled_KJ.safetensors"},
		{"22", "compile_args", link("35", 0)},
		{"63", "num_frames", link("91", 3)},
		{"63", "noise_aug_strength", json.Number("0")},
		{"63", "augment_empty_frames", json.Number("0")},
		// VideoHelperSuite keys widgets_values by name.
		{"83", "format", "video/h264-mp4"},
		{"83", "frame_rate", json.Number("24")},
		{"75", "frame_load_cap", json.Number("176")},
		// LoadImage: the upload widget's value is not an input.
		{"76", "image", "00001.png"},
	} {
		n := p[c.node]
		if n == nil {
			t.Errorf("node %s missing", c.node)
			continue
		}
		if got := n.Inputs[c.input]; j(got) != j(c.want) {
			t.Errorf("node %s (%s) %s = %s, want %s", c.node, n.ClassType, c.input, j(got), j(c.want))
		}
	}
	for _, id := range []string{"76", "75", "83"} {
		for _, bad := range []string{"upload", "videopreview", "choose video to upload"} {
			if _, ok := p[id].Inputs[bad]; ok {
				t.Errorf("node %s has frontend-only input %q", id, bad)
			}
		}
	}
	if p["22"].Meta.Pack != "ComfyUI-WanVideoWrapper" || p["22"].Meta.Title != "WanVideo Model Loader" && p["22"].Meta.Title != "WanVideoModelLoader" {
		t.Errorf("node 22 meta = %+v", p["22"].Meta)
	}
	// Against its own classes only the core loaders' files are missing
	// (the server lists no models and only example.png as input).
	vp := Validate(p, info)
	if len(vp) != 2 || vp[0].Node != "59" || vp[0].Input != "clip_name" || vp[1].Node != "76" || vp[1].Input != "image" {
		t.Errorf("validation of the converted workflow: %v", vp)
	}
}

// A hand-made UI workflow in the older format (no widget inputs listed):
// widget order comes from /object_info, with the seed's control value and
// LoadImage's upload value skipped; muted and bypassed nodes; a Reroute.
const oldFormat = `{
 "last_node_id": 12, "last_link_id": 9,
 "nodes": [
  {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0, "outputs": [{"name": "MODEL", "type": "MODEL", "links": [1]}, {"name": "CLIP", "type": "CLIP", "links": [2, 3]}, {"name": "VAE", "type": "VAE", "links": [4]}], "widgets_values": ["sd15.safetensors"]},
  {"id": 2, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "clip", "type": "CLIP", "link": 2}], "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [5]}], "widgets_values": ["a cat"]},
  {"id": 3, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "clip", "type": "CLIP", "link": 3}], "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [6]}], "widgets_values": ["blurry"]},
  {"id": 4, "type": "EmptyLatentImage", "mode": 0, "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7]}], "widgets_values": [512, 512, 1]},
  {"id": 5, "type": "KSampler", "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": 1}, {"name": "positive", "type": "CONDITIONING", "link": 5}, {"name": "negative", "type": "CONDITIONING", "link": 6}, {"name": "latent_image", "type": "LATENT", "link": 7}], "outputs": [{"name": "LATENT", "type": "LATENT", "links": [8]}], "widgets_values": [123, "randomize", 20, 7.5, "euler", "normal", 1]},
  {"id": 6, "type": "VAEDecode", "mode": 0, "inputs": [{"name": "samples", "type": "LATENT", "link": 8}, {"name": "vae", "type": "VAE", "link": 10}], "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [9, 11]}]},
  {"id": 7, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 4}], "outputs": [{"name": "", "type": "VAE", "links": [10]}]},
  {"id": 8, "type": "ImageInvert", "mode": 4, "inputs": [{"name": "image", "type": "IMAGE", "link": 9}], "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [12]}]},
  {"id": 9, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "type": "IMAGE", "link": 12}], "widgets_values": ["out/cat"]},
  {"id": 10, "type": "PreviewImage", "mode": 2, "inputs": [{"name": "images", "type": "IMAGE", "link": 11}]},
  {"id": 11, "type": "LoadImage", "mode": 0, "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": []}], "widgets_values": ["example.png", "image"]},
  {"id": 12, "type": "Note", "mode": 0, "widgets_values": ["remember the cat"]}
 ],
 "links": [[1,1,0,5,0,"MODEL"],[2,1,1,2,0,"CLIP"],[3,1,1,3,0,"CLIP"],[4,1,2,7,0,"VAE"],[5,2,0,5,1,"CONDITIONING"],[6,3,0,5,2,"CONDITIONING"],[7,4,0,5,3,"LATENT"],[8,5,0,6,0,"LATENT"],[9,6,0,8,0,"IMAGE"],[10,7,0,6,1,"VAE"],[11,6,0,10,0,"IMAGE"],[12,8,0,9,0,"IMAGE"]],
 "version": 0.4
}`

func TestConvertOldFormat(t *testing.T) {
	_, g, err := Parse([]byte(oldFormat))
	if err != nil {
		t.Fatal(err)
	}
	p, probs := Convert(g, realInfo(t))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	got, _ := json.Marshal(p)
	want := `{"1":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sd15.safetensors"},"_meta":{"title":"Load Checkpoint"}},` +
		`"2":{"class_type":"CLIPTextEncode","inputs":{"clip":["1",1],"text":"a cat"},"_meta":{"title":"CLIP Text Encode (Prompt)"}},` +
		`"3":{"class_type":"CLIPTextEncode","inputs":{"clip":["1",1],"text":"blurry"},"_meta":{"title":"CLIP Text Encode (Prompt)"}},` +
		`"4":{"class_type":"EmptyLatentImage","inputs":{"batch_size":1,"height":512,"width":512},"_meta":{"title":"Empty Latent Image"}},` +
		`"5":{"class_type":"KSampler","inputs":{"cfg":7.5,"denoise":1,"latent_image":["4",0],"model":["1",0],"negative":["3",0],"positive":["2",0],"sampler_name":"euler","scheduler":"normal","seed":123,"steps":20},"_meta":{"title":"KSampler"}},` +
		`"6":{"class_type":"VAEDecode","inputs":{"samples":["5",0],"vae":["1",2]},"_meta":{"title":"VAE Decode"}},` +
		`"9":{"class_type":"SaveImage","inputs":{"filename_prefix":"out/cat","images":["6",0]},"_meta":{"title":"Save Image"}},` +
		`"11":{"class_type":"LoadImage","inputs":{"image":"example.png"},"_meta":{"title":"Load Image"}}}`
	if string(got) != want {
		t.Errorf("converted:\n%s\nwant:\n%s", got, want)
	}
	// Against the real server the checkpoint is not in its (empty) list.
	vp := Validate(p, realInfo(t))
	if len(vp) != 1 || vp[0].Node != "1" || vp[0].Summary != "Model file not on the server" {
		t.Errorf("validation: %v", vp)
	}
}

func TestValidate(t *testing.T) {
	info := realInfo(t)
	base := func() Prompt { return loadPrompt(t, "smoke-api.json") }
	for name, c := range map[string]struct {
		edit func(Prompt)
		want []string // substrings of the problems, in order
	}{
		"valid":         {func(Prompt) {}, nil},
		"below min":     {func(p Prompt) { p["1"].Inputs["width"] = json.Number("-5") }, []string{"node 1 (EmptyImage) input width: Value out of range: Node 1 (EmptyImage) input width: -5 is smaller than the minimum 1."}},
		"not a number":  {func(p Prompt) { p["3"].Inputs["quality"] = "high" }, []string{`input quality: Wrong value type`}},
		"combo":         {func(p Prompt) { p["3"].Inputs["method"] = "fast" }, []string{`"fast" is not one of the server's choices: "default", "fastest", "slowest".`}},
		"bool":          {func(p Prompt) { p["3"].Inputs["lossless"] = "false" }, []string{"would read any non-empty value as true"}},
		"missing":       {func(p Prompt) { delete(p["4"].Inputs, "images") }, []string{"node 4 (SaveImage) input images: Required input missing"}},
		"dangling link": {func(p Prompt) { p["2"].Inputs["image"] = link("9", 0) }, []string{"node 9, which the workflow does not have"}},
		"type mismatch": {func(p Prompt) {
			p["5"] = &Node{ClassType: "EmptyLatentImage", Inputs: map[string]any{"width": 16, "height": 16, "batch_size": 1}}
			p["2"].Inputs["image"] = link("5", 0)
		}, []string{"input image takes IMAGE, but is linked to output 0 of node 5 (EmptyLatentImage), which gives LATENT"}},
		"unknown class": {func(p Prompt) {
			p["7"] = &Node{ClassType: "VHS_VideoCombine", Inputs: map[string]any{"images": link("2", 0)}}
		}, []string{"node 7 (VHS_VideoCombine): Node class not on the server: Node 7 uses class VHS_VideoCombine, which the server's /object_info does not list. It comes from the custom node pack ComfyUI-VideoHelperSuite"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := base()
			c.edit(p)
			probs := Validate(p, info)
			if len(probs) != len(c.want) {
				t.Fatalf("problems %v, want %d", probs, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(probs[i].String(), w) {
					t.Errorf("problem %q lacks %q", probs[i], w)
				}
			}
		})
	}
}

func TestComboModelListShown(t *testing.T) {
	b := []byte(`{"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["a.safetensors", "b.safetensors"], {}]}}, "output": ["MODEL"], "output_node": false}}`)
	info, err := ParseInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	p := Prompt{"4": {ClassType: "CheckpointLoaderSimple", Inputs: map[string]any{"ckpt_name": "c.safetensors"}}}
	probs := Validate(p, info)
	if len(probs) != 1 || probs[0].Summary != "Model file not on the server" ||
		!strings.Contains(probs[0].Detail, `"c.safetensors" is not among the model files the server lists: "a.safetensors", "b.safetensors".`) {
		t.Errorf("problems = %v", probs)
	}
}

func TestApplyOverrides(t *testing.T) {
	info := realInfo(t)
	p := loadPrompt(t, "smoke-api.json")
	probs := ApplyOverrides(p, info, []Override{
		{"1.width", "128"}, {"3.lossless", "true"}, {"3.fps", "12.5"}, {"4.filename_prefix", "x/y"},
		{"9.width", "1"}, {"1.widht", "1"}, {"1.height", "tall"}, {"nodot", "1"},
	})
	got := fmt.Sprintf("%v %v %v %v", p["1"].Inputs["width"], p["3"].Inputs["lossless"], p["3"].Inputs["fps"], p["4"].Inputs["filename_prefix"])
	if got != "128 true 12.5 x/y" {
		t.Errorf("overridden values = %s", got)
	}
	if _, ok := p["1"].Inputs["width"].(json.Number); !ok {
		t.Errorf("INT override is %T", p["1"].Inputs["width"])
	}
	var sums []string
	for _, pr := range probs {
		sums = append(sums, pr.Summary)
	}
	sort.Strings(sums)
	if want := []string{"Invalid input override", "Invalid input override", "No such input", "No such node"}; !reflect.DeepEqual(sums, want) {
		t.Errorf("problems %v", probs)
	}
	if !strings.Contains(probs[1].Detail, "its inputs are width, height, batch_size, color") {
		t.Errorf("typo message: %s", probs[1].Detail)
	}
}

// TestOverrideNumbersAreJSON sets INT and FLOAT inputs, and inputs of a
// node the server does not know, to numbers written in ways strconv takes
// and JSON does not. The override is kept as written, so what must hold:
// each one either becomes a prompt that encodes (plan's check is then
// also submit's), or is refused by ApplyOverrides naming the override;
// none passes and then fails to encode at submit.
func TestOverrideNumbersAreJSON(t *testing.T) {
	info := realInfo(t)
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{
		{"1.width", "64", true}, {"1.width", "-0", true}, {"3.fps", "12.5", true}, {"3.fps", "1e-3", true}, {"3.fps", "0.5", true},
		{"1.width", "064", false}, {"1.width", "+64", false}, {"1.width", "1e3", false}, {"1.width", " 64", false},
		{"3.fps", "NaN", false}, {"3.fps", "Inf", false}, {"3.fps", "-Infinity", false}, {"3.fps", "0x6p0", false},
		{"3.fps", "1e999", false}, {"3.fps", ".5", false}, {"3.fps", "5.", false}, {"3.quality", "+80", false},
		{"9.anything", "064", true}, {"9.anything", "NaN", true}, // unknown node type: kept as a string
	} {
		p := loadPrompt(t, "smoke-api.json")
		p["9"] = &Node{ClassType: "NotOnThisServer", Inputs: map[string]any{"anything": 1}}
		probs := ApplyOverrides(p, info, []Override{{Key: tc.key, Value: tc.val}})
		_, err := json.Marshal(p)
		switch {
		case len(probs) == 0 && err != nil:
			t.Errorf("%s = %q passed ApplyOverrides, then the prompt does not encode: %v", tc.key, tc.val, err)
		case tc.ok && len(probs) > 0:
			t.Errorf("%s = %q refused: %v", tc.key, tc.val, probs)
		case !tc.ok && len(probs) == 0:
			id, input, _ := strings.Cut(tc.key, ".")
			t.Errorf("%s = %q accepted as %#v", tc.key, tc.val, p[id].Inputs[input])
		case !tc.ok && (probs[0].Summary != "Invalid input override" || !strings.Contains(probs[0].Detail, fmt.Sprintf("%q", tc.val))):
			t.Errorf("%s = %q: problem %+v does not name the override", tc.key, tc.val, probs[0])
		}
	}
}

// TestOverrideOfLinkRefused: an override may not replace an input that is
// linked to another node's output, with or without the server's classes.
func TestOverrideOfLinkRefused(t *testing.T) {
	for name, info := range map[string]Info{"with object_info": realInfo(t), "offline": nil} {
		p := loadPrompt(t, "smoke-api.json")
		probs := ApplyOverrides(p, info, []Override{{Key: "2.image", Value: "x"}})
		if len(probs) != 1 || probs[0].Summary != "Override of a linked input" || probs[0].Node != "2" || probs[0].Input != "image" ||
			!strings.Contains(probs[0].Detail, `The override "2.image" would replace input image of node 2 (ImageInvert), which is linked to output 0 of node 1 (EmptyImage).`) {
			t.Errorf("%s: problems %+v", name, probs)
		}
		if _, linked := p["2"].Inputs["image"].([]any); !linked {
			t.Errorf("%s: the link was replaced by %#v", name, p["2"].Inputs["image"])
		}
	}
}
