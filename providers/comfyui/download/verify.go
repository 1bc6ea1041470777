package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// StatRecord is what a stat(2) of a verified file said. A file whose record
// is unchanged is trusted without being read: writing it changes mtime and
// ctime, replacing it changes the inode, and ctime cannot be set back from
// user space.
type StatRecord struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	CtimeNs int64  `json:"ctime_ns"`
	Inode   uint64 `json:"inode"`
	Dev     uint64 `json:"dev"`
}

// Record is a verified file: its stat and the sha256 its bytes had.
type Record struct {
	Stat   StatRecord `json:"stat"`
	SHA256 string     `json:"sha256"`
}

// Stat returns the stat record of path (following a symlink, as ComfyUI
// does when it opens the file).
func Stat(path string) (StatRecord, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return StatRecord{}, err
	}
	return statRecord(fi), nil
}

// Verify checks a file against what was recorded when it was verified. When
// its stat is unchanged the record is trusted and the file is not read;
// otherwise it is re-hashed (reporting progress) and the returned record
// carries the new stat and sha256, for the caller to compare with what it
// expects. trusted says which of the two happened.
func Verify(ctx context.Context, path string, rec Record, progress func(Progress)) (now Record, trusted bool, err error) {
	st, err := Stat(path)
	if err != nil {
		return Record{}, false, err
	}
	if rec.SHA256 != "" && st == rec.Stat {
		return rec, true, nil
	}
	r, err := HashFile(ctx, path, progress)
	return r, false, err
}

// HashFile reads path once and returns its record. Its stat is taken before
// and after reading; a file that changed meanwhile is an error, since the
// digest would describe no version of it.
func HashFile(ctx context.Context, path string, progress func(Progress)) (Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return Record{}, fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Record{}, fmt.Errorf("hash %s: %w", path, err)
	}
	before := statRecord(fi)
	d := sha256.New()
	buf := make([]byte, 4*bufSize)
	m := newMeter(5 * time.Second)
	var done int64
	last := time.Now()
	report := func(now time.Time) {
		if progress != nil {
			progress(Progress{Phase: "verify", Done: done, Total: before.Size, Rate: m.rate(now, done)})
		}
	}
	report(last)
	for {
		if err := ctx.Err(); err != nil {
			return Record{}, fmt.Errorf("hash %s: %w", path, err)
		}
		n, rerr := f.Read(buf)
		d.Write(buf[:n])
		done += int64(n)
		if now := time.Now(); now.Sub(last) >= 250*time.Millisecond {
			report(now)
			last = now
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Record{}, fmt.Errorf("hash %s: %w", path, rerr)
		}
	}
	report(time.Now())
	after, err := Stat(path)
	if err != nil {
		return Record{}, fmt.Errorf("hash %s: %w", path, err)
	}
	if after != before || done != before.Size {
		return Record{}, fmt.Errorf("hash %s: the file changed while it was read", path)
	}
	return Record{Stat: before, SHA256: hex.EncodeToString(d.Sum(nil))}, nil
}
