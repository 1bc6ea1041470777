package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often Lock retries a held lock.
const lockPoll = 100 * time.Millisecond

// LockInfo says who holds a state lock and why. It is written as JSON to
// the state path + ".lock.info" while the lock is held.
type LockInfo struct {
	ID        string    `json:"id"`
	Who       string    `json:"who"` // user@host
	Operation string    `json:"operation"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
	Path      string    `json:"path"` // the state file
}

// ErrNotLocked is wrapped by ForceUnlock's error when there is no lock to
// clear.
var ErrNotLocked = errors.New("state is not locked")

// LockedError is returned by Lock when another holder kept the lock past the
// timeout. Info is nil when the holder's lock-info file could not be read.
type LockedError struct {
	Path    string
	Info    *LockInfo
	InfoErr error
}

func (e *LockedError) Error() string {
	if e.Info == nil {
		return fmt.Sprintf("state is locked: held by another process (its lock info %s is unreadable: %v); it is released when that process exits",
			lockInfoPath(e.Path), e.InfoErr)
	}
	i := e.Info
	return fmt.Sprintf("state is locked: held by PID %d (%s) for %q since %s; it is released when that process exits (or run \"sdform state unlock %s\" if it is gone)",
		i.PID, i.Who, i.Operation, i.Created.Format(time.RFC3339), i.ID)
}

// Locker is a held state lock.
type Locker struct {
	mu   sync.Mutex
	f    *os.File // nil once released
	info LockInfo
}

// Info returns what was recorded about this lock.
func (l *Locker) Info() LockInfo { return l.info }

func lockPath(statePath string) string     { return statePath + ".lock" }
func lockInfoPath(statePath string) string { return statePath + ".lock.info" }

// Lock takes the state lock for operation ("plan", "apply", …), waiting up to
// timeout (0: a single try) and giving up early when ctx ends. The lock is an
// flock on statePath+".lock", so the kernel releases it when this process
// exits however it exits; statePath+".lock.info" names the holder for
// others to see. When the lock stays held, the error is a *LockedError that
// names the holder.
func Lock(ctx context.Context, statePath, operation string, timeout time.Duration) (*Locker, error) {
	if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
		return nil, fmt.Errorf("lock state %s: %w", statePath, err)
	}
	f, err := os.OpenFile(lockPath(statePath), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state %s: %w", statePath, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := flockNB(f)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock state %s: flock %s: %w", statePath, f.Name(), err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			f.Close()
			info, infoErr := ReadLockInfo(statePath)
			return nil, &LockedError{Path: statePath, Info: info, InfoErr: infoErr}
		}
		t := time.NewTimer(min(wait, lockPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("wait for state lock %s: %w", statePath, ctx.Err())
		case <-t.C:
		}
	}

	l := &Locker{f: f, info: LockInfo{
		ID:        randomID(),
		Who:       whoAmI(),
		Operation: operation,
		PID:       os.Getpid(),
		Created:   time.Now().UTC().Truncate(time.Second),
		Path:      statePath,
	}}
	data, err := json.MarshalIndent(l.info, "", "  ")
	if err == nil {
		err = writeReplace(lockInfoPath(statePath), append(data, '\n'))
	}
	if err != nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		return nil, fmt.Errorf("lock state %s: write lock info: %w", statePath, err)
	}
	return l, nil
}

// Unlock releases the lock and removes its info file. Calling it again does
// nothing.
func (l *Locker) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	// Remove the info first, while the flock still guarantees that the
	// file is ours and not the next holder's.
	var errs []error
	if err := os.Remove(lockInfoPath(l.info.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN); err != nil {
		errs = append(errs, fmt.Errorf("flock %s: %w", l.f.Name(), err))
	}
	if err := l.f.Close(); err != nil {
		errs = append(errs, err)
	}
	l.f = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unlock state %s: %w", l.info.Path, err)
	}
	return nil
}

// ReadLockInfo returns what the current (or last, if its holder died) lock
// holder recorded. The error wraps fs.ErrNotExist when there is none.
func ReadLockInfo(statePath string) (*LockInfo, error) {
	data, err := os.ReadFile(lockInfoPath(statePath))
	if err != nil {
		return nil, fmt.Errorf("read lock info: %w", err)
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("read lock info %s: %w", lockInfoPath(statePath), err)
	}
	return &info, nil
}

// ForceUnlock clears the lock with the given ID when its holder is gone: it
// removes the info file the dead holder left. While the holder still holds
// the flock, it refuses and names it: clearing a live lock would let two
// commands write one state.
func ForceUnlock(statePath, id string) error {
	f, err := os.OpenFile(lockPath(statePath), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unlock state %s: %w", statePath, ErrNotLocked)
	}
	if err != nil {
		return fmt.Errorf("unlock state %s: %w", statePath, err)
	}
	defer f.Close()
	if err := flockNB(f); err != nil {
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("unlock state %s: flock %s: %w", statePath, f.Name(), err)
		}
		info, infoErr := ReadLockInfo(statePath)
		if info == nil {
			return fmt.Errorf("unlock state %s: refusing: a running process holds the lock (its info is unreadable: %v)", statePath, infoErr)
		}
		return fmt.Errorf("unlock state %s: refusing: lock %s is held by PID %d (%s) for %q since %s, which is still running; wait for it or stop that process",
			statePath, info.ID, info.PID, info.Who, info.Operation, info.Created.Format(time.RFC3339))
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)

	info, err := ReadLockInfo(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unlock state %s: %w", statePath, ErrNotLocked)
	}
	if err != nil {
		// Without a readable ID there is nothing to match the request
		// against; the user can remove the debris by hand.
		return fmt.Errorf("unlock state %s: %w (no process holds the lock; remove that file by hand)", statePath, err)
	}
	if info.ID != id {
		return fmt.Errorf("unlock state %s: the recorded lock has ID %s, not %s", statePath, info.ID, id)
	}
	if err := os.Remove(lockInfoPath(statePath)); err != nil {
		return fmt.Errorf("unlock state %s: %w", statePath, err)
	}
	return nil
}

// flockNB tries once to take an exclusive flock, retrying only on EINTR.
func flockNB(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// whoAmI returns user@host for the lock info, falling back to what the
// environment says when the user database cannot be read.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return name + "@" + host
}
