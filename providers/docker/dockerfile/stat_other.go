//go:build !linux

package dockerfile

import "io/fs"

// statOf keeps size, mtime and mode where ctime and inode are not at hand.
func statOf(fi fs.FileInfo) fileStat {
	return fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode())}
}
