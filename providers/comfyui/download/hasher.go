package download

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
	"unsafe"
)

// bufSize is the unit in which connections write and hand bytes to the
// hasher: large enough to keep syscalls and hand-overs rare, small enough to
// keep progress and resume fine-grained.
const bufSize = 1 << 20

// maxReadBack bounds the read-back items that adjacent spans are merged
// into: large enough that the reader's look-ahead hides the reads, small
// enough that the digest state is snapshotted (between items) every few
// hundred milliseconds.
const maxReadBack = 256 << 20

// directAlign is the alignment O_DIRECT asks of file offsets, lengths and
// buffer addresses (the logical block size; 4 KiB covers every common disk).
const directAlign = 4096

// bufPool holds the connections' buffers, aligned for O_DIRECT writes.
var bufPool = sync.Pool{New: func() any { b := alignedBuf(bufSize); return &b }}

// alignedBuf returns n bytes starting at a directAlign-aligned address.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return b[off : off+n : off+n]
}

// hashItem is the next run of bytes to digest: a buffer handed over by a
// connection, or a span to read back from the file.
type hashItem struct {
	off int64
	n   int64
	buf *[]byte // nil: read [off, off+n) from the file
}

// orderedHasher digests a file whose pieces are written out of order. Bytes
// are hashed strictly in file order as soon as they are contiguous: a
// connection whose buffer starts exactly at the hashing frontier hands the
// buffer over (no copy, no read); bytes written ahead of the frontier are
// read back from the file (the page cache) when the frontier reaches them.
type orderedHasher struct {
	file io.ReaderAt

	mu      sync.Mutex
	cond    *sync.Cond
	claimed int64   // bytes before this offset are queued or digested
	pending spanSet // written, beyond claimed, not yet queued
	queue   []hashItem
	memHeld int64 // bytes held in queued buffers
	memMax  int64 // above this, hand-overs are refused (read back later)
	// holdFrontier makes a buffer at the frontier wait for room under memMax
	// instead of being refused: for files written with O_DIRECT, where a
	// read-back comes from the disk, not the page cache.
	holdFrontier bool
	hashed       int64 // bytes digested
	closed       bool
	err          error
	snap         hashSnapshot
	snapAt       time.Time
	every        time.Duration
	// idle is the time run has waited for bytes, not counting the wait in
	// progress since idleSince (zero while digesting).
	idle      time.Duration
	idleSince time.Time

	d        hash.Hash   // touched only by run
	readBufs chan []byte // read-back blocks, created on first use
	stopped  chan struct{}

	// Counters for benchmarks and tests: bytes digested from hand-overs
	// and from read-backs.
	fromMem, fromFile int64
}

// hashSnapshot is the digest state after the first Off bytes.
type hashSnapshot struct {
	Off   int64
	State []byte
}

// newOrderedHasher starts a hasher at the snapshot (zero value: offset 0).
// memMax bounds the bytes of handed-over buffers waiting to be hashed.
func newOrderedHasher(file io.ReaderAt, from hashSnapshot, memMax int64, every time.Duration) (*orderedHasher, error) {
	d := sha256.New()
	if from.Off > 0 {
		if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(from.State); err != nil {
			return nil, fmt.Errorf("restore sha256 state: %w", err)
		}
	}
	h := &orderedHasher{
		file: file, claimed: from.Off, hashed: from.Off, memMax: memMax,
		d: d, snap: from, every: every, snapAt: time.Now(), stopped: make(chan struct{}),
	}
	h.cond = sync.NewCond(&h.mu)
	go h.run()
	return h, nil
}

// written records that [off, off+len(*buf)) is in the file. When the buffer
// starts at the hashing frontier the hasher takes it (true: the caller must
// not reuse it); otherwise the bytes will be read back from the file.
func (h *orderedHasher) written(off, n int64, buf *[]byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := off + n
	if end <= h.claimed || h.closed {
		return false
	}
	taken := false
	for h.holdFrontier && off == h.claimed && buf != nil && h.memHeld > 0 && h.memHeld+n > h.memMax && !h.closed && h.err == nil {
		h.cond.Wait()
	}
	if off == h.claimed && buf != nil && h.memHeld+n <= h.memMax && !h.closed {
		h.queue = append(h.queue, hashItem{off: off, n: n, buf: buf})
		h.memHeld += n
		h.claimed = end
		taken = true
	} else {
		h.pending = h.pending.add(max(off, h.claimed), end)
	}
	h.absorb()
	h.cond.Broadcast()
	return taken
}

// atFrontier reports whether bytes written at off would be digested next.
func (h *orderedHasher) atFrontier(off int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return off == h.claimed
}

// absorb queues pending spans that have become contiguous with the
// frontier, to be read back from the file.
func (h *orderedHasher) absorb() {
	for {
		var sp span
		var ok bool
		h.pending, sp, ok = h.pending.popAt(h.claimed)
		if !ok {
			return
		}
		// Adjacent read-backs queue as one item (up to maxReadBack), so
		// that readBack's reader runs ahead of the digest across them
		// instead of reading and hashing one write's bytes at a time in
		// turn, which is what a hasher behind the network would otherwise
		// do.
		if k := len(h.queue); k > 0 && h.queue[k-1].buf == nil &&
			h.queue[k-1].off+h.queue[k-1].n == sp.Start && h.queue[k-1].n < maxReadBack {
			h.queue[k-1].n += sp.End - sp.Start
		} else {
			h.queue = append(h.queue, hashItem{off: sp.Start, n: sp.End - sp.Start})
		}
		h.claimed = sp.End
	}
}

func (h *orderedHasher) run() {
	defer close(h.stopped)
	for {
		h.mu.Lock()
		if len(h.queue) == 0 && !h.closed {
			h.idleSince = time.Now()
			for len(h.queue) == 0 && !h.closed {
				h.cond.Wait()
			}
			h.idle += time.Since(h.idleSince)
			h.idleSince = time.Time{}
		}
		if len(h.queue) == 0 {
			h.mu.Unlock()
			return
		}
		it := h.queue[0]
		h.queue = h.queue[1:]
		failed := h.err != nil
		h.mu.Unlock()

		// After a failure nothing more is digested: the digest would skip
		// the bytes that failed.
		var n int64
		var err error
		if failed {
			h.drop(it)
		} else {
			n, err = h.digest(it)
		}

		h.mu.Lock()
		if it.buf != nil {
			h.memHeld -= it.n
		}
		if err != nil && h.err == nil {
			h.err = err
		}
		// Only digested bytes count, so that hashed and the digest's state
		// describe the same bytes; after a failure no snapshot is taken,
		// and the last one stays the state a resume can trust.
		h.hashed += n
		if h.err == nil && time.Since(h.snapAt) >= h.every {
			h.snapshotLocked()
		}
		h.cond.Broadcast()
		h.mu.Unlock()
	}
}

// digest digests the item and returns how many of its bytes it digested
// (fewer than it.n only with an error).
func (h *orderedHasher) digest(it hashItem) (int64, error) {
	if it.buf != nil {
		h.d.Write((*it.buf)[:it.n])
		h.fromMem += it.n
		bufPool.Put(it.buf)
		return it.n, nil
	}
	n, err := h.readBack(it.off, it.n)
	h.fromFile += n
	return n, err
}

// drop releases an item that will not be digested.
func (h *orderedHasher) drop(it hashItem) {
	if it.buf != nil {
		bufPool.Put(it.buf)
	}
}

// readBack digests [off, off+n) from the file. A reader goroutine stays a
// few blocks ahead, so copying from the page cache overlaps with hashing
// instead of adding to it.
func (h *orderedHasher) readBack(off, n int64) (int64, error) {
	const block = 4 * bufSize
	type piece struct {
		b   []byte
		err error
	}
	if h.readBufs == nil {
		h.readBufs = make(chan []byte, 4)
		for range cap(h.readBufs) {
			h.readBufs <- make([]byte, block)
		}
	}
	pieces := make(chan piece, cap(h.readBufs))
	go func() {
		defer close(pieces)
		for at, end := off, off+n; at < end; {
			b := <-h.readBufs
			k := min(int64(len(b)), end-at)
			m, err := h.file.ReadAt(b[:k], at)
			if err != nil && int64(m) == k {
				err = nil
			}
			pieces <- piece{b[:m], err}
			if err != nil {
				return
			}
			at += int64(m)
		}
	}()
	var done int64
	var firstErr error
	for p := range pieces {
		if firstErr == nil {
			h.d.Write(p.b)
			done += int64(len(p.b))
			if p.err != nil {
				firstErr = fmt.Errorf("read back bytes at %d: %w", off+done, p.err)
			}
		}
		h.readBufs <- p.b[:cap(p.b)]
	}
	return done, firstErr
}

// snapshotLocked records the digest state; called by run with mu held, so
// the digest is not being written.
func (h *orderedHasher) snapshotLocked() {
	st, err := h.d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return
	}
	h.snap = hashSnapshot{Off: h.hashed, State: st}
	h.snapAt = time.Now()
}

// snapshot returns the latest recorded digest state.
func (h *orderedHasher) snapshot() hashSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snap
}

// wait blocks until the first total bytes are digested (or the hasher
// failed) and returns the hex digest.
func (h *orderedHasher) wait(total int64) (string, error) {
	h.mu.Lock()
	// Every write has been reported by now: what is claimed will be
	// digested, and a gap below total is a bug in the caller.
	for h.hashed < h.claimed && h.err == nil {
		h.cond.Wait()
	}
	hashed, err := h.hashed, h.err
	h.mu.Unlock()
	if err != nil {
		return "", err
	}
	if hashed < total {
		return "", fmt.Errorf("hash: only %d of %d bytes are contiguous", hashed, total)
	}
	h.close()
	return hex.EncodeToString(h.d.Sum(nil)), nil
}

// close stops the hasher after the queued items; pending spans are dropped.
// It waits for run to return, after which a final snapshot is taken.
func (h *orderedHasher) close() {
	h.mu.Lock()
	h.closed = true
	h.cond.Broadcast()
	h.mu.Unlock()
	<-h.stopped
	h.mu.Lock()
	if h.err == nil && h.hashed > h.snap.Off {
		h.snapshotLocked()
	}
	h.mu.Unlock()
}

// idleTime returns how long the hasher has waited for bytes so far.
func (h *orderedHasher) idleTime() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idleSince.IsZero() {
		return h.idle
	}
	return h.idle + time.Since(h.idleSince)
}
