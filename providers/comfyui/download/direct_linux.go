package download

import (
	"os"

	"golang.org/x/sys/unix"
)

// openDirect opens path a second time for O_DIRECT writes, which go from the
// connection's buffer to the disk without being copied into the page cache
// (the copy that dominated a download's CPU time). nil when the file system
// refuses O_DIRECT (tmpfs, some network and FUSE file systems): the download
// then writes through the page cache as before; so also when path is no
// longer the file same was opened from.
func openDirect(path string, same *os.File) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	a, aerr := f.Stat()
	b, berr := same.Stat()
	if aerr != nil || berr != nil || !os.SameFile(a, b) {
		f.Close()
		return nil
	}
	return f
}
