package state

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// Version is the state format version this package reads and writes. A file
// with a higher version was written by a newer sdform and is refused.
const Version = 1

// File is the whole content of one state file.
type File struct {
	Version int
	// Serial is incremented by every Save.
	Serial uint64
	// Lineage is a random ID given to a state when it is first created and
	// kept for its whole life: two files with different lineages are
	// unrelated histories, not two versions of one.
	Lineage string
	// SdformVersion is the version of the sdform that last wrote the file.
	// The caller sets it (lang.Version) before Save; this package does not
	// import lang.
	SdformVersion string

	Resources []*Resource
	Checks    []*Check
	Outputs   map[string]*Output

	// onDisk remembers the file this state was last read from or written
	// to, so that Save can skip re-validating a file it knows.
	onDisk diskRecord
}

type diskRecord struct {
	path string
	sum  [sha256.Size]byte
}

// Resource is what sdform recorded about one managed resource or data source.
type Resource struct {
	Address  string // "docker_image.comfyui", "data.gpu_host.local"
	Mode     string // ModeManaged or ModeData
	Type     string
	Name     string
	Provider string

	// Value holds the attributes after the last apply or read. It is stored
	// with its type, so it reads back exactly. It must hold no marks and no
	// unknown values: the planner replaces sensitive leaves by
	// "sha256:<hmac>" strings before storing them.
	Value cty.Value

	// Fingerprint digests the inputs the object was built from.
	Fingerprint string
	// Private is provider data the engine does not interpret (per-step cache
	// keys, the stat record of a verified file).
	Private      []byte
	Dependencies []string // addresses, stored sorted
	// SensitivePaths are the paths of Value that were sensitive when it
	// was stored (their leaves are redacted). It lets the planner tell a
	// redacted secret from a value that only looks like one (an image
	// digest is "sha256:" and 64 hex digits too). Nil means not recorded
	// (a state written before this field existed).
	SensitivePaths []cty.Path

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Resource modes, as in lang and plan.
const (
	ModeManaged = "managed"
	ModeData    = "data"
)

// Check is the last result of one check block or test.
type Check struct {
	Address   string
	Status    string // "pass", "fail", "error" or "unknown"
	Messages  []string
	UpdatedAt time.Time
}

// Output is one root output value. A sensitive output is stored redacted,
// like sensitive attributes.
type Output struct {
	Value     cty.Value
	Sensitive bool
}

// New returns an empty state with a fresh lineage and serial 0.
func New() *File {
	return &File{
		Version: Version,
		Lineage: newLineage(),
		Outputs: map[string]*Output{},
	}
}

// newLineage returns a random UUID (version 4) string.
func newLineage() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// SameLineage reports whether f and o are versions of the same state history.
func (f *File) SameLineage(o *File) bool {
	return f != nil && o != nil && f.Lineage != "" && f.Lineage == o.Lineage
}

// Resource returns the resource recorded at addr, or nil.
func (f *File) Resource(addr string) *Resource {
	for _, r := range f.Resources {
		if r.Address == addr {
			return r
		}
	}
	return nil
}

// Set records r, replacing any resource with the same address.
func (f *File) Set(r *Resource) {
	for i, old := range f.Resources {
		if old.Address == r.Address {
			f.Resources[i] = r
			return
		}
	}
	f.Resources = append(f.Resources, r)
}

// Remove forgets the resource at addr and reports whether there was one.
func (f *File) Remove(addr string) bool {
	for i, r := range f.Resources {
		if r.Address == addr {
			f.Resources = slices.Delete(f.Resources, i, i+1)
			return true
		}
	}
	return false
}

// Check returns the recorded result of the check at addr, or nil.
func (f *File) Check(addr string) *Check {
	for _, c := range f.Checks {
		if c.Address == addr {
			return c
		}
	}
	return nil
}

// SetCheck records c, replacing any result with the same address.
func (f *File) SetCheck(c *Check) {
	for i, old := range f.Checks {
		if old.Address == c.Address {
			f.Checks[i] = c
			return
		}
	}
	f.Checks = append(f.Checks, c)
}

// Copy returns a deep copy of f that shares nothing mutable with it (cty
// values are immutable and are shared).
func (f *File) Copy() *File {
	if f == nil {
		return nil
	}
	c := &File{
		Version:       f.Version,
		Serial:        f.Serial,
		Lineage:       f.Lineage,
		SdformVersion: f.SdformVersion,
		onDisk:        f.onDisk,
	}
	if f.Resources != nil {
		c.Resources = make([]*Resource, len(f.Resources))
		for i, r := range f.Resources {
			c.Resources[i] = r.Copy()
		}
	}
	if f.Checks != nil {
		c.Checks = make([]*Check, len(f.Checks))
		for i, ch := range f.Checks {
			cc := *ch
			cc.Messages = slices.Clone(ch.Messages)
			c.Checks[i] = &cc
		}
	}
	if f.Outputs != nil {
		c.Outputs = make(map[string]*Output, len(f.Outputs))
		for k, o := range f.Outputs {
			oc := *o
			c.Outputs[k] = &oc
		}
	}
	return c
}

// Copy returns a deep copy of r.
func (r *Resource) Copy() *Resource {
	if r == nil {
		return nil
	}
	c := *r
	c.Private = slices.Clone(r.Private)
	c.Dependencies = slices.Clone(r.Dependencies)
	if r.SensitivePaths != nil {
		c.SensitivePaths = make([]cty.Path, len(r.SensitivePaths))
		for i, p := range r.SensitivePaths {
			c.SensitivePaths[i] = p.Copy()
		}
	}
	return &c
}
