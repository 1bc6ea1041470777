package dockerfile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

type openFunc func(name string) (io.ReadCloser, error)

func osOpen(name string) (io.ReadCloser, error) { return os.Open(name) }

// contextFS hashes selections of one local build context the way BuildKit's
// contenthash keys COPY sources: relative names, modes, owners, link targets
// and file contents of the selected paths, after .dockerignore. Timestamps
// do not count (contenthash uses tarsum headers without them).
type contextFS struct {
	root   string
	ignore *patternmatcher.PatternMatcher
	// ignoreFile is the .dockerignore that applied, for messages.
	ignoreFile string
	cache      *statCache
	open       openFunc
	now        func() time.Time

	// walks holds the entries under each walked directory (relative,
	// slash-separated, "" for the root), sorted by name.
	walks map[string][]*entry
}

type entry struct {
	rel  string
	mode fs.FileMode
	link string
	st   fileStat
	sum  []byte // content digest of a regular file, filled on demand
}

func newContextFS(root string, ignoreFiles []string, cache *statCache, open openFunc, now func() time.Time) (*contextFS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve context %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("read context: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read context: %s is not a directory", abs)
	}
	if open == nil {
		open = osOpen
	}
	if now == nil {
		now = time.Now
	}
	c := &contextFS{root: abs, cache: cache, open: open, now: now, walks: map[string][]*entry{}}
	for _, name := range ignoreFiles {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read dockerignore: %w", err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read dockerignore %s: %w", name, err)
		}
		if len(patterns) > 0 {
			if c.ignore, err = patternmatcher.New(patterns); err != nil {
				return nil, fmt.Errorf("read dockerignore %s: %w", name, err)
			}
		}
		c.ignoreFile = name
		break
	}
	return c, nil
}

// selection is the result of hashing one selector.
type selection struct {
	key string
	// found is false when nothing matched (BuildKit fails such a COPY
	// unless the source has a wildcard).
	found bool
	// ignored is true when the path exists but .dockerignore excludes it.
	ignored bool
}

// hash returns the content key of what sel selects.
func (c *contextFS) hash(sel selector) (selection, error) {
	rel := strings.TrimPrefix(path.Clean("/"+sel.Path), "/")
	var roots []*entry // the selected paths; each brings its subtree
	var base string    // names are hashed relative to base
	if sel.Wildcard {
		static, pattern := splitWildcard(rel)
		es, err := c.under(static)
		if err != nil {
			return selection{}, err
		}
		depth := strings.Count(pattern, "/") + 1
		for _, e := range es {
			name := relTo(static, e.rel)
			if name == "" || strings.Count(name, "/")+1 != depth {
				continue
			}
			if ok, _ := path.Match(pattern, name); ok {
				roots = append(roots, e)
			}
		}
		base = static
	} else {
		es, err := c.under(rel)
		if err != nil {
			return selection{}, err
		}
		if len(es) > 0 && es[0].rel == rel {
			roots = append(roots, es[0])
		}
		base = rel
	}
	if len(roots) == 0 {
		return selection{key: digestOf("empty", rel), ignored: c.ignoredPath(rel)}, nil
	}

	h := sha256.New()
	for _, r := range roots {
		r, rootBase, err := c.follow(r, sel.FollowLinks && !sel.Wildcard, base)
		if err != nil {
			return selection{}, err
		}
		es, err := c.under(r.rel)
		if err != nil {
			return selection{}, err
		}
		var inc, exc *patternmatcher.PatternMatcher
		if inc, err = optionalMatcher(sel.IncludePatterns); err != nil {
			return selection{}, err
		}
		if exc, err = optionalMatcher(sel.ExcludePatterns); err != nil {
			return selection{}, err
		}
		for _, e := range es {
			name := relTo(r.rel, e.rel)
			if name != "" && !selected(name, inc, exc) {
				continue
			}
			if err := c.writeEntry(h, relTo(rootBase, r.rel)+"/"+name, e); err != nil {
				return selection{}, err
			}
		}
	}
	return selection{key: hex.EncodeToString(h.Sum(nil)), found: true}, nil
}

func optionalMatcher(patterns []string) (*patternmatcher.PatternMatcher, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	return patternmatcher.New(patterns)
}

func selected(name string, inc, exc *patternmatcher.PatternMatcher) bool {
	if exc != nil {
		if m, _ := exc.MatchesOrParentMatches(name); m {
			return false
		}
	}
	if inc != nil {
		if m, _ := inc.MatchesOrParentMatches(name); !m {
			return false
		}
	}
	return true
}

// follow resolves a selected symlink inside the context, as COPY follows a
// source that is a link.
func (c *contextFS) follow(e *entry, follow bool, base string) (*entry, string, error) {
	for hops := 0; follow && e.mode&fs.ModeSymlink != 0 && hops < 40; hops++ {
		target := e.link
		if !path.IsAbs(target) {
			target = path.Join("/", path.Dir(e.rel), target)
		}
		rel := strings.TrimPrefix(path.Clean(target), "/")
		es, err := c.under(rel)
		if err != nil {
			return nil, "", err
		}
		if len(es) == 0 || es[0].rel != rel {
			break // dangling: BuildKit copies the link itself
		}
		// Names below the link stay relative to where the link is.
		base = path.Dir(rel)
		if base == "." {
			base = ""
		}
		e = es[0]
	}
	return e, base, nil
}

func (c *contextFS) writeEntry(h hash.Hash, name string, e *entry) error {
	var buf [8]byte
	io.WriteString(h, name)
	h.Write([]byte{0})
	binary.LittleEndian.PutUint32(buf[:4], uint32(e.mode))
	h.Write(buf[:4])
	binary.LittleEndian.PutUint32(buf[:4], e.st.UID)
	h.Write(buf[:4])
	binary.LittleEndian.PutUint32(buf[:4], e.st.GID)
	h.Write(buf[:4])
	io.WriteString(h, e.link)
	h.Write([]byte{0})
	if e.mode.IsRegular() {
		sum, err := c.sum(e)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(buf[:], uint64(e.st.Size))
		h.Write(buf[:])
		h.Write(sum)
	}
	return nil
}

// sum returns a file's content digest, from the stat cache when its stat
// has not changed since it was hashed.
func (c *contextFS) sum(e *entry) ([]byte, error) {
	if e.sum != nil {
		return e.sum, nil
	}
	if s, ok := c.cache.lookup(e.rel, e.st); ok {
		e.sum = s
		return s, nil
	}
	f, err := c.open(filepath.Join(c.root, filepath.FromSlash(e.rel)))
	if err != nil {
		return nil, fmt.Errorf("hash context file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash context file %s: %w", e.rel, err)
	}
	e.sum = h.Sum(nil)
	c.cache.store(e.rel, e.st, e.sum, c.now())
	return e.sum, nil
}

// under returns the entry for rel and everything below it, walking the
// directory once per plan.
func (c *contextFS) under(rel string) ([]*entry, error) {
	for r, es := range c.walks {
		if r == rel || r == "" || strings.HasPrefix(rel, r+"/") {
			return subtree(es, rel), nil
		}
	}
	es, err := c.walk(rel)
	if err != nil {
		return nil, err
	}
	c.walks[rel] = es
	return es, nil
}

// subtree returns the entries of a sorted list at or below rel.
func subtree(es []*entry, rel string) []*entry {
	if rel == "" {
		return es
	}
	i := sort.Search(len(es), func(i int) bool { return es[i].rel >= rel })
	j := i
	for j < len(es) && (es[j].rel == rel || strings.HasPrefix(es[j].rel, rel+"/")) {
		j++
	}
	return es[i:j]
}

// walk lists rel and everything below it that .dockerignore keeps. Names
// come from reading directories; the stat of each entry, which is most of
// the cost on a large context, is taken in parallel.
func (c *contextFS) walk(rel string) ([]*entry, error) {
	info, err := c.parentMatch(rel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(c.abs(rel)); errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	var es []*entry
	var visit func(r string, isDir bool, parent patternmatcher.MatchInfo) error
	visit = func(r string, isDir bool, parent patternmatcher.MatchInfo) error {
		var mi patternmatcher.MatchInfo
		if c.ignore != nil && r != "" {
			excluded, m, err := c.ignore.MatchesUsingParentResults(r, parent)
			if err != nil {
				return fmt.Errorf("match dockerignore: %w", err)
			}
			mi = m
			if excluded && (!isDir || !c.ignore.Exclusions()) {
				return nil
			}
			if !excluded {
				es = append(es, &entry{rel: r})
			}
		} else {
			es = append(es, &entry{rel: r})
		}
		if !isDir {
			return nil
		}
		des, err := os.ReadDir(c.abs(r))
		if err != nil {
			return err
		}
		for _, de := range des {
			child := de.Name()
			if r != "" {
				child = r + "/" + child
			}
			if err := visit(child, de.IsDir(), mi); err != nil {
				return err
			}
		}
		return nil
	}
	fi, err := os.Lstat(c.abs(rel))
	if err != nil {
		return nil, fmt.Errorf("walk context %s: %w", c.root, err)
	}
	if err := visit(rel, fi.IsDir(), info); err != nil {
		return nil, fmt.Errorf("walk context %s: %w", c.root, err)
	}
	if err := c.statAll(es); err != nil {
		return nil, fmt.Errorf("walk context %s: %w", c.root, err)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].rel < es[j].rel })
	c.cache.sawTree(rel)
	return es, nil
}

// statAll fills in the stat of each entry, several at a time: a stat is a
// round trip to the kernel that does not need the CPU, and on virtual
// machines it is slow enough to dominate a no-op plan.
func (c *contextFS) statAll(es []*entry) error {
	workers := min(4*runtime.GOMAXPROCS(0), (len(es)+63)/64)
	if workers < 1 {
		workers = 1
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(es); i += workers {
				e := es[i]
				p := c.abs(e.rel)
				fi, err := os.Lstat(p)
				if err != nil {
					errs[w] = err
					return
				}
				e.mode, e.st = fi.Mode(), statOf(fi)
				if fi.Mode()&fs.ModeSymlink != 0 {
					if e.link, err = os.Readlink(p); err != nil {
						errs[w] = err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *contextFS) abs(rel string) string {
	if rel == "" {
		return c.root
	}
	return filepath.Join(c.root, filepath.FromSlash(rel))
}

// prefetch walks, once each, the directories that the selections will
// read, so that overlapping COPY sources do not walk the same tree twice.
func (c *contextFS) prefetch(sels []selector) error {
	var roots []string
	for _, sel := range sels {
		rel := strings.TrimPrefix(path.Clean("/"+sel.Path), "/")
		if sel.Wildcard {
			rel, _ = splitWildcard(rel)
		}
		roots = append(roots, rel)
	}
	sort.Strings(roots)
	var kept []string
	for _, r := range roots {
		if len(kept) > 0 {
			last := kept[len(kept)-1]
			if last == "" || r == last || strings.HasPrefix(r, last+"/") {
				continue
			}
		}
		kept = append(kept, r)
	}
	for _, r := range kept {
		if _, err := c.under(r); err != nil {
			return err
		}
	}
	return nil
}

// parentMatch computes the dockerignore state of rel's parent directory, so
// that a walk can start below the context root.
func (c *contextFS) parentMatch(rel string) (patternmatcher.MatchInfo, error) {
	var info patternmatcher.MatchInfo
	if c.ignore == nil || rel == "" {
		return info, nil
	}
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		_, mi, err := c.ignore.MatchesUsingParentResults(strings.Join(parts[:i], "/"), info)
		if err != nil {
			return info, fmt.Errorf("match dockerignore: %w", err)
		}
		info = mi
	}
	return info, nil
}

// ignoredPath reports whether rel exists but .dockerignore excludes it.
func (c *contextFS) ignoredPath(rel string) bool {
	if c.ignore == nil || rel == "" {
		return false
	}
	if _, err := os.Lstat(c.abs(rel)); err != nil {
		return false
	}
	m, _ := c.ignore.MatchesOrParentMatches(rel)
	return m
}

func splitWildcard(rel string) (static, pattern string) {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		if hasWildcard(p) {
			return strings.Join(parts[:i], "/"), strings.Join(parts[i:], "/")
		}
	}
	return rel, ""
}

// relTo returns p relative to the directory base ("" when equal).
func relTo(base, p string) string {
	if base == "" {
		return p
	}
	if p == base {
		return ""
	}
	return strings.TrimPrefix(p, base+"/")
}
