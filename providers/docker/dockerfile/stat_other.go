//go:build !linux

package dockerfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// statOf keeps size, mtime and mode where ctime and inode are not at hand.
func statOf(fi fs.FileInfo) fileStat {
	return fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode())}
}

// statAt stats name in the directory dir without following a link.
func statAt(dir *os.File, name string) (fs.FileMode, fileStat, string, error) {
	p := filepath.Join(dir.Name(), name)
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, fileStat{}, "", err
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return 0, fileStat{}, "", err
		}
	}
	return fi.Mode(), statOf(fi), link, nil
}
