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
// contenthash keys COPY sources: relative names, file modes, link targets
// and file contents of the selected paths, after .dockerignore. Timestamps
// do not count (contenthash uses tarsum headers without them), nor do
// owners and directory modes (see writeEntry).
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

// exists says whether sel selects anything, as hash does, without walking
// or reading the context: a path is looked up on its own and checked
// against .dockerignore. A wildcard always counts as found (BuildKit does
// not fail a COPY whose wildcard matches nothing), and so does a path that
// .dockerignore excludes while a "!" pattern may take part of it back.
func (c *contextFS) exists(sel selector) (selection, error) {
	rel := strings.TrimPrefix(path.Clean("/"+sel.Path), "/")
	key := digestOf("lint", rel)
	if sel.Wildcard || rel == "" {
		return selection{key: key, found: true}, nil
	}
	if _, err := os.Lstat(c.abs(rel)); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return selection{key: key}, nil
		}
		return selection{}, fmt.Errorf("read context %s: %w", c.root, err)
	}
	if c.ignore != nil && !c.ignore.Exclusions() {
		if m, _ := c.ignore.MatchesOrParentMatches(rel); m {
			return selection{key: key, ignored: true}, nil
		}
	}
	return selection{key: key, found: true}, nil
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

// writeEntry hashes one selected path as BuildKit's key sees it. Owners
// never count: BuildKit's client sends the context with uid and gid 0
// (client/solve.go, resetUIDAndGID). A directory's mode does not count
// either: BuildKit keeps the context it received at the last build and,
// for a directory still there, only updates it on disk (fsutil's
// RootDiskWriter), so its content hash keeps the mode first sent.
func (c *contextFS) writeEntry(h hash.Hash, name string, e *entry) error {
	var buf [8]byte
	io.WriteString(h, name)
	h.Write([]byte{0})
	mode := e.mode
	if mode.IsDir() {
		mode = fs.ModeDir
	}
	binary.LittleEndian.PutUint32(buf[:4], uint32(mode))
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

// walk lists rel and everything below it that .dockerignore keeps. Each
// directory is read and its entries stat'ed relative to it, several
// directories and slices of large directories at a time: a stat is a round
// trip to the kernel that needs little CPU, and on virtual machines it is
// slow enough to dominate a no-op plan.
func (c *contextFS) walk(rel string) ([]*entry, error) {
	info, err := c.parentMatch(rel)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(c.abs(rel))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("walk context %s: %w", c.root, err)
	}
	w := &walker{c: c, sem: make(chan struct{}, 4*runtime.GOMAXPROCS(0))}
	keep, descend, mi, err := w.match(rel, fi.IsDir(), info)
	if err != nil {
		return nil, err
	}
	if keep {
		e := &entry{rel: rel, mode: fi.Mode(), st: statOf(fi)}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if e.link, err = os.Readlink(c.abs(rel)); err != nil {
				return nil, fmt.Errorf("walk context %s: %w", c.root, err)
			}
		}
		w.entries = append(w.entries, e)
	}
	if descend {
		w.wg.Add(1)
		go w.dir(rel, mi)
		w.wg.Wait()
	}
	if w.err != nil {
		return nil, fmt.Errorf("walk context %s: %w", c.root, w.err)
	}
	es := w.entries
	sort.Slice(es, func(i, j int) bool { return es[i].rel < es[j].rel })
	c.cache.sawTree(rel)
	return es, nil
}

// walker is one walk's shared state.
type walker struct {
	c   *contextFS
	sem chan struct{} // bounds the directories being read at once
	wg  sync.WaitGroup

	mu      sync.Mutex
	entries []*entry
	err     error
}

// statChunk is how many entries of one directory one task stats.
const statChunk = 128

// match applies .dockerignore to one path: whether to keep its entry and
// whether to walk below it (an excluded directory is walked only when a
// "!" pattern may take something below it back).
func (w *walker) match(rel string, isDir bool, parent patternmatcher.MatchInfo) (keep, descend bool, mi patternmatcher.MatchInfo, err error) {
	if w.c.ignore == nil || rel == "" {
		return true, isDir, mi, nil
	}
	excluded, mi, err := w.c.ignore.MatchesUsingParentResults(rel, parent)
	if err != nil {
		return false, false, mi, fmt.Errorf("match dockerignore: %w", err)
	}
	return !excluded, isDir && (!excluded || w.c.ignore.Exclusions()), mi, nil
}

func (w *walker) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// dir reads a directory's names and hands them to stat tasks.
func (w *walker) dir(rel string, mi patternmatcher.MatchInfo) {
	defer w.wg.Done()
	w.sem <- struct{}{}
	des, err := os.ReadDir(w.c.abs(rel))
	<-w.sem
	if err != nil {
		w.fail(err)
		return
	}
	for i := 0; i < len(des); i += statChunk {
		w.wg.Add(1)
		go w.stat(rel, des[i:min(i+statChunk, len(des))], mi)
	}
}

// stat stats some entries of the directory rel and walks the directories
// among them.
func (w *walker) stat(rel string, des []fs.DirEntry, mi patternmatcher.MatchInfo) {
	defer w.wg.Done()
	w.sem <- struct{}{}
	defer func() { <-w.sem }()
	d, err := os.Open(w.c.abs(rel))
	if err != nil {
		w.fail(err)
		return
	}
	defer d.Close()
	var es []*entry
	for _, de := range des {
		child := de.Name()
		if rel != "" {
			child = rel + "/" + child
		}
		keep, descend, cmi, err := w.match(child, de.IsDir(), mi)
		if err != nil {
			w.fail(err)
			return
		}
		if keep {
			mode, st, link, err := statAt(d, de.Name())
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while we walked
			}
			if err != nil {
				w.fail(err)
				return
			}
			es = append(es, &entry{rel: child, mode: mode, st: st, link: link})
		}
		if descend {
			w.wg.Add(1)
			go w.dir(child, cmi)
		}
	}
	w.mu.Lock()
	w.entries = append(w.entries, es...)
	w.mu.Unlock()
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
