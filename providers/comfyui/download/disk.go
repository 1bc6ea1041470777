package download

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// FreeSpace returns the bytes available to an unprivileged user on the file
// system that holds path, or would hold it: the nearest existing ancestor is
// asked when path does not exist yet. It also returns the directory it asked.
func FreeSpace(path string) (int64, string, error) {
	dir := path
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(dir, &st)
		if err == nil {
			return int64(st.Bavail) * int64(st.Bsize), dir, nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, os.ErrNotExist) || parent == dir {
			return 0, dir, fmt.Errorf("statfs %s: %w", dir, err)
		}
		dir = parent
	}
}

// PartialBytes returns how many bytes of dest's unfinished download can be
// kept, according to its sidecar (or the partial file's size when there is
// no sidecar); 0 when there is nothing usable for r.
func PartialBytes(dest string, r *Remote) int64 {
	fi, err := os.Lstat(PartialPath(dest))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return 0
	}
	sc, err := readSidecar(SidecarPath(dest))
	switch {
	case err == nil && sc.usable(r, fi.Size()) && sc.Sparse:
		return sc.Written.bytes()
	case err == nil && sc.usable(r, fi.Size()):
		return fi.Size()
	case errors.Is(err, os.ErrNotExist) && r.AcceptRanges && (r.Size < 0 || fi.Size() <= r.Size):
		return fi.Size()
	}
	return 0
}
