package download

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The kill tests re-run this test binary as a child that fetches from a
// slow server, SIGKILL it mid-download, and resume in the parent.
const childEnv = "SDFORM_DOWNLOAD_KILL_CHILD"

type childJob struct {
	Remote   Remote
	Dest     string
	Parallel bool
}

// TestKillChild is the child's side; it does nothing in a normal run.
func TestKillChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("helper for TestFetchResumesAfterSIGKILL; runs only as its child")
	}
	var job childJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	if job.Parallel {
		opts = parallelOptions()
	}
	opts.IdleTimeout = 10 * time.Second
	_, err := (&Client{}).Fetch(context.Background(), &job.Remote, job.Dest, opts)
	t.Fatalf("the child was meant to be killed, but Fetch returned (err %v)", err)
}

func TestFetchResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			const size = 2 << 20
			content := randomContent(size, 11)
			s := newFileServer(t, content)
			s.rate.Store(size / 4) // whole file: 4 s for one connection
			dest := filepath.Join(t.TempDir(), "m.bin")
			spec, _ := json.Marshal(childJob{Remote: *s.remote(), Dest: dest, Parallel: parallel})

			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill once the child's sidecar vouches for some bytes.
			deadline := time.Now().Add(20 * time.Second)
			for {
				sc, err := readSidecar(SidecarPath(dest))
				if err == nil && sc.Written.bytes() >= 256<<10 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child wrote no checkpoint in time; output:\n%s", out.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			state, _ := cmd.Process.Wait()
			if state.Exited() {
				t.Fatalf("child exited on its own (%v) instead of being killed:\n%s", state, out.String())
			}
			gets0, _, _ := s.stats()
			served0 := s.served.Load()
			if served0 >= size {
				t.Fatalf("the server had already sent %d bytes before the kill", served0)
			}

			s.rate.Store(0)
			opts := fastOptions()
			if parallel {
				opts = parallelOptions()
			}
			res, err := (&Client{}).Fetch(context.Background(), s.remote(), dest, opts)
			if err != nil {
				t.Fatalf("resume after kill: %v", err)
			}
			got, _ := os.ReadFile(dest)
			if !bytes.Equal(got, content) {
				t.Fatal("resumed file differs")
			}
			_, starts, _ := s.stats()
			var minStart int64 = -1
			for _, st := range starts[gets0:] {
				if minStart < 0 || st < minStart {
					minStart = st
				}
			}
			total := s.served.Load()
			t.Logf("killed after %d bytes served; resume made %d requests, lowest range start %d, resumed %d bytes, total served %d of %d",
				served0, len(starts)-gets0, minStart, res.Resumed, total, size)
			if minStart <= 0 {
				t.Fatalf("the resumed download requested from byte %d, want a Range starting after 0", minStart)
			}
			if total >= 2*size {
				t.Fatalf("served %d bytes in all, want < 2×%d", total, size)
			}
			if res.Resumed == 0 {
				t.Fatal("result reports nothing resumed")
			}
		})
	}
}
