package download

import (
	"os"
	"syscall"
)

func statRecord(fi os.FileInfo) StatRecord {
	r := StatRecord{Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		r.CtimeNs = st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec
		r.Inode = st.Ino
		r.Dev = uint64(st.Dev)
	}
	return r
}
