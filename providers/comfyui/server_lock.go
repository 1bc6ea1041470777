package comfyui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockDir holds the flock(2) files through which the sdform processes of
// one host agree on their ComfyUI containers:
//
//   - key-<container key>.lock is held exclusively while a process chooses
//     the container of that key it will use, and creates one when there is
//     none: two applies never both create one, and one never removes the
//     container another has just chosen or created.
//   - use-<container id>.lock is held shared by each user of the container
//     (each provider of each process) until it is done with it. A container
//     whose use lock can be taken exclusively is used by no one: an earlier
//     apply kept it (keep_running) or was killed. Only such a container is
//     reused as an earlier apply's, or removed; an unkept one is stopped by
//     its last user.
//   - kept-<container id> exists while a container is kept running because
//     one of its runs asked (keep_running), which its label may not say (it
//     is another run's that started it). A container used by no one, and
//     neither kept nor labelled to be kept, was left by an apply killed
//     before it could stop it: the next apply or destroy of its workflow
//     removes it (see servers.removeLeftovers).
//
// The kernel drops a process's flock locks when it dies, so a killed apply
// leaves no lock behind. Processes that see another temporary folder (or
// another host) do not see each other's locks.
type lockDir string

func defaultLockDir() lockDir { return lockDir(filepath.Join(os.TempDir(), "sdform-comfyui-locks")) }

func keyLock(ckey string) string           { return "key-" + ckey + ".lock" }
func useLock(containerID string) string    { return "use-" + containerID + ".lock" }
func keptMarker(containerID string) string { return "kept-" + containerID }

// open opens the lock file name, creating it and the folder. The folder is
// shared by every user of the host, like the temporary folder itself.
func (d lockDir) open(name string) (*os.File, error) {
	if err := os.Mkdir(string(d), 0o777); err == nil {
		if err := os.Chmod(string(d), 0o777|fs.ModeSticky); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	p := filepath.Join(string(d), name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o666)
	if errors.Is(err, fs.ErrPermission) {
		// Another user's lock file: flock works on a read-only file.
		f, err = os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	return f, err
}

// tryLock takes the lock name (syscall.LOCK_SH or LOCK_EX) without
// waiting. ok is false when another holder's lock conflicts with it.
func (d lockDir) tryLock(name string, how int) (f *os.File, ok bool, err error) {
	f, err = d.open(name)
	if err != nil {
		return nil, false, fmt.Errorf("open lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", filepath.Join(string(d), name), err)
	}
	return f, true, nil
}

// lock waits until it holds the lock name, or ctx ends.
func (d lockDir) lock(ctx context.Context, name string, how int) (*os.File, error) {
	for {
		f, ok, err := d.tryLock(name, how)
		if err != nil || ok {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forget deletes the files of a container that is gone: its use lock,
// which the caller holds exclusively, and its kept marker.
func (d lockDir) forget(containerID string) {
	os.Remove(filepath.Join(string(d), useLock(containerID)))
	os.Remove(filepath.Join(string(d), keptMarker(containerID)))
}

// markKept records that a container is kept running.
func (d lockDir) markKept(containerID string) error {
	f, err := d.open(keptMarker(containerID))
	if err != nil {
		return err
	}
	return f.Close()
}

// isKept reports whether a container is marked kept running.
func (d lockDir) isKept(containerID string) bool {
	_, err := os.Lstat(filepath.Join(string(d), keptMarker(containerID)))
	return err == nil
}
