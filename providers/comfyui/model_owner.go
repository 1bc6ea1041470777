package comfyui

import (
	"path/filepath"
	"slices"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// fileOwners records, for one command, which objects write which model
// file. Calls may come in parallel.
type fileOwners struct {
	mu     sync.Mutex
	byFile map[string][]string // full path → addresses, sorted
	byAddr map[string]string   // address → full path
}

// claim records that addr writes full (and no longer the file it claimed
// before, if another) and returns every address that writes full, sorted.
func (o *fileOwners) claim(addr, full string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byFile == nil {
		o.byFile, o.byAddr = map[string][]string{}, map[string]string{}
	}
	if old, ok := o.byAddr[addr]; ok && old != full {
		o.byFile[old] = slices.DeleteFunc(o.byFile[old], func(a string) bool { return a == addr })
	}
	o.byAddr[addr] = full
	owners := o.byFile[full]
	if !slices.Contains(owners, addr) {
		owners = append(owners, addr)
		slices.Sort(owners)
		o.byFile[full] = owners
	}
	return slices.Clone(owners)
}

// writtenByOther reports whether an object other than addr writes full.
func (o *fileOwners) writtenByOther(addr, full string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.ContainsFunc(o.byFile[full], func(a string) bool { return a != addr })
}

// blockFiles records, for validate, the objects seen at each file.
// Validate runs unconfigured, so the file is known only as written:
// models_dir (or the provider's, unknown then) and the cleaned path.
type blockFiles struct {
	mu     sync.Mutex
	byFile map[string][]string // file → addresses, in the order validated
}

// add records that addr writes the file c names, and fails when another
// object writes it too.
func (b *blockFiles) add(addr string, c modelConfig) providers.Diagnostics {
	file := filepath.Join(c.ModelsDir, c.Path)
	shown := file
	if c.ModelsDir == "" {
		// Apart from any models_dir, which may name the same folder.
		file = "\x00" + file
		shown += " in the provider's models folder"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byFile == nil {
		b.byFile = map[string][]string{}
	}
	seen := b.byFile[file]
	if slices.Contains(seen, addr) {
		return nil
	}
	b.byFile[file] = append(seen, addr)
	if len(seen) == 0 {
		return nil
	}
	both := []string{seen[0], addr}
	slices.Sort(both)
	return providers.Diagnostics{}.Errorf(cty.GetAttrPath("path"), "Two objects write one model file",
		"%s and %s both write %s; each file can belong to one comfyui_model only, or every apply downloads it over the other's. Give one of them another path or models_dir.",
		both[0], both[1], shown)
}
