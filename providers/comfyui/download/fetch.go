package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sync/errgroup"
)

// FetchOptions tune Fetch. The zero value is the default everywhere.
type FetchOptions struct {
	// Connections is the most parallel ranged connections for large
	// files (8 when 0); they are opened as they help (see RampEvery).
	Connections int
	// ParallelMin is the size from which a file is fetched in parallel
	// (64 MiB when 0).
	ParallelMin int64
	// ChunkSize is the size of the ranges parallel connections take in
	// turn (size/(4×Connections), within 8–128 MiB, when 0); towards the
	// end of a file they shrink (see planChunks).
	ChunkSize int64
	// Retries is how many attempts in a row a range may fail without any
	// progress before the fetch gives up (5 when 0). An attempt that
	// brought bytes resets the count.
	Retries int
	// IdleTimeout is how long a connection may deliver nothing (headers or
	// body) before it counts as stalled and is retried (30 s when 0).
	IdleTimeout time.Duration
	// Backoff is the first retry's delay, doubled per failed attempt up to
	// 30 s (500 ms when 0).
	Backoff time.Duration
	// Progress, when set, is called from one goroutine every
	// ProgressInterval (250 ms when 0) and once at the end.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// CheckpointInterval is how often the sidecar is saved (1 s when 0).
	CheckpointInterval time.Duration
	// HandoverLimit bounds the bytes handed from connections to the hasher
	// in memory (64 MiB when 0); beyond it, and for bytes written ahead of
	// the hashing frontier, the hasher reads the file back. Negative: never
	// hand over (for measurements).
	HandoverLimit int64
	// WritebackEvery is how many written bytes a connection accumulates
	// before it asks the kernel to start writing them to disk (Linux
	// sync_file_range), so that the final fsync has little left (32 MiB
	// when 0; negative: never, leaving it all to the final fsync). Only
	// for writes through the page cache (see Buffered).
	WritebackEvery int64
	// RampEvery is how often more parallel connections may be opened, up
	// to Connections: one starts, and more follow each time the hasher sat
	// idle for at least a third of the last interval (see ramp; 50 ms when
	// 0; negative: open all at once). Connections add throughput only
	// while something other than this machine limits each one (a CDN's
	// per-connection cap, latency); when the local CPU is the limit
	// (loopback, a LAN mirror on a small machine) they cost it: bytes ahead
	// of the hashing frontier are copied into the page cache and read back.
	RampEvery time.Duration
	// Buffered turns off O_DIRECT: every write is copied into the page
	// cache, as on file systems that refuse O_DIRECT (for measurements).
	Buffered bool
}

func (o *FetchOptions) defaults(size int64) {
	if o.Connections <= 0 {
		o.Connections = 8
	}
	if o.ParallelMin <= 0 {
		o.ParallelMin = 64 << 20
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = min(max(size/int64(4*o.Connections), 8<<20), 128<<20)
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 250 * time.Millisecond
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.RampEvery == 0 {
		o.RampEvery = 50 * time.Millisecond
	}
	if o.WritebackEvery == 0 {
		o.WritebackEvery = 32 << 20
	}
	switch {
	case o.HandoverLimit == 0:
		o.HandoverLimit = 64 << 20
	case o.HandoverLimit < 0:
		o.HandoverLimit = 0
	}
}

// Result describes a finished fetch.
type Result struct {
	Size   int64
	SHA256 string
	// Resumed bytes were already in the partial file; Downloaded bytes
	// came over the network in this call.
	Resumed, Downloaded int64
	// Requests is the number of GET requests made (redirect hops not
	// counted).
	Requests int64
	// HashedFromMemory and HashedFromFile split the digested bytes by
	// where the hasher took them from.
	HashedFromMemory, HashedFromFile int64
	// Parallel is true when the file was fetched in ranged chunks, by up
	// to Connections connections; Connections is how many were opened.
	Parallel    bool
	Connections int
	// DirectBytes were written with O_DIRECT (past the page cache); the
	// rest of the downloaded bytes went through it.
	DirectBytes int64
	// HashIdle is how long the hasher waited for bytes: near zero, the
	// hashing core was the limit; HashTail how long it needed after the
	// last byte arrived;
	// Sync the time spent making the file durable (fsync of file and
	// directory) before it became dest.
	HashIdle, HashTail, Sync time.Duration
}

var (
	errStalled   = errors.New("stalled: no data within the idle timeout")
	errShortBody = errors.New("body ended early")
	errNoRanges  = errors.New("server ignored a range request")
)

// diskError marks failures of the local file system, never retried.
type diskError struct{ err error }

func (e *diskError) Error() string { return e.err.Error() }
func (e *diskError) Unwrap() error { return e.err }

// PartialPath names the file an unfinished download of dest writes into.
func PartialPath(dest string) string { return dest + ".partial" }

// SidecarPath names the record beside PartialPath(dest) that lets a later
// Fetch resume: the written ranges and the sha256 state so far.
func SidecarPath(dest string) string { return dest + ".partial.json" }

// CheckPartial refuses a partial file, sidecar or sidecar's temporary file
// of dest that is there but not a regular file: the download would write
// wherever a symlink there points, outside the models folder that Join
// checked dest against.
func CheckPartial(dest string) error {
	for _, p := range []string{PartialPath(dest), SidecarPath(dest), sidecarTemp(dest)} {
		if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
			return notRegular(p)
		}
	}
	return nil
}

// notRegular words the refusal of a path that is not a regular file.
func notRegular(p string) error {
	what := "not a regular file"
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		to, _ := os.Readlink(p)
		what = "a symlink to " + to
	} else if err == nil && fi.IsDir() {
		what = "a directory"
	}
	return fmt.Errorf("%s is %s: a download writes only regular files of the models folder; remove it to download again", p, what)
}

// Fetch downloads r into dest. Bytes go to dest.partial, resuming what an
// earlier call left there; dest appears (atomically, file and directory
// fsynced) only once size and sha256 match r. On a mismatch the partial file
// is removed and nothing is left at dest; on any other failure the partial
// file and its sidecar stay for the next call to resume.
func (c *Client) Fetch(ctx context.Context, r *Remote, dest string, opts FetchOptions) (*Result, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", Redact(r.URL), err)
	}
	opts.defaults(r.Size)
	fx := &fetcher{
		c: c, r: *r, o: opts, u: u, name: redactURL(u),
		dest: dest, partial: PartialPath(dest), side: SidecarPath(dest),
		size: r.Size, started: time.Now(),
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", fx.name, err)
	}
	if err := CheckPartial(dest); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", fx.name, err)
	}
	// O_NOFOLLOW: a symlink put there since the check is refused too.
	fx.f, err = os.OpenFile(fx.partial, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			err = notRegular(fx.partial)
		}
		return nil, fmt.Errorf("fetch %s: %w", fx.name, err)
	}
	defer fx.f.Close()
	if fi, err := fx.f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("fetch %s: %w", fx.name, notRegular(fx.partial))
	}
	// A second sdform (another config sharing the models folder) must not
	// write the same partial file.
	if err := syscall.Flock(int(fx.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("fetch %s: another download of %s is in progress: %w", fx.name, dest, err)
	}
	if !opts.Buffered && !fx.local() {
		if fx.df = openDirect(fx.partial, fx.f); fx.df != nil {
			defer fx.df.Close()
		}
	}
	if err := fx.load(); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", fx.name, err)
	}
	res, err := fx.run(ctx)
	if errors.Is(err, errNoRanges) {
		// The server answered 200 to a range: start over with one plain
		// GET rather than trust bytes it may not serve consistently.
		if err = fx.restart(false); err == nil {
			res, err = fx.run(ctx)
		}
	}
	if err != nil {
		if errors.Is(err, ErrMismatch) {
			fx.f.Close()
			os.Remove(fx.partial)
			os.Remove(fx.side)
		}
		return nil, err
	}
	return res, nil
}

type fetcher struct {
	c    *Client
	r    Remote
	o    FetchOptions
	u    *url.URL
	name string

	dest, partial, side string
	f                   *os.File
	// df is the partial file opened with O_DIRECT (nil: not possible);
	// see writeAt. noDirect is set once the file system refused a direct
	// write.
	df       *os.File
	noDirect atomic.Bool

	size     int64 // -1 until known
	started  time.Time
	parallel bool
	resumed  int64
	from     hashSnapshot

	mu      sync.Mutex
	written spanSet
	sparse  bool
	// etag is the version the bytes in the partial file belong to (see
	// sameVersion): the remote's, when some were kept from an earlier run
	// (the sidecar matched it), else the first response's.
	etag string

	h *orderedHasher
	// writeback receives written spans for startWriteback, off the
	// connections' path (it may block on a busy disk queue).
	writeback chan span
	// downloaded counts bytes written since the last restart; discarded
	// those thrown away by a restart.
	downloaded, discarded atomic.Int64
	requests              atomic.Int64
	directBytes           atomic.Int64
	opened                atomic.Int64 // parallel connections opened
}

// local reports whether the source is a local file (a file: URL).
func (fx *fetcher) local() bool { return fx.u.Scheme == "file" }

// phase names the work for progress reports.
func (fx *fetcher) phase() string {
	if fx.local() {
		return "copy"
	}
	return "download"
}

// load reads the partial file and its sidecar and decides what can be kept.
func (fx *fetcher) load() error {
	fi, err := fx.f.Stat()
	if err != nil {
		return err
	}
	fsize := fi.Size()
	sc, err := readSidecar(fx.side)
	switch {
	case err == nil && sc.usable(&fx.r, fsize):
		fx.written, fx.sparse = sc.Written, sc.Sparse
		fx.from = hashSnapshot{Off: sc.Hashed, State: sc.State}
		if !sc.Sparse {
			// Sequential writes leave no holes: every byte up to the size
			// is good, including those written after the last checkpoint.
			fx.written = spanSet{{0, fsize}}
		}
		if fx.size < 0 && sc.Size >= 0 {
			fx.size = sc.Size
		}
	case errors.Is(err, os.ErrNotExist) && fsize > 0 && fx.r.AcceptRanges && (fx.size < 0 || fsize <= fx.size):
		// A partial file without a sidecar (killed before the first
		// checkpoint) is a prefix written in order; it is re-hashed once.
		fx.written = spanSet{{0, fsize}}
	default:
		return fx.restart(fx.r.AcceptRanges)
	}
	fx.resumed = fx.written.bytes()
	if fx.resumed > 0 {
		fx.etag = fx.r.ETag
	}
	return nil
}

// restart empties the partial file. It truncates before saving the new
// sidecar: a kill in between leaves the old sidecar, which no longer fits the
// file's size and is discarded, never a sidecar vouching for stale bytes.
func (fx *fetcher) restart(ranges bool) error {
	fx.r.AcceptRanges = ranges
	if err := fx.f.Truncate(0); err != nil {
		return &diskError{fmt.Errorf("truncate %s: %w", fx.partial, err)}
	}
	fx.mu.Lock()
	fx.written, fx.sparse, fx.etag = nil, false, ""
	fx.mu.Unlock()
	fx.from, fx.resumed = hashSnapshot{}, 0
	fx.discarded.Add(fx.downloaded.Swap(0))
	return fx.saveSidecar(hashSnapshot{})
}

func (fx *fetcher) run(ctx context.Context) (*Result, error) {
	// Parallel ranges are there to get past what a server or CDN allows
	// one connection. A local file is read fastest in one sequential pass,
	// which also lets the hasher take every buffer in hand.
	fx.parallel = fx.size >= fx.o.ParallelMin && fx.r.AcceptRanges && fx.o.Connections > 1 && !fx.local()
	if fx.parallel && !fx.sparse {
		fx.mu.Lock()
		fx.sparse = true
		fx.mu.Unlock()
		if err := fx.saveSidecar(fx.from); err != nil {
			return nil, err
		}
		if err := fx.f.Truncate(fx.size); err != nil {
			return nil, &diskError{fmt.Errorf("allocate %s: %w", fx.partial, err)}
		}
	}
	h, err := newOrderedHasher(fx.f, fx.from, fx.o.HandoverLimit, fx.o.CheckpointInterval)
	if err != nil {
		// A sidecar whose state does not restore is useless: start over.
		if err := fx.restart(fx.r.AcceptRanges); err != nil {
			return nil, err
		}
		if h, err = newOrderedHasher(fx.f, hashSnapshot{}, fx.o.HandoverLimit, fx.o.CheckpointInterval); err != nil {
			return nil, err
		}
	}
	// A write through O_DIRECT leaves nothing in the page cache to read
	// back: the connection at the frontier waits for the hasher instead.
	h.holdFrontier = fx.direct()
	fx.h = h
	for _, sp := range fx.written {
		h.written(sp.Start, sp.End-sp.Start, nil)
	}

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(3)
	fx.writeback = make(chan span, 64)
	go func() { defer bg.Done(); fx.checkpoints(stop) }()
	go func() { defer bg.Done(); fx.reportProgress(stop) }()
	go func() {
		defer bg.Done()
		for sp := range fx.writeback {
			startWriteback(fx.f, sp.Start, sp.End-sp.Start)
		}
	}()
	err = fx.download(ctx)
	close(fx.writeback)
	var sum string
	var total int64
	arrived := time.Now()
	if err == nil {
		total, sum, err = fx.finishHash()
	}
	hashTail := time.Since(arrived)
	h.close()
	close(stop)
	bg.Wait()
	if err != nil {
		if !errors.Is(err, ErrMismatch) {
			if serr := fx.saveSidecar(h.snapshot()); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		return nil, err
	}
	if fx.o.Progress != nil {
		rate := 0.0
		if s := time.Since(fx.started).Seconds(); s > 0 {
			rate = float64(fx.downloaded.Load()) / s
		}
		fx.o.Progress(Progress{Phase: fx.phase(), Done: total, Total: total, Resumed: fx.resumed, Rate: rate})
	}
	synced := time.Now()
	if err := fx.commit(); err != nil {
		return nil, err
	}
	return &Result{
		Size: total, SHA256: sum, Resumed: fx.resumed, Downloaded: fx.downloaded.Load() + fx.discarded.Load(),
		Requests: fx.requests.Load(), HashedFromMemory: h.fromMem, HashedFromFile: h.fromFile,
		Parallel: fx.parallel, Connections: int(fx.opened.Load()), DirectBytes: fx.directBytes.Load(), HashIdle: h.idleTime(), HashTail: hashTail, Sync: time.Since(synced),
	}, nil
}

// download fetches every missing span, in parallel chunks or in order.
func (fx *fetcher) download(ctx context.Context) error {
	if fx.size < 0 {
		// Unknown size: one stream to the end, starting after any prefix.
		bp := bufPool.Get().(*[]byte)
		fx.opened.Store(1)
		return fx.fetchSpan(ctx, span{fx.written.prefix(), -1}, &bp)
	}
	fx.mu.Lock()
	gaps := fx.written.missing(fx.size)
	fx.mu.Unlock()
	chunks := gaps
	if fx.parallel {
		chunks = planChunks(gaps, fx.o.ChunkSize, minChunk, fx.o.Connections)
	}
	conns := 1
	if fx.parallel {
		conns = min(fx.o.Connections, len(chunks))
	}
	next := make(chan span)
	fed := make(chan struct{}) // closed once every chunk is taken
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(fed)
		defer close(next)
		for _, ch := range chunks {
			select {
			case next <- ch:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	connect := func() {
		g.Go(func() error {
			bp := bufPool.Get().(*[]byte)
			for ch := range next {
				if err := fx.fetchSpan(gctx, ch, &bp); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if fx.o.RampEvery < 0 {
		for range conns {
			connect()
		}
		fx.opened.Store(int64(conns))
		return g.Wait()
	}
	connect()
	fx.opened.Store(1)
	if conns > 1 {
		g.Go(func() error {
			fx.ramp(gctx, fed, conns-1, connect)
			return nil
		})
	}
	return g.Wait()
}

// ramp opens up to more connections after each RampEvery in which the hasher
// was idle for at least a third of the time (one more; as many more as are
// open when it was idle two thirds of the time): then the bytes arrive slower
// than this machine can take them, and another connection can help. While
// the hasher is kept busy, another connection would only take CPU from it.
func (fx *fetcher) ramp(ctx context.Context, fed <-chan struct{}, more int, connect func()) {
	t := time.NewTicker(fx.o.RampEvery)
	defer t.Stop()
	last, lastIdle := time.Now(), fx.h.idleTime()
	for more > 0 {
		select {
		case <-ctx.Done():
			return
		case <-fed:
			return
		case now := <-t.C:
			idle := fx.h.idleTime()
			add := 0
			switch d := 3 * (idle - lastIdle); {
			case d >= 2*now.Sub(last):
				// Mostly idle: double, so that a per-connection cap
				// is out of the way in a few intervals.
				add = min(int(fx.opened.Load()), more)
			case d >= now.Sub(last):
				add = 1
			}
			for range add {
				connect()
			}
			fx.opened.Add(int64(add))
			more -= add
			last, lastIdle = now, idle
		}
	}
}

// minChunk is the size below which planChunks does not shrink chunks.
const minChunk = 8 << 20

// planChunks cuts the gaps into the ranges parallel connections take in
// turn, in file order. Chunks are chunk bytes long until less than
// 2×conns×chunk is left; then each is a 2×conns-th of what is left, down to
// minChunk. The in-order hasher digests only contiguous bytes, so when the
// last byte arrives it still has about one round of chunks (conns of them)
// to read back and hash: small chunks at the end keep that tail, and the
// wait for a slow connection's last chunk, short, while large chunks before
// keep requests few on a CDN, where each one costs a round trip.
func planChunks(gaps []span, chunk, minChunk int64, conns int) []span {
	var left int64
	for _, g := range gaps {
		left += g.End - g.Start
	}
	minChunk = min(minChunk, chunk)
	var out []span
	for _, g := range gaps {
		for s := g.Start; s < g.End; {
			e := min(s+min(chunk, max(left/int64(2*conns), minChunk)), g.End)
			out = append(out, span{s, e})
			left -= e - s
			s = e
		}
	}
	return out
}

// fetchSpan fetches [sp.Start, sp.End) (to the file's end when End is -1:
// its size, once a response says it, else EOF), retrying
// with backoff. Only attempts that brought no byte count against Retries.
// bp is the connection's buffer; it is replaced whenever the hasher takes it.
func (fx *fetcher) fetchSpan(ctx context.Context, sp span, bp **[]byte) error {
	cur := sp.Start
	fails := 0
	var lastErr error // of the attempt before
	for {
		if sp.End >= 0 && cur >= sp.End {
			return nil
		}
		before := cur
		done, err := fx.attempt(ctx, &cur, &sp.End, bp)
		if err == nil && done {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("fetch %s: %w", fx.name, context.Cause(ctx))
		}
		if err != nil && !retryable(err) {
			if errors.Is(err, errNoRanges) && lastErr != nil {
				// The real trouble is what made the resume necessary.
				err = fmt.Errorf("%w, so it cannot resume after %v", err, errors.Unwrap(lastErr))
			}
			return err
		}
		lastErr = err
		if cur > before {
			fails = 0
		} else {
			fails++
		}
		if fails > fx.o.Retries {
			return fmt.Errorf("fetch %s: giving up after %d attempts without progress: %w", fx.name, fails, err)
		}
		delay := fx.o.Backoff << min(max(fails-1, 0), 10)
		t := time.NewTimer(min(delay, 30*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fetch %s: %w", fx.name, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// attempt makes one request for [*cur, *end) and writes what arrives,
// advancing *cur. done is true when the span is complete. *end is -1 while
// the file's size is unknown; a 206's Content-Range total sets it, since a
// server may answer an open range with only a part of the rest.
func (fx *fetcher) attempt(ctx context.Context, cur *int64, endp *int64, bp **[]byte) (done bool, err error) {
	// The writer must have stored everything before the attempt reports
	// its progress: a failed write fails the attempt.
	w := fx.newSpanWriter(*cur)
	defer func() {
		if werr := w.close(); werr != nil {
			done, err = false, werr
		}
	}()

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(fx.o.IdleTimeout, func() { cancel(errStalled) })
	defer idle.Stop()
	wrap := func(err error) error {
		if context.Cause(rctx) == errStalled && ctx.Err() == nil {
			err = errStalled
		}
		return fmt.Errorf("fetch %s: %w", fx.name, err)
	}

	end := *endp
	whole := *cur == 0 && (end < 0 || end == fx.size)
	var hdr http.Header
	if !whole {
		rng := "bytes=" + strconv.FormatInt(*cur, 10) + "-"
		if end >= 0 {
			rng += strconv.FormatInt(end-1, 10)
		}
		hdr = http.Header{"Range": {rng}}
	}
	fx.requests.Add(1)
	resp, final, err := fx.c.send(rctx, http.MethodGet, fx.u, hdr, followAll)
	if err != nil {
		if ctx.Err() == nil && context.Cause(rctx) == errStalled {
			return false, wrap(errStalled)
		}
		return false, err
	}
	defer resp.Body.Close()

	limit := end // where this response's bytes stop counting
	checkExtra := false
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, last, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != *cur {
			return false, wrap(fmt.Errorf("%w: asked for bytes from %d, got %q", errNoRanges, *cur, resp.Header.Get("Content-Range")))
		}
		size := fx.size
		if size < 0 {
			size = end // the size a response said, or -1
		}
		if total >= 0 && size >= 0 && total != size {
			return false, wrap(fmt.Errorf("%w: expected %d bytes, the server now has %d", ErrMismatch, size, total))
		}
		if total >= 0 && end < 0 {
			end, *endp = total, total
		}
		if limit < 0 || last+1 < limit {
			limit = last + 1
		}
	case http.StatusOK:
		if !whole {
			return false, wrap(errNoRanges)
		}
		if n, ok := parseSize(resp.Header.Get("Content-Length")); ok && fx.size >= 0 && n != fx.size {
			return false, wrap(fmt.Errorf("%w: expected %d bytes, the server sends %d", ErrMismatch, fx.size, n))
		}
		checkExtra = limit >= 0
	case http.StatusRequestedRangeNotSatisfiable:
		if fx.size < 0 {
			// The size was unknown: the range may start at the very end
			// (a file complete but for its commit). Content-Range says.
			if total, ok := parseUnsatisfiedRange(resp.Header.Get("Content-Range")); ok && total == *cur && end < 0 {
				return true, nil
			}
			return false, wrap(fmt.Errorf("%w: the server cannot serve bytes from %d (416, Content-Range %q)", ErrMismatch, *cur, resp.Header.Get("Content-Range")))
		}
		return false, wrap(fmt.Errorf("%w: the server has fewer than the expected %d bytes", ErrMismatch, fx.size))
	default:
		return false, fmt.Errorf("fetch: %w", fx.c.statusError(final, resp, fx.r.Source))
	}
	if err := fx.sameVersion(resp); err != nil {
		return false, wrap(err)
	}
	idle.Reset(fx.o.IdleTimeout)

	for {
		buf := **bp
		want := len(buf)
		if limit >= 0 {
			want = int(min(int64(want), limit-*cur))
		}
		if r := *cur % directAlign; r != 0 && fx.direct() {
			// Read up to the next aligned offset first, so that the
			// following buffers can be written with O_DIRECT.
			want = int(min(int64(want), directAlign-r))
		}
		n := 0
		var rerr error
		for n < want && rerr == nil {
			var m int
			m, rerr = resp.Body.Read(buf[n:want])
			if m > 0 {
				n += m
				idle.Reset(fx.o.IdleTimeout)
			}
		}
		if n > 0 {
			if !w.put(*cur, *bp, n) {
				return false, nil // the deferred close reports the write error
			}
			*bp = bufPool.Get().(*[]byte)
			*cur += int64(n)
		}
		if limit >= 0 && *cur >= limit {
			if checkExtra {
				var one [1]byte
				if m, _ := io.ReadFull(resp.Body, one[:]); m > 0 {
					return false, wrap(fmt.Errorf("%w: the server sends more than the expected %d bytes", ErrMismatch, fx.size))
				}
			}
			// A 206 that ends before the file does (its total unknown,
			// "*") is not the end: the next attempt asks for the rest.
			return end >= 0 && *cur >= end, nil
		}
		switch {
		case rerr == io.EOF && limit < 0:
			return true, nil
		case rerr == io.EOF, errors.Is(rerr, io.ErrUnexpectedEOF) && limit >= 0:
			// Closed before the length it announced.
			return false, wrap(fmt.Errorf("%w at byte %d of %d", errShortBody, *cur, limit))
		case rerr != nil:
			return false, wrap(rerr)
		}
	}
}

// writeQueue is how many received buffers a connection may have waiting for
// its writer: enough to keep receiving while a direct write waits for the
// disk.
const writeQueue = 4

// spanWriter stores one response's buffers, in order, on a goroutine of its
// own, so that a connection keeps receiving while the previous buffer is
// written (an O_DIRECT write waits for the disk). A buffer is recorded as
// written, and offered to the hasher, only once it is in the file: the
// sidecar never vouches for bytes that a kill could lose, and the hasher
// never digests bytes the file does not hold.
type spanWriter struct {
	fx      *fetcher
	ch      chan writeReq
	done    chan struct{}
	failed  atomic.Bool
	err     error // read after done is closed
	flushed int64 // start of the bytes not yet handed to writeback
	end     int64 // end of the bytes stored
}

type writeReq struct {
	off int64
	bp  *[]byte
	n   int
}

func (fx *fetcher) newSpanWriter(start int64) *spanWriter {
	w := &spanWriter{fx: fx, ch: make(chan writeReq, writeQueue), done: make(chan struct{}), flushed: start, end: start}
	go w.run()
	return w
}

// put queues (*bp)[:n] for offset off and gives the buffer up. false: an
// earlier write failed (close returns the error).
func (w *spanWriter) put(off int64, bp *[]byte, n int) bool {
	if w.failed.Load() {
		bufPool.Put(bp)
		return false
	}
	w.ch <- writeReq{off, bp, n}
	return true
}

// close waits for the queued writes and returns the first failure.
func (w *spanWriter) close() error {
	close(w.ch)
	<-w.done
	return w.err
}

func (w *spanWriter) run() {
	defer close(w.done)
	for rq := range w.ch {
		if w.err != nil {
			bufPool.Put(rq.bp)
			continue
		}
		if w.err = w.fx.store(rq.off, rq.bp, rq.n); w.err != nil {
			w.failed.Store(true)
			continue
		}
		w.end = rq.off + int64(rq.n)
		if w.fx.flush(w.flushed, w.end, false) {
			w.flushed = w.end
		}
	}
	if w.err == nil {
		w.fx.flush(w.flushed, w.end, true)
	}
}

// store writes (*bp)[:n] at off, records it, and hands the buffer to the
// hasher or back to the pool.
func (fx *fetcher) store(off int64, bp *[]byte, n int) error {
	// Only bytes at the hashing frontier go past the page cache: the
	// hasher takes their buffer. Bytes ahead of it (other connections')
	// are read back later, which is cheap from the page cache and a disk
	// read after O_DIRECT.
	direct := fx.direct() && fx.h.atFrontier(off)
	if err := fx.writeAt((*bp)[:n], off, direct); err != nil {
		bufPool.Put(bp)
		return &diskError{fmt.Errorf("write %s: %w", fx.partial, err)}
	}
	fx.mu.Lock()
	fx.written = fx.written.add(off, off+int64(n))
	fx.mu.Unlock()
	if !fx.h.written(off, int64(n), bp) {
		bufPool.Put(bp)
	}
	fx.downloaded.Add(int64(n))
	return nil
}

// direct reports whether writes may still go through O_DIRECT.
func (fx *fetcher) direct() bool { return fx.df != nil && !fx.noDirect.Load() }

// writeAt writes b at off. When direct is set and off is aligned (and b, from
// bufPool, is), the aligned part goes through O_DIRECT: no copy into the page cache, and no
// dirty pages for the final fsync to wait for. What O_DIRECT cannot take (an
// unaligned head or tail: a few KiB at the ends of a range) is written
// through the page cache; the kernel keeps the two coherent. A file system
// that refuses a direct write (EINVAL) gets this write and every later one
// through the page cache.
func (fx *fetcher) writeAt(b []byte, off int64, direct bool) error {
	if direct && fx.direct() && off%directAlign == 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign == 0 {
		if k := len(b) &^ (directAlign - 1); k > 0 {
			_, err := fx.df.WriteAt(b[:k], off)
			switch {
			case err == nil:
				fx.directBytes.Add(int64(k))
				b, off = b[k:], off+int64(k)
			case errors.Is(err, syscall.EINVAL):
				fx.noDirect.Store(true)
			default:
				return err
			}
		}
	}
	if len(b) == 0 {
		return nil
	}
	_, err := fx.f.WriteAt(b, off)
	return err
}

// sameVersion checks, when no sha256 will vouch for the bytes, that a
// response carries the version of the file that the download started with:
// ranges of two versions would otherwise pass the size check as one file.
// The hub is left out: its ETag describes the hub's answer, not the CDN's.
func (fx *fetcher) sameVersion(resp *http.Response) error {
	et := unquote(resp.Header.Get("ETag"))
	if fx.r.SHA256 != "" || et == "" || strings.HasPrefix(fx.r.Source, "hf://") {
		return nil
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	if fx.etag == "" {
		fx.etag = et
		return nil
	}
	if et != fx.etag {
		return fmt.Errorf("%w: the file changed on the server during the download (ETag %q, now %q); set sha256 to pin the content", ErrMismatch, fx.etag, et)
	}
	return nil
}

// flush hands [from, to) to the writeback goroutine once it is large enough
// (or always, at the end of a response) and reports whether it did. A full
// queue drops the span: the final fsync covers it.
func (fx *fetcher) flush(from, to int64, final bool) bool {
	if fx.o.WritebackEvery < 0 || to <= from || (!final && to-from < fx.o.WritebackEvery) {
		return false
	}
	select {
	case fx.writeback <- span{from, to}:
	default:
	}
	return true
}

// finishHash waits for the hasher and checks size and sha256.
func (fx *fetcher) finishHash() (int64, string, error) {
	total := fx.size
	fx.mu.Lock()
	if total < 0 {
		total = fx.written.prefix()
	}
	gaps := fx.written.missing(total)
	fx.mu.Unlock()
	if len(gaps) > 0 {
		return 0, "", fmt.Errorf("fetch %s: %d byte ranges still missing", fx.name, len(gaps))
	}
	sum, err := fx.h.wait(total)
	if err != nil {
		return 0, "", &diskError{fmt.Errorf("fetch %s: %w", fx.name, err)}
	}
	fi, err := fx.f.Stat()
	if err != nil {
		return 0, "", &diskError{err}
	}
	if fi.Size() != total || (fx.r.Size >= 0 && total != fx.r.Size) {
		return 0, "", fmt.Errorf("%w: size mismatch for %s: expected %d bytes, got %d", ErrMismatch, fx.name, fx.r.Size, fi.Size())
	}
	if fx.r.SHA256 != "" && sum != fx.r.SHA256 {
		return 0, "", fmt.Errorf("%w: sha256 mismatch for %s: expected %s, got %s", ErrMismatch, fx.name, fx.r.SHA256, sum)
	}
	return total, sum, nil
}

// commit makes the verified partial file the destination: fsync the file,
// rename, fsync the directory, then drop the sidecar.
func (fx *fetcher) commit() error {
	if err := fx.f.Sync(); err != nil {
		return &diskError{fmt.Errorf("sync %s: %w", fx.partial, err)}
	}
	if err := os.Rename(fx.partial, fx.dest); err != nil {
		return &diskError{fmt.Errorf("rename %s: %w", fx.partial, err)}
	}
	if err := syncDir(filepath.Dir(fx.dest)); err != nil {
		return &diskError{err}
	}
	os.Remove(fx.side)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (fx *fetcher) checkpoints(stop <-chan struct{}) {
	t := time.NewTicker(fx.o.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fx.saveSidecar(fx.h.snapshot())
		}
	}
}

func (fx *fetcher) reportProgress(stop <-chan struct{}) {
	if fx.o.Progress == nil {
		return
	}
	m := newMeter(5 * time.Second)
	t := time.NewTicker(fx.o.ProgressInterval)
	defer t.Stop()
	report := func(now time.Time) {
		dl := fx.downloaded.Load()
		fx.o.Progress(Progress{
			Phase: fx.phase(), Done: fx.resumed + dl, Total: fx.size,
			Resumed: fx.resumed, Rate: m.rate(now, dl),
		})
	}
	report(time.Now())
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			report(now)
		}
	}
}
