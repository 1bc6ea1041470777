package dockerfile

import (
	"io/fs"
	"syscall"
)

// statOf keeps what tells a changed file from an unchanged one without
// reading it: size, mtime, ctime (which moves on every write, chmod or
// rename onto the path, even when mtime is put back) and inode.
func statOf(fi fs.FileInfo) fileStat {
	s := fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Ctime = st.Ctim.Nano()
		s.Ino = st.Ino
		s.UID = st.Uid
		s.GID = st.Gid
	}
	return s
}
