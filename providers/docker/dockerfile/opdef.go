package dockerfile

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/solver/pb"
)

// opDef is the part of an op's cache key that comes from the op itself, and
// how each of its inputs enters the key. It mirrors the CacheMap methods of
// BuildKit's solver/llbsolver/ops (exec.go, file.go): the same fields are
// cleared, and the same inputs are keyed by the content of a selection
// instead of by the input's own key.
type opDef struct {
	kind string
	// def is canonical JSON of the op, without its inputs' identities.
	def []byte
	// defNoEnv is def without the process environment (RUN only); env
	// holds it, for explaining which variable changed.
	defNoEnv []byte
	env      []string
	// content maps an input index to the selections BuildKit hashes by
	// content; inputs absent from it enter the key by their own key.
	content map[int][]selector
}

// selector is one selection of files in an input, as BuildKit's contenthash
// takes it.
type selector struct {
	Path            string
	Wildcard        bool
	FollowLinks     bool
	IncludePatterns []string
	ExcludePatterns []string
}

func (s selector) String() string {
	return strings.TrimPrefix(s.Path, "/")
}

func defOf(op *pb.Op) (*opDef, error) {
	switch o := op.Op.(type) {
	case *pb.Op_Exec:
		return execDef(o.Exec, op.Platform)
	case *pb.Op_File:
		return fileDef(o.File)
	case *pb.Op_Merge:
		return &opDef{kind: "merge", def: []byte(fmt.Sprint(len(o.Merge.Inputs)))}, nil
	case *pb.Op_Diff:
		dt, err := json.Marshal(o.Diff)
		return &opDef{kind: "diff", def: dt}, err
	case *pb.Op_Build:
		dt, err := json.Marshal(o.Build)
		return &opDef{kind: "build", def: dt}, err
	}
	return nil, fmt.Errorf("unexpected op %T", op.Op)
}

func execDef(e *pb.ExecOp, p *pb.Platform) (*opDef, error) {
	op := e.CloneVT()
	if op.Meta == nil {
		op.Meta = &pb.Meta{}
	}
	for _, h := range op.Meta.ExtraHosts {
		h.IP = ""
	}
	d := &opDef{kind: "exec", content: map[int][]selector{}}
	for _, m := range op.Mounts {
		sel := path.Join("/", m.Selector)
		switch m.MountType {
		case pb.MountType_SECRET, pb.MountType_SSH, pb.MountType_TMPFS:
		default:
			if m.Input >= 0 && contentBasedMount(m, sel) {
				d.content[int(m.Input)] = append(d.content[int(m.Input)], selector{Path: sel})
			}
		}
		m.Selector = ""
		if m.CacheOpt != nil && !defaultCacheID(m) {
			m.CacheOpt.ID = ""
			m.CacheOpt.Sharing = 0
		}
	}
	op.Meta.ProxyEnv = nil
	if len(op.Mounts) == 1 && op.Mounts[0].Dest == "/" && op.Mounts[0].MountType == pb.MountType_BIND &&
		!op.Mounts[0].Readonly && op.Mounts[0].CacheOpt == nil && op.Mounts[0].SSHOpt == nil &&
		op.Mounts[0].SecretOpt == nil && op.Mounts[0].ResultID == "" {
		op.Mounts = nil
	}
	type canonical struct {
		Exec     *pb.ExecOp
		Platform string
	}
	platform := strings.Join(append([]string{p.GetOS(), p.GetArchitecture(), p.GetVariant(), p.GetOSVersion()}, p.GetOSFeatures()...), "/")
	var err error
	if d.def, err = json.Marshal(canonical{op, platform}); err != nil {
		return nil, err
	}
	d.env = op.Meta.Env
	op.Meta.Env = nil
	if d.defNoEnv, err = json.Marshal(canonical{op, platform}); err != nil {
		return nil, err
	}
	return d, nil
}

// contentBasedMount says whether BuildKit keys a mount's input by content
// (ops/exec.go getMountDeps): read-only or output-less mounts, or mounts of a
// whole input; never the root mount.
func contentBasedMount(m *pb.Mount, sel string) bool {
	ok := m.Output == int64(pb.SkipOutput) || m.Readonly || sel == "/"
	switch m.ContentCache {
	case pb.MountContentCache_OFF:
		ok = false
	case pb.MountContentCache_DEFAULT:
		if m.Dest == "/" {
			ok = false
		}
	}
	return ok
}

// defaultCacheID reports a Dockerfile cache mount whose id is its target
// (optionally namespaced): BuildKit keeps those ids in the key.
func defaultCacheID(m *pb.Mount) bool {
	if m.CacheOpt.Sharing != 0 {
		return false
	}
	if m.CacheOpt.ID == m.Dest {
		return true
	}
	_, trimmed, ok := strings.Cut(m.CacheOpt.ID, "/")
	return ok && trimmed == m.Dest
}

func fileDef(f *pb.FileOp) (*opDef, error) {
	d := &opDef{kind: "file", content: map[int][]selector{}}
	primary := map[int]bool{}
	var actions [][]byte
	var indexes [][]int
	for _, action := range f.Actions {
		if action.Input >= 0 {
			primary[int(action.Input)] = true
		}
		var v any
		switch a := action.Action.(type) {
		case *pb.FileAction_Mkdir:
			v = a.Mkdir
		case *pb.FileAction_Mkfile:
			v = a.Mkfile
		case *pb.FileAction_Symlink:
			v = a.Symlink
		case *pb.FileAction_Rm:
			v = a.Rm
		case *pb.FileAction_Copy:
			c := a.Copy.CloneVT()
			if action.SecondaryInput >= 0 {
				i := int(action.SecondaryInput)
				d.content[i] = append(d.content[i], selector{
					Path:            c.Src,
					Wildcard:        c.AllowWildcard && hasWildcard(c.Src),
					FollowLinks:     c.FollowSymlink,
					IncludePatterns: c.IncludePatterns,
					ExcludePatterns: c.ExcludePatterns,
				})
				// BuildKit keys the source by content; only its base name
				// stays in the op's own key.
				c.Src = path.Base(c.Src)
			}
			v = c
		default:
			return nil, fmt.Errorf("unexpected file action %T", action.Action)
		}
		dt, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		actions = append(actions, dt)
		indexes = append(indexes, []int{int(action.Input), int(action.SecondaryInput), int(action.Output)})
	}
	// A primary input is the filesystem being modified: it is keyed by its
	// own key even when another action also reads from it.
	for i := range primary {
		delete(d.content, i)
	}
	var err error
	d.def, err = json.Marshal(struct {
		Actions [][]byte
		Indexes [][]int
	}{actions, indexes})
	d.defNoEnv = d.def
	return d, err
}

func hasWildcard(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}
