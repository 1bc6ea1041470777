package comfyui

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// TestServerSharedWhileStarting runs three workflows on one server while
// its container is still starting (the fake answers after 20 s, longer
// than the 15 s reuse gives an idle container): A names the image by tag,
// B (same provider) by id, C (another provider: another sdform process)
// by id. What must hold: no run removes the container another run waits
// for, one container serves all three, and it is stopped only by the last
// provider that uses it.
func TestServerSharedWhileStarting(t *testing.T) {
	g := newEngine(t)
	tag := fmt.Sprintf("sdform-test/comfyui-fake:shared-%d", time.Now().UnixNano())
	id := buildFakeImageAs(t, g.dc, g.base, tag, "")
	g.removeAtEnd(t, id)
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	other := e.next()
	byTag := g.fakeCfg(tag, nil, "--ready-after", "20s")
	byID := g.fakeCfg(id, nil, "--ready-after", "20s")

	runs := map[string]struct {
		p   providers.Provider
		cfg cty.Value
	}{"a": {e.p, byTag}, "b": {e.p, byID}, "c": {other.p, byID}}
	outs := map[string]*syncBuffer{}
	diags := map[string]providers.Diagnostics{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	apply := func(name string) {
		defer wg.Done()
		r, out := runs[name], &syncBuffer{}
		ar := r.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_workflow", Address: "comfyui_workflow." + name,
			Action: providers.Create, Prior: noWf().value, Planned: r.cfg, Config: r.cfg, UI: providers.UI{Out: out}})
		mu.Lock()
		outs[name], diags[name] = out, ar.Diagnostics
		mu.Unlock()
	}
	wg.Add(1)
	go apply("a")
	for i := 0; i < 300; i++ {
		if c := managedContainers(t, g.dc, id); len(c) == 1 && strings.HasSuffix(c[0], " running") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Add(2)
	go apply("b")
	go apply("c")
	wg.Wait()
	for _, name := range []string{"a", "b", "c"} {
		if diags[name].HasErrors() {
			t.Errorf("workflow %s failed: %s\n%s", name, diagsText(diags[name]), outs[name].String())
		}
	}
	if strings.Contains(outs["b"].String(), "starting") || strings.Contains(outs["c"].String(), "starting") {
		t.Errorf("a second container was started:\nb:\n%s\nc:\n%s", outs["b"].String(), outs["c"].String())
	}
	if !strings.Contains(outs["c"].String(), "comfyui server: sharing sdform-comfyui-") {
		t.Errorf("the other provider does not say it shares the server:\n%s", outs["c"].String())
	}
	first := managedContainers(t, g.dc, id)
	if len(first) != 1 {
		t.Fatalf("containers: %v", first)
	}
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}
	if now := managedContainers(t, g.dc, id); len(now) != 1 || now[0] != first[0] {
		t.Errorf("after the first provider closed: %v, want %v still running for the other", now, first)
	}
	if err := other.p.Close(); err != nil {
		t.Fatal(err)
	}
	if left := managedContainers(t, g.dc, id); len(left) != 0 {
		t.Errorf("containers left after the last provider closed: %v", left)
	}
}

// TestContainerInUseIsLeftAlone puts a created (not yet started) container
// of the same settings beside a start, as another apply would between its
// create and its start. What must hold: while that apply holds the
// container's use lock, the start leaves the container alone; once no one
// holds it, the next start removes it as left by an earlier apply.
func TestContainerInUseIsLeftAlone(t *testing.T) {
	g := newEngine(t)
	ctx := context.Background()
	spec := serverSpec{Image: g.base, Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}, GPUs: "none", DockerHost: g.host}
	imageID, err := resolveImage(ctx, g.dc, g.base)
	if err != nil {
		t.Fatal(err)
	}
	ckey := spec.containerKey(imageID)
	created, err := g.dc.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
		Config: &container.Config{Image: imageID, Cmd: spec.Command,
			Labels: map[string]string{labelManaged: "true", labelKey: ckey, labelPort: strconv.Itoa(freeTCPPort(t))}},
		HostConfig: &container.HostConfig{NetworkMode: "host"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.dc.ContainerRemove(context.Background(), created.ID, mobyclient.ContainerRemoveOptions{Force: true})
	})
	held, ok, err := defaultLockDir().tryLock(useLock(created.ID), syscall.LOCK_SH)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	exists := func() bool {
		_, err := g.dc.ContainerInspect(ctx, created.ID, mobyclient.ContainerInspectOptions{})
		return err == nil
	}

	s := newServers()
	var out bytes.Buffer
	if _, err := s.start(ctx, spec, time.Second, &out); err == nil {
		t.Error("a server that never answers was ready")
	}
	s.close()
	if !exists() {
		t.Fatalf("the container another apply holds was removed:\n%s", out.String())
	}

	held.Close()
	s = newServers()
	out.Reset()
	s.start(ctx, spec, time.Second, &out)
	s.close()
	if exists() || !strings.Contains(out.String(), "left created by an earlier apply") {
		t.Errorf("the container no one holds is still there (%v):\n%s", exists(), out.String())
	}
	if left := managedContainers(t, g.dc, g.base); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestLockDirSharedAndExclusive checks the flock rules servers rely on:
// shared locks coexist, and an exclusive one is refused while any other
// holder (another file of the same process too) has the file.
func TestLockDirSharedAndExclusive(t *testing.T) {
	d := lockDir(t.TempDir())
	a, ok, err := d.tryLock("use-x.lock", syscall.LOCK_SH)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	b, ok, err := d.tryLock("use-x.lock", syscall.LOCK_SH)
	if err != nil || !ok {
		t.Fatal("a second shared lock was refused", err)
	}
	if _, ok, _ := d.tryLock("use-x.lock", syscall.LOCK_EX); ok {
		t.Error("an exclusive lock was given while two shared ones are held")
	}
	a.Close()
	if _, ok, _ := d.tryLock("use-x.lock", syscall.LOCK_EX); ok {
		t.Error("an exclusive lock was given while one shared one is held")
	}
	b.Close()
	c, ok, err := d.tryLock("use-x.lock", syscall.LOCK_EX)
	if err != nil || !ok {
		t.Fatal("the exclusive lock was refused once no one held the file", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := d.lock(ctx, "use-x.lock", syscall.LOCK_SH); err == nil {
		t.Error("lock did not wait for the exclusive holder")
	}
	c.Close()
}
