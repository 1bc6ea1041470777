package docker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/zclconf/go-cty/cty"
)

// TestIntegrationDockerContainer runs buildkitd in a container of the test
// Docker Engine — the services' own buildkitd binary, bind-mounted into the
// busybox image with the host's libraries and runc, with CAP_SYS_ADMIN for
// its snapshot mounts — and builds and pushes through
// buildkit = "docker-container://NAME", which reaches it by `buildctl
// dial-stdio` over the Engine's exec API.
func TestIntegrationDockerContainer(t *testing.T) {
	host := testenv.DockerHost(t)
	busybox := testenv.DockerBaseImage(t)
	bin := filepath.Dir(testenv.Buildctl(t))
	reg := testenv.Registry(t)
	base := testenv.BaseImage(t)
	if _, err := os.Stat(filepath.Join(bin, "buildkitd")); err != nil {
		t.Skipf("no buildkitd beside buildctl: %v", err)
	}
	ctx := context.Background()
	c, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := "sdform-it-buildkit-" + nonce()
	root := t.TempDir()
	created, err := c.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: busybox,
			Env:   []string{"PATH=/opt/bk:/usr/bin:/bin"},
			Cmd:   []string{"/opt/bk/buildkitd", "--root", "/var/lib/buildkit", "--oci-worker-net=host", "--oci-worker-snapshotter=native"},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "host",
			CapAdd:      []string{"SYS_ADMIN"},
			SecurityOpt: []string{"apparmor=unconfined", "seccomp=unconfined"},
			Binds: []string{
				bin + ":/opt/bk:ro", "/usr/sbin/runc:/usr/bin/runc:ro",
				"/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro", "/lib64:/lib64:ro",
				root + ":/var/lib/buildkit",
			},
		},
	})
	if err != nil {
		t.Skipf("cannot create a BuildKit container on this Engine: %v", err)
	}
	t.Cleanup(func() {
		c.ContainerRemove(context.Background(), created.ID, mobyclient.ContainerRemoveOptions{Force: true})
	})
	if _, err := c.ContainerStart(ctx, created.ID, mobyclient.ContainerStartOptions{}); err != nil {
		t.Skipf("cannot start a BuildKit container on this Engine: %v", err)
	}

	provider := map[string]cty.Value{"buildkit": cty.StringVal("docker-container://" + name), "docker_host": cty.StringVal(host)}
	var h *harness
	// buildkitd needs a moment to listen; the provider remembers a failed
	// dial for its lifetime, so each try gets a fresh one.
	deadline := time.Now().Add(15 * time.Second)
	for {
		// This Engine refuses privileged containers, and with only
		// CAP_SYS_ADMIN the container's runc cannot run RUN steps; a COPY
		// onto the registry's base needs no container of its own.
		h = newHarness(t, provider, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY n /n\n", "n": nonce()})
		_, err := h.p.builder(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("BuildKit in container %s never answered: %v", name, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	tag := reg + "/sdform-it/container:" + nonce()
	cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.True})
	pr := h.mustBuild(cfg)
	if d := detail(pr, "builder:"); d != "builder: BuildKit v0.34.2 at docker-container://"+name {
		t.Errorf("builder detail = %q", d)
	}
	if h.attr("digest") == "" || h.attr("id") == "" {
		t.Errorf("state after build: %#v", h.state)
	}
}
