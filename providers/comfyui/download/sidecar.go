package download

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
)

// sidecarVersion changes when the sidecar's meaning changes; other versions
// are ignored (the partial file is then started over).
const sidecarVersion = 1

// sidecar is DEST.partial.json: what the partial file holds and the sha256
// state of its first Hashed bytes, so a resumed fetch reads nothing back.
type sidecar struct {
	Version int `json:"version"`
	// Identity of the remote file: a partial file of another version of
	// it is worthless.
	URL    string `json:"url"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	ETag   string `json:"etag,omitempty"`
	// Sparse: the file was extended to Size for parallel writes, so only
	// Written says which bytes are real. Otherwise bytes were written in
	// order and everything up to the file's size is real.
	Sparse  bool    `json:"sparse"`
	Written spanSet `json:"written"`
	Hashed  int64   `json:"hashed"`
	State   []byte  `json:"sha256_state,omitempty"`
}

// sidecarTemp names the temporary file saveSidecar renames onto the
// sidecar.
func sidecarTemp(dest string) string { return SidecarPath(dest) + ".tmp" }

// readSidecar reads the sidecar at path; a symlink there is an error, not
// followed.
func readSidecar(path string) (*sidecar, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &sc, nil
}

// usable reports whether the sidecar describes a partial file of r that is
// still consistent with the file's size.
func (sc *sidecar) usable(r *Remote, fsize int64) bool {
	if sc.Version != sidecarVersion || sc.Size != r.Size {
		return false
	}
	// The same sha256 is the same bytes, from whichever URL (a mirror, a
	// branch URL pinned to another commit); without one, the URL and ETag
	// must match.
	sameContent := sc.SHA256 != "" && sc.SHA256 == r.SHA256
	if !sameContent && (sc.SHA256 != r.SHA256 || sc.URL != Redact(r.URL) || sc.ETag != r.ETag) {
		return false
	}
	if !r.AcceptRanges && len(sc.Written) > 0 {
		return false
	}
	for i, sp := range sc.Written {
		if sp.Start < 0 || sp.End <= sp.Start || sp.End > fsize || (i > 0 && sp.Start <= sc.Written[i-1].End) {
			return false
		}
	}
	if sc.Sparse && r.Size >= 0 && fsize != r.Size {
		return false
	}
	if sc.Hashed < 0 || sc.Hashed > fsize || sc.Hashed > sc.Written.prefix() && sc.Sparse {
		return false
	}
	return sc.Hashed == 0 || len(sc.State) > 0
}

// saveSidecar writes the sidecar atomically (temporary file and rename). It
// is not fsynced: it guards against a killed process, and after a power
// loss the final sha256 check still catches bytes that never reached the
// disk.
func (fx *fetcher) saveSidecar(snap hashSnapshot) error {
	fx.mu.Lock()
	sc := sidecar{
		Version: sidecarVersion, URL: Redact(fx.r.URL), Size: fx.r.Size, SHA256: fx.r.SHA256, ETag: fx.r.ETag,
		Sparse: fx.sparse, Written: fx.written.clone(), Hashed: snap.Off, State: snap.State,
	}
	fx.mu.Unlock()
	b, err := json.Marshal(&sc)
	if err != nil {
		return err
	}
	tmp := sidecarTemp(fx.dest)
	if err := writeNew(tmp, b); err != nil {
		return &diskError{fmt.Errorf("save %s: %w", fx.side, err)}
	}
	if err := os.Rename(tmp, fx.side); err != nil {
		return &diskError{fmt.Errorf("save %s: %w", fx.side, err)}
	}
	return nil
}

// writeNew writes b to a file it creates at path, never through a symlink
// there. A regular file left at path (by a killed process) is replaced.
func writeNew(path string, b []byte) error {
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return notRegular(path)
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
