package download

import (
	"os"

	"golang.org/x/sys/unix"
)

// openDirect opens path a second time for O_DIRECT writes, which go from the
// connection's buffer to the disk without being copied into the page cache
// (the copy that dominated a download's CPU time). nil when the file system
// refuses O_DIRECT (tmpfs, some network and FUSE file systems): the download
// then writes through the page cache as before.
func openDirect(path string) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}
