package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a lock holder: see TestHelperProcess.
const helperEnv = "SDFORM_STATE_LOCK_HELPER"

// TestHelperProcess is not a test: when the parent test re-executes the test
// binary with helperEnv set to a state path, this takes the lock, prints
// "locked <ID>", then obeys lines on stdin: "unlock" releases the lock and
// exits; end of input exits without unlocking (the kernel drops the flock,
// the info file stays, as after a crash).
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for the lock tests; runs only when re-executed by them")
	}
	l, err := Lock(context.Background(), path, "apply", 5*time.Second)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	fmt.Println("locked", l.Info().ID)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "unlock" {
			if err := l.Unlock(); err != nil {
				fmt.Println("error", err)
				os.Exit(4)
			}
			fmt.Println("unlocked")
			os.Exit(0)
		}
	}
	os.Exit(0)
}

// holder is another process holding the state lock.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	id    string
}

func startHolder(t *testing.T, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line := h.expect(t, "locked ")
	h.id = strings.TrimPrefix(line, "locked ")
	return h
}

// expect reads the helper's next line, bounded in time, and checks its prefix.
func (h *holder) expect(t *testing.T, prefix string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if h.out.Scan() {
			got <- h.out.Text()
		} else {
			got <- "EOF"
		}
	}()
	select {
	case line := <-got:
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("helper said %q, want %q…", line, prefix)
		}
		return line
	case <-time.After(10 * time.Second):
		t.Fatalf("helper said nothing in 10s, want %q…", prefix)
	}
	return ""
}

// crash makes the holder exit without unlocking and waits for it.
func (h *holder) crash(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

func TestLockContentionBetweenProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".sdform", "state.json")
	h := startHolder(t, path)

	info, err := ReadLockInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.PID != h.cmd.Process.Pid || info.Operation != "apply" || info.ID != h.id || !strings.Contains(info.Who, "@") || info.Path != path {
		t.Errorf("lock info = %+v; want the helper's PID %d, apply, ID %s", info, h.cmd.Process.Pid, h.id)
	}
	if st, err := os.Stat(path + ".lock.info"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock info file: %v, mode %v; want 0600", err, st)
	}

	start := time.Now()
	_, err = Lock(context.Background(), path, "plan", 300*time.Millisecond)
	waited := time.Since(start)
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("Lock = %v, want a *LockedError", err)
	}
	want := fmt.Sprintf(`state is locked: held by PID %d (%s) for "apply" since %s; it is released when that process exits (or run "sdform state unlock %s" if it is gone)`,
		h.cmd.Process.Pid, info.Who, info.Created.Format(time.RFC3339), h.id)
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
	if waited < 300*time.Millisecond || waited > 3*time.Second {
		t.Errorf("Lock gave up after %v, want about the 300ms timeout", waited)
	}

	// A zero timeout is a single try.
	start = time.Now()
	if _, err := Lock(context.Background(), path, "plan", 0); !errors.As(err, &locked) {
		t.Errorf("Lock with no timeout = %v, want a *LockedError", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a single try took %v", d)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := startHolder(t, path)

	go func() {
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintln(h.stdin, "unlock")
	}()
	start := time.Now()
	l, err := Lock(context.Background(), path, "apply", 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder released: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("took the lock after %v, before the holder released it", d)
	}
	h.expect(t, "unlocked")
	info, err := ReadLockInfo(path)
	if err != nil || info.PID != os.Getpid() || info.ID != l.Info().ID {
		t.Errorf("lock info after taking over = %+v, %v; want ours", info, err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if _, err := ReadLockInfo(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock info after Unlock: %v, want it gone", err)
	}
}

func TestLockAfterHolderCrashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := startHolder(t, path)
	h.crash(t)

	// The kernel released the flock: the next command proceeds at once,
	// replacing the dead holder's info.
	l, err := Lock(context.Background(), path, "plan", 0)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	defer l.Unlock()
	if info, err := ReadLockInfo(path); err != nil || info.ID == h.id {
		t.Errorf("info still names the dead holder: %+v, %v", info, err)
	}
}

func TestLockRespectsContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	startHolder(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Lock(ctx, path, "apply", time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Lock returned %v after the context ended", d)
	}
}

func TestForceUnlock(t *testing.T) {
	t.Run("live holder is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		h := startHolder(t, path)
		err := ForceUnlock(path, h.id)
		if err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), fmt.Sprint(h.cmd.Process.Pid)) {
			t.Fatalf("ForceUnlock = %v, want a refusal naming PID %d", err, h.cmd.Process.Pid)
		}
		if info, err := ReadLockInfo(path); err != nil || info.ID != h.id {
			t.Errorf("refused ForceUnlock touched the info: %+v, %v", info, err)
		}
		if _, err := Lock(context.Background(), path, "plan", 0); err == nil {
			t.Error("the lock was free after a refused ForceUnlock")
		}
	})
	t.Run("dead holder is cleared", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		h := startHolder(t, path)
		h.crash(t)
		if err := ForceUnlock(path, "not-"+h.id); err == nil || !strings.Contains(err.Error(), h.id) {
			t.Errorf("ForceUnlock with a wrong ID = %v, want a refusal naming the recorded ID", err)
		}
		if err := ForceUnlock(path, h.id); err != nil {
			t.Fatalf("ForceUnlock: %v", err)
		}
		if _, err := ReadLockInfo(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("lock info after ForceUnlock: %v, want it gone", err)
		}
		if err := ForceUnlock(path, h.id); !errors.Is(err, ErrNotLocked) {
			t.Errorf("second ForceUnlock = %v, want ErrNotLocked", err)
		}
	})
	t.Run("never locked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := ForceUnlock(path, "x"); !errors.Is(err, ErrNotLocked) {
			t.Errorf("ForceUnlock = %v, want ErrNotLocked", err)
		}
	})
}

// Two locks in one process conflict too (flock is per open file), so the
// planner cannot lock the same state twice by mistake.
func TestLockInOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	l, err := Lock(context.Background(), path, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), path, "plan", 0); err == nil {
		t.Error("a second Lock in the same process succeeded")
	}
	if err := ForceUnlock(path, l.Info().ID); err == nil {
		t.Error("ForceUnlock of a lock held by this process succeeded")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(context.Background(), path, "plan", 0)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}
