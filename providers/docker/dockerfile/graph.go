package dockerfile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

type nodeKind int

const (
	internalNode nodeKind = iota // an op BuildKit shows as [internal] or not at all
	stepNode                     // RUN, COPY, ADD, WORKDIR
	imageNode                    // FROM / COPY --from an image
	localNode                    // the build context or a named context
	remoteNode                   // ADD <url>, ADD <git>
	terminalNode                 // the definition's last, input-only op
)

// node is one LLB op with what the prediction learnt about it.
type node struct {
	dgst   digest.Digest
	op     *pb.Op
	name   string // the vertex name BuildKit shows
	lines  []int
	inputs []*node
	kind   nodeKind

	stage, instr string // steps: parsed from the vertex name
	ref, digest  string // images
	fs           *contextFS
	fsName       string // "context" or the named context's name

	done bool
	// exact is the node's key from all its inputs as the plan sees them.
	exact string
	// alts are the recorded keys the node could still have: when part of
	// its inputs is content the plan cannot see, each combination of what
	// those inputs were at recorded builds that gives a recorded key.
	alts []string
	// blocking causes make every dependent step Uncertain; content causes
	// are weighed with alts.
	blocking, content causeSet
	// pure: the output follows from op definitions alone (a heredoc file).
	pure bool
	// runs: the node certainly gives a result no recorded build had;
	// runWhy says why, for the steps that follow it.
	runs   bool
	runWhy string
	// root: a step that runs for a reason of its own, not because a step
	// before it runs.
	root   bool
	status Status
	reason string
}

func digestOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadGraph indexes a marshalled definition by op digest.
func loadGraph(def *llb.Definition) (*node, map[digest.Digest]*node, error) {
	nodes := make(map[digest.Digest]*node, len(def.Def))
	var last *node
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, nil, fmt.Errorf("read LLB: %w", err)
		}
		d := digest.FromBytes(dt)
		n := &node{dgst: d, op: &op}
		if md, ok := def.Metadata[d]; ok {
			n.name = md.Description["llb.customname"]
		}
		if def.Source != nil {
			if locs, ok := def.Source.Locations[string(d)]; ok {
				n.lines = linesOf(locs)
			}
		}
		nodes[d] = n
		last = n
	}
	if last == nil {
		return nil, nil, fmt.Errorf("read LLB: empty definition")
	}
	for _, n := range nodes {
		for _, in := range n.op.Inputs {
			src, ok := nodes[digest.Digest(in.Digest)]
			if !ok {
				return nil, nil, fmt.Errorf("read LLB: op %s has unknown input %s", n.dgst, in.Digest)
			}
			n.inputs = append(n.inputs, src)
		}
	}
	last.kind = terminalNode
	return last, nodes, nil
}

func linesOf(locs *pb.Locations) []int {
	seen := map[int]bool{}
	var lines []int
	for _, l := range locs.Locations {
		for _, r := range l.Ranges {
			if ln := int(r.GetStart().GetLine()); ln > 0 && !seen[ln] {
				seen[ln] = true
				lines = append(lines, ln)
			}
		}
	}
	sort.Ints(lines)
	return lines
}

func (n *node) line() int {
	if len(n.lines) == 0 {
		return 0
	}
	return n.lines[0]
}

// classify sets each node's kind from its op and vertex name.
func (p *predictor) classify(n *node) error {
	if n.kind == terminalNode {
		return nil
	}
	switch op := n.op.Op.(type) {
	case *pb.Op_Source:
		id := op.Source.Identifier
		switch {
		case strings.HasPrefix(id, "local://"):
			n.kind = localNode
			n.fsName = strings.TrimPrefix(id, "local://")
			n.fs = p.locals[n.fsName]
		case strings.HasPrefix(id, "docker-image://"):
			ref, dgst, err := normalizeRef(id)
			if err != nil {
				return fmt.Errorf("read LLB: image %s: %w", id, err)
			}
			if fs, ok := p.locals[ref]; ok {
				n.kind, n.fs, n.fsName = localNode, fs, p.localNames[ref]
				return nil
			}
			n.kind, n.ref, n.digest = imageNode, ref, dgst
		default:
			n.kind = remoteNode
			n.ref = id
		}
		return nil
	}
	if stage, _, _, instr, ok := ParseVertexName(n.name); ok && !strings.HasPrefix(instr, "LINK ") {
		n.kind, n.stage, n.instr = stepNode, stage, instr
	}
	return nil
}

// prefetch walks each local context once for all the selections the steps
// will hash.
func (p *predictor) prefetch(nodes map[digest.Digest]*node) error {
	sels := map[*contextFS][]selector{}
	for _, n := range nodes {
		if n.kind != stepNode && n.kind != internalNode {
			continue
		}
		var def *opDef
		for i, in := range n.inputs {
			if in.kind != localNode || in.fs == nil {
				continue
			}
			if def == nil {
				var err error
				if def, err = defOf(n.op); err != nil {
					return fmt.Errorf("read LLB op %s: %w", n.name, err)
				}
			}
			s, ok := def.content[i]
			if !ok {
				s = []selector{{Path: "/"}}
			}
			sels[in.fs] = append(sels[in.fs], s...)
		}
	}
	for fs, s := range sels {
		if err := fs.prefetch(s); err != nil {
			return err
		}
	}
	return nil
}

// compute fills a node's keys and status from its inputs'.
func (p *predictor) compute(n *node) error {
	if n.done {
		return nil
	}
	n.done = true
	n.blocking, n.content = causeSet{}, causeSet{}
	for _, in := range n.inputs {
		if err := p.compute(in); err != nil {
			return err
		}
	}
	switch n.kind {
	case localNode:
		n.pure = true
		return nil
	case imageNode:
		p.computeImage(n)
		return nil
	case remoteNode:
		defer func() { p.addKeys(n.exact) }()
		n.exact = digestOf("remote", n.ref)
		n.alts = []string{n.exact}
		c := cause{kind: remoteContent, subject: strings.TrimPrefix(n.ref, "https://")}
		if src := n.op.GetSource(); src != nil && src.Attrs[pb.AttrHTTPChecksum] != "" {
			// The checksum pins the content, as a digest pins an image's.
			n.exact = digestOf("remote", n.ref, src.Attrs[pb.AttrHTTPChecksum])
			n.pure = true
			return nil
		}
		n.blocking[c.id()] = c
		return nil
	case terminalNode:
		in := n.inputs[0]
		n.exact, n.alts, n.blocking, n.content = in.exact, in.alts, in.blocking, in.content
		return nil
	}

	def, err := defOf(n.op)
	if err != nil {
		return fmt.Errorf("read LLB op %s: %w", n.name, err)
	}
	exact := []string{def.kind, string(def.def)}
	options := [][]string{{def.kind}, {string(def.def)}}
	n.pure = true
	var comps []component
	var runningInput *node
	// sessionInput is a local input the op does not read by content (an
	// exec's root, a file op's base): BuildKit keys a local source by its
	// build session, so the op runs at every build.
	var sessionInput *node
	for i, in := range n.inputs {
		sels, byContent := def.content[i]
		switch {
		case in.kind == localNode:
			if !byContent {
				sels = []selector{{Path: "/"}}
				sessionInput = in
			}
			for _, sel := range sels {
				k := p.hashLocal(n, in, sel)
				exact = append(exact, k)
				options = append(options, []string{k})
				comps = append(comps, component{key: digestOf("files", n.stage, k), why: "files changed: " + sel.String()})
			}
		case byContent:
			sk := fmt.Sprint(sels)
			k := digestOf("content-of", in.exact, sk)
			exact = append(exact, k)
			n.blocking.add(in.blocking)
			if in.pure {
				options = append(options, []string{k})
				why := "inline document changed"
				if in.kind == remoteNode {
					why = "checksum of " + in.ref + " changed"
				}
				comps = append(comps, component{key: digestOf("files", n.stage, k), why: why})
				continue
			}
			n.pure = false
			label := p.outputLabel(in)
			p.addKeys(outputKey(label.key, in.exact))
			if len(in.blocking) == 0 && len(in.content) == 0 && p.recorded(in.exact) {
				options = append(options, []string{k})
				continue
			}
			if len(in.blocking) == 0 {
				n.content.add(in.content)
				if len(in.content) == 0 {
					c := cause{kind: stageContent, subject: label.subject}
					if label.image {
						c.kind = imageContent
					}
					n.content[c.id()] = c
				}
			}
			var opts []string
			for _, prev := range p.outputsOf(label.key) {
				opts = append(opts, digestOf("content-of", prev, sk))
			}
			options = append(options, opts)
		default:
			n.pure = n.pure && in.pure
			exact = append(exact, in.exact)
			n.blocking.add(in.blocking)
			n.content.add(in.content)
			if len(in.content) > 0 {
				options = append(options, in.alts)
			} else {
				options = append(options, []string{in.exact})
			}
			if in.runs && runningInput == nil {
				runningInput = in
			}
			if in.kind == imageNode && in.digest != "" && len(in.blocking) == 0 {
				comps = append(comps, component{key: in.exact, why: "base image " + in.ref + " changed"})
			}
		}
	}
	n.exact = digestOf(exact...)
	p.addKeys(n.exact)
	if len(n.content) > 0 && len(n.blocking) == 0 {
		n.alts = p.combinations(options)
	}
	if n.kind != stepNode {
		switch {
		case sessionInput != nil:
			n.runs, n.runWhy = true, sessionWhy(sessionInput)
		case runningInput != nil:
			n.runs, n.runWhy = true, runningInput.runWhy
		case len(n.blocking) == 0 && len(n.content) == 0 && !n.pure && !p.recorded(n.exact):
			n.runs, n.runWhy = true, "follows a step whose inputs changed"
		}
		return nil
	}

	comps = append(comps, component{key: digestOf("def", n.stage, def.kind, string(def.defNoEnv)), why: "instruction changed"})
	for _, kv := range def.env {
		k, v, _ := strings.Cut(kv, "=")
		comps = append(comps, component{key: digestOf("env", n.stage, k, v), why: p.envWhy(n.stage, k)})
	}
	p.addKeys(componentKeys(comps)...)

	switch {
	case p.noCache:
		n.status, n.reason, n.root = Run, "no_cache is set", true
	case len(p.hist) == 0:
		n.status, n.reason, n.root = Run, "no earlier build recorded", true
	case sessionInput != nil:
		n.status, n.reason, n.root = Run, sessionWhy(sessionInput), true
	case runningInput != nil:
		n.status, n.reason = Run, runningInput.runWhy
		n.root = runningInput.kind == imageNode
	case len(n.blocking) == 0 && len(n.content) == 0:
		if p.recorded(n.exact) {
			n.status = Cached
		} else {
			n.status, n.root = Run, true
			n.reason = p.changeReason(comps)
		}
	case len(n.blocking) > 0 || len(n.alts) > 0:
		n.status = Uncertain
		n.reason = reasons(n.blocking, n.content)
	default:
		n.status, n.root = Run, true
		n.reason = p.changeReason(comps)
	}
	n.runs = n.status == Run
	n.runWhy = fmt.Sprintf("follows %s:%d, which runs", p.file, n.line())
	return nil
}

func (p *predictor) computeImage(n *node) {
	platform := ""
	if pl := n.op.Platform; pl != nil {
		platform = strings.Join([]string{pl.OS, pl.Architecture, pl.Variant}, "/")
	}
	n.exact = digestOf("image", n.ref, n.digest, platform)
	n.alts = []string{n.exact}
	p.addKeys(n.exact)
	resolved, err := p.res.state(n.ref)
	if !resolved {
		c := cause{kind: unresolvedImage, subject: n.ref, err: err}
		n.blocking[c.id()] = c
		if err != nil {
			p.unresolvedErr[n.ref] = err
		}
		p.unresolved[n.ref] = true
		return
	}
	if !p.recorded(n.exact) {
		n.runs = true
		n.runWhy = "base image " + n.ref + " changed"
	}
}

// sessionWhy says why a step over the local source in runs at every build.
func sessionWhy(in *node) string {
	what := "the named context " + in.fsName
	if in.fsName == "context" {
		what = "the build context"
	}
	return "it is based on " + what + ", which BuildKit keys by build session: it runs at every build"
}

type component struct{ key, why string }

func componentKeys(cs []component) []string {
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.key
	}
	return keys
}

// changeReason names the inputs of a step no recorded build had.
func (p *predictor) changeReason(comps []component) string {
	if len(p.hist) == 0 {
		return "no earlier build recorded"
	}
	var whys []string
	seen := map[string]bool{}
	for _, c := range comps {
		if !p.recorded(c.key) && !seen[c.why] {
			seen[c.why] = true
			whys = append(whys, c.why)
		}
	}
	if len(whys) == 0 {
		return "this combination of inputs was not built before"
	}
	return strings.Join(whys, "; ")
}

func reasons(sets ...causeSet) string {
	all := causeSet{}
	for _, s := range sets {
		all.add(s)
	}
	var rs []string
	for _, c := range all.sorted() {
		rs = append(rs, c.reason())
	}
	return strings.Join(rs, "; ")
}

// envWhy words a changed process environment variable.
func (p *predictor) envWhy(stage, k string) string {
	if p.stageArgs[stage][k] {
		return "build arg " + k + " changed"
	}
	if p.stageEnvs[stage][k] {
		return "ENV " + k + " changed"
	}
	return "environment variable " + k + " changed"
}

// outputLabel names what a node's output is, stably across builds, for
// finding its outputs at recorded builds.
type label struct {
	key, subject string
	image        bool
}

func (p *predictor) outputLabel(n *node) label {
	for n.kind == internalNode && len(n.inputs) > 0 {
		n = n.inputs[0]
	}
	if n.kind == imageNode {
		return label{key: "image " + n.ref, subject: n.ref, image: true}
	}
	return label{key: "stage " + n.stage, subject: n.stage}
}

const outputKeyPrefix = "output "

// outputKey is the recorded key saying that a build's output named by
// label had the node key k.
func outputKey(label, k string) string { return outputKeyPrefix + label + " " + k }

// outputsOf returns the node keys the output named by label had at
// recorded builds, most recent first.
func (p *predictor) outputsOf(label string) []string {
	prefix := outputKeyPrefix + label + " "
	type rec struct {
		k string
		t int64
	}
	var recs []rec
	for k, t := range p.hist {
		if strings.HasPrefix(k, prefix) {
			recs = append(recs, rec{strings.TrimPrefix(k, prefix), t.UnixNano()})
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].t > recs[j].t })
	if len(recs) > maxAlternatives {
		recs = recs[:maxAlternatives]
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.k
	}
	return out
}

// maxAlternatives bounds how many earlier builds an uncertain input is
// matched against, so that a long history cannot make a plan slow.
const maxAlternatives = 32

// combinations hashes every choice of one option per part and keeps the
// keys a recorded build had.
func (p *predictor) combinations(options [][]string) []string {
	var out []string
	parts := make([]string, len(options))
	var rec func(i int)
	rec = func(i int) {
		if i == len(options) {
			if k := digestOf(parts...); p.recorded(k) {
				out = append(out, k)
			}
			return
		}
		for _, o := range options[i] {
			parts[i] = o
			rec(i + 1)
		}
	}
	rec(0)
	return out
}

// hashLocal keys a selection of a local context, reporting a source that
// is not there.
func (p *predictor) hashLocal(n *node, in *node, sel selector) string {
	if in.fs == nil {
		p.finding(Finding{Severity: Error, Rule: "CopySourceNotFound", Line: n.line(),
			Summary: "No build context",
			Message: fmt.Sprintf("%s reads %q from the build context %q, but no such context is set.", n.instr, sel.String(), in.fsName)})
		return digestOf("no-context", in.fsName, sel.Path)
	}
	hash := in.fs.hash
	if p.lint {
		hash = in.fs.exists
	}
	s, err := hash(sel)
	if err != nil {
		p.err = err
		return ""
	}
	if !s.found && !sel.Wildcard {
		where := "the build context"
		if in.fsName != "context" {
			where = "the named context " + in.fsName
		}
		msg := fmt.Sprintf("%s needs %q from %s, but it is not there, so BuildKit would fail this step.", instrOrName(n), sel.String(), where)
		if s.ignored {
			msg = fmt.Sprintf("%s needs %q from %s, but its %s excludes it, so BuildKit would fail this step.", instrOrName(n), sel.String(), where, filepath.Base(in.fs.ignoreFile))
		}
		p.finding(Finding{Severity: Error, Rule: "CopySourceNotFound", Line: n.line(), Summary: "Source not in build context", Message: msg})
	}
	return digestOf("local", s.key)
}

func instrOrName(n *node) string {
	if n.instr != "" {
		return n.instr
	}
	return n.name
}
