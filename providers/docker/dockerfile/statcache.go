package dockerfile

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fileStat is what the stat cache compares to decide a file is unchanged.
type fileStat struct {
	Size  int64
	Mtime int64 // ns
	Ctime int64 // ns; 0 where unknown
	Ino   uint64
	Mode  uint32
	UID   uint32
	GID   uint32
}

// cachedFile is one stat cache record: the stat a file had when it was
// hashed, when that was, and the digest of its content.
type cachedFile struct {
	Stat   fileStat
	Hashed int64 // ns
	Sum    []byte
}

// racyWindow: a file whose mtime or ctime is this close to the moment it was
// hashed may have been written again within the same timestamp tick, so its
// cached digest is not trusted (git's "racily clean" rule).
const racyWindow = time.Second

const statCacheVersion = 1

// statCache maps a context file to its content digest, keyed by stat, so an
// unchanged context is stat'ed but not re-read. It is one file per context
// directory under the caller's cache directory, written only when something
// changed, by rename so that a reader never sees half a file.
type statCache struct {
	path    string
	root    string
	entries map[string]cachedFile
	seen    map[string]bool
	walked  []string
	dirty   bool
}

type statCacheFile struct {
	Version int
	Root    string
	Entries map[string]cachedFile
}

// openStatCache loads the cache of the context at root; a missing or
// unreadable cache file starts an empty cache (it is only an accelerator).
func openStatCache(dir, root string) *statCache {
	if dir == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(root))
	c := &statCache{
		path:    filepath.Join(dir, "context-"+hex.EncodeToString(sum[:8])+".gob"),
		root:    root,
		entries: map[string]cachedFile{},
		seen:    map[string]bool{},
	}
	f, err := os.Open(c.path)
	if err != nil {
		return c
	}
	defer f.Close()
	var file statCacheFile
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&file); err != nil || file.Version != statCacheVersion || file.Root != root {
		c.dirty = true
		return c
	}
	c.entries = file.Entries
	return c
}

func (c *statCache) lookup(rel string, st fileStat) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.seen[rel] = true
	e, ok := c.entries[rel]
	if !ok || e.Stat != st || len(e.Sum) != sha256.Size {
		return nil, false
	}
	if e.Hashed-max(st.Mtime, st.Ctime) < int64(racyWindow) {
		return nil, false
	}
	return e.Sum, true
}

func (c *statCache) store(rel string, st fileStat, sum []byte, at time.Time) {
	if c == nil {
		return
	}
	c.seen[rel] = true
	c.entries[rel] = cachedFile{Stat: st, Hashed: at.UnixNano(), Sum: sum}
	c.dirty = true
}

// sawTree notes that the directory rel was walked: cached files below it
// that were not seen are gone and are dropped on save.
func (c *statCache) sawTree(rel string) {
	if c != nil {
		c.walked = append(c.walked, rel)
	}
}

// save writes the cache if it changed.
func (c *statCache) save() error {
	if c == nil {
		return nil
	}
	for rel := range c.entries {
		if c.seen[rel] {
			continue
		}
		for _, w := range c.walked {
			if w == "" || rel == w || strings.HasPrefix(rel, w+"/") {
				delete(c.entries, rel)
				c.dirty = true
				break
			}
		}
	}
	if !c.dirty {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".context-*.tmp")
	if err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	err = gob.NewEncoder(w).Encode(statCacheFile{Version: statCacheVersion, Root: c.root, Entries: c.entries})
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	c.dirty = false
	return nil
}
