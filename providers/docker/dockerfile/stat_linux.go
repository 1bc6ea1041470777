package dockerfile

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
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

// statAt stats name in the open directory dir without following a link.
// Relative to the directory the kernel resolves one path component, not
// the whole path: on a virtual machine that is most of a stat's cost.
func statAt(dir *os.File, name string) (fs.FileMode, fileStat, string, error) {
	var st unix.Stat_t
	fd := int(dir.Fd())
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, fileStat{}, "", &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	s := fileStat{
		Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino,
		Mode: uint32(mode), UID: st.Uid, GID: st.Gid,
	}
	var link string
	if mode&fs.ModeSymlink != 0 {
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return 0, fileStat{}, "", &fs.PathError{Op: "readlink", Path: name, Err: err}
		}
		link = string(buf[:n])
	}
	return mode, s, link, nil
}
