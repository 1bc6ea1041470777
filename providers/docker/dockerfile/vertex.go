package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
)

// Vertex is one vertex of a BuildKit solve as its status stream reports it
// (client.SolveStatus.Vertexes): its name and whether it came from cache.
type Vertex struct {
	Name   string
	Cached bool
}

// ParseVertexName splits a Dockerfile vertex name as dockerfile2llb writes
// it: "[deps 2/5] RUN make" → ("deps", 2, 5, "RUN make"). The stage is empty
// in a single-stage Dockerfile; a platform prefix ("[linux/arm64 deps 2/5]")
// is skipped. ok is false for other vertices ("[internal] load build
// context", "FROM docker.io/library/alpine:3" of a COPY --from image).
func ParseVertexName(name string) (stage string, index, total int, instruction string, ok bool) {
	if !strings.HasPrefix(name, "[") {
		return "", 0, 0, "", false
	}
	head, rest, found := strings.Cut(name[1:], "] ")
	if !found {
		return "", 0, 0, "", false
	}
	fields := strings.Fields(head)
	if len(fields) == 0 {
		return "", 0, 0, "", false
	}
	i, n, found := strings.Cut(fields[len(fields)-1], "/")
	if !found {
		return "", 0, 0, "", false
	}
	var err error
	if index, err = strconv.Atoi(i); err != nil {
		return "", 0, 0, "", false
	}
	if total, err = strconv.Atoi(n); err != nil || index < 1 || index > total {
		return "", 0, 0, "", false
	}
	for _, f := range fields[:len(fields)-1] {
		if !strings.Contains(f, "/") { // platforms have a slash, stage names cannot
			stage = f
		}
	}
	return stage, index, total, rest, true
}

// Outcome is what BuildKit did with one predicted step.
type Outcome struct {
	Step Step
	// Vertex is the matching vertex's name; empty when none matched.
	Vertex string
	// Cached is BuildKit's flag for that vertex.
	Cached bool
}

// Match pairs each predicted step with the vertex BuildKit reported for it:
// by exact name; else by stage, step number and instruction keyword (names
// differ when the daemon's Dockerfile frontend is another version than
// sdform's); else by instruction text alone (BuildKit merges identical ops
// of concurrent builds into one vertex, named by whichever build came
// first). A vertex reported several times counts as cached if any report
// says so. Vertices that are not steps are ignored.
func Match(p *Prediction, vertices []Vertex) []Outcome {
	byName := map[string]*Vertex{}
	byPos := map[string]*Vertex{}
	byInstr := map[string]*Vertex{}
	for _, v := range vertices {
		if prev, ok := byName[v.Name]; ok {
			prev.Cached = prev.Cached || v.Cached
			continue
		}
		v := v
		byName[v.Name] = &v
		if stage, i, _, instr, ok := ParseVertexName(v.Name); ok {
			k := posKey(stage, i, instr)
			if _, dup := byPos[k]; !dup {
				byPos[k] = &v
			}
			if _, dup := byInstr[instr]; !dup {
				byInstr[instr] = &v
			}
		}
	}
	out := make([]Outcome, 0, len(p.Steps))
	for _, s := range p.Steps {
		o := Outcome{Step: s}
		v, ok := byName[s.Vertex]
		if stage, i, _, instr, parsed := ParseVertexName(s.Vertex); !ok && parsed {
			if v, ok = byPos[posKey(stage, i, instr)]; !ok {
				v, ok = byInstr[instr]
			}
		}
		if ok {
			o.Vertex, o.Cached = v.Name, v.Cached
		}
		out = append(out, o)
	}
	return out
}

func posKey(stage string, i int, instr string) string {
	word, _, _ := strings.Cut(instr, " ")
	return fmt.Sprintf("%s\x00%d\x00%s", stage, i, strings.ToUpper(word))
}

// Disagreement is a step the prediction got wrong.
type Disagreement struct {
	Outcome
	Predicted Status
	// Message says what happened: "predicted cached, BuildKit ran it".
	Message string
}

// Compare returns the steps where BuildKit did otherwise than predicted:
// predicted cached but run, predicted to run but cached, or (when vertices
// were reported at all) no vertex for a predicted step. Uncertain steps
// never disagree.
func Compare(p *Prediction, vertices []Vertex) []Disagreement {
	var out []Disagreement
	for _, o := range Match(p, vertices) {
		d := Disagreement{Outcome: o, Predicted: o.Step.Status}
		switch {
		case o.Vertex == "":
			if len(vertices) == 0 {
				continue
			}
			d.Message = "BuildKit reported no vertex for this step"
		case o.Step.Status == Cached && !o.Cached:
			d.Message = "predicted cached, BuildKit ran it"
		case o.Step.Status == Run && o.Cached:
			d.Message = "predicted to run, BuildKit had it cached"
		default:
			continue
		}
		out = append(out, d)
	}
	return out
}

// String is "line 42 RUN make: predicted cached, BuildKit ran it".
func (d Disagreement) String() string {
	return fmt.Sprintf("line %d %s: %s", d.Step.Line, d.Step.Instruction, d.Message)
}
