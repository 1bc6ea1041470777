package comfyui

import (
	"fmt"
	"sort"
	"sync"

	"github.com/sdform/sdform/lang"
)

// spaceTally records, for one command, the bytes each object's plan
// downloads and to which file system, so that downloads that each fit but
// not together (an apply runs them at once) fail the plan rather than the
// disk. Calls may come in parallel.
type spaceTally struct {
	mu     sync.Mutex
	byAddr map[string]spaceNeed
}

type spaceNeed struct {
	dev   uint64 // the file system's device
	bytes int64
}

// drop forgets what addr downloads: its plan is being made again, or its
// apply has ended (its bytes are on disk, or it failed).
func (t *spaceTally) drop(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byAddr, addr)
}

// left lowers what addr still downloads to left bytes, as its download
// progresses: its written bytes are no longer free, and a plan made
// meanwhile (of an object whose dependency was just applied) must not
// count them twice.
func (t *spaceTally) left(addr string, left int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n, ok := t.byAddr[addr]; ok && left < n.bytes {
		n.bytes = max(left, 0)
		t.byAddr[addr] = n
	}
}

// others records that addr downloads own bytes to the file system dev (0:
// it may, but need not, download) and returns what the other objects
// download there, by address.
func (t *spaceTally) others(addr string, dev uint64, own int64) map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byAddr == nil {
		t.byAddr = map[string]spaceNeed{}
	}
	if own > 0 {
		t.byAddr[addr] = spaceNeed{dev: dev, bytes: own}
	} else {
		delete(t.byAddr, addr)
	}
	out := map[string]int64{}
	for a, n := range t.byAddr {
		if a != addr && n.dev == dev {
			out[a] = n.bytes
		}
	}
	return out
}

// describeOthers words the other downloads to one file system, sorted by
// address: "comfyui_model.a (39.4 GB) and comfyui_model.b (2.0 GB)", and
// returns their sum.
func describeOthers(others map[string]int64) (string, int64) {
	addrs := make([]string, 0, len(others))
	var sum int64
	for a, n := range others {
		addrs = append(addrs, a)
		sum += n
	}
	sort.Strings(addrs)
	words := make([]string, len(addrs))
	for i, a := range addrs {
		words[i] = fmt.Sprintf("%s (%s)", a, lang.FormatSize(others[a]))
	}
	return lang.JoinAnd(words), sum
}
