package state

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Load reads the state file at path. A missing file is a fresh state (New).
// A file that is corrupt, or written in a newer format, is refused with an
// error naming the file and wrapping ErrCorrupt or ErrNewerVersion; the file
// is left as it is.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	f, err := unmarshal(data)
	if err != nil {
		return nil, refusal(path, err)
	}
	f.onDisk = diskRecord{path: path, sum: sha256.Sum256(data)}
	return f, nil
}

// refusal words the error for a state file that cannot be used, saying what
// the user can do about it.
func refusal(path string, err error) error {
	hint := "it was left untouched"
	if errors.Is(err, ErrCorrupt) {
		hint += "; fix it by hand"
		if _, statErr := os.Stat(path + ".backup"); statErr == nil {
			hint += " or restore " + path + ".backup, the version before the last write"
		}
	}
	return fmt.Errorf("load state %s: %w; %s", path, err, hint)
}

// Save writes f to path with Serial incremented, atomically: the content goes
// to a temporary file in the same directory, which is fsynced and renamed
// over path, and then the directory is fsynced. The file it replaces is
// copied to path+".backup" first. The file's mode is 0600 and a missing
// parent directory is created with mode 0700.
//
// Save refuses to replace a file that Load would refuse, so that a state the
// user must repair is never lost. f.Serial changes only when Save succeeds.
func (f *File) Save(path string) error {
	next := *f
	next.Serial = f.Serial + 1
	if next.Version == 0 {
		next.Version = Version
	}
	if next.Lineage == "" {
		return fmt.Errorf("save state %s: the state has no lineage (make it with state.New)", path)
	}
	data, err := marshal(&next)
	if err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return fmt.Errorf("save state %s: read the current file: %w", path, err)
	default:
		// A file this state was read from or last wrote is known good;
		// anything else (another writer, a hand edit) is checked first.
		known := f.onDisk.path == path && f.onDisk.sum == sha256.Sum256(old)
		if !known {
			if _, err := unmarshal(old); err != nil {
				return fmt.Errorf("save state %s: refusing to replace a state file that cannot be read (%w); it was left untouched", path, err)
			}
		}
		if err := writeAtomic(path+".backup", old); err != nil {
			return fmt.Errorf("save state %s: keep backup: %w", path, err)
		}
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	f.Serial = next.Serial
	f.onDisk = diskRecord{path: path, sum: sha256.Sum256(data)}
	if f.Version == 0 {
		f.Version = next.Version
	}
	return nil
}

// writeAtomic replaces path with data so that a crash at any point leaves
// either the old content or the new, never a mix or an empty file.
func writeAtomic(path string, data []byte) error { return replaceFile(path, data, true) }

// WriteFile replaces path with data, mode 0600, as the state itself is
// written: a failure or a crash at any point leaves the old file or the new
// one, never a mix. For other files that hold what the state holds (a
// saved plan).
func WriteFile(path string, data []byte) error { return writeAtomic(path, data) }

// writeReplace replaces path with data so that readers see the old content
// or the new, never a mix, but without waiting for the disk: for the lock
// info, which every plan writes and which need not outlive a crash (the
// kernel drops the flock then, and the next Lock rewrites the info).
func writeReplace(path string, data []byte) error { return replaceFile(path, data, false) }

func replaceFile(path string, data []byte, durable bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say so in case umask or a
	// future Go changes that.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp.Name(), err)
	}
	if !durable {
		return nil
	}
	// The rename is durable only once the directory entry is on disk.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
