package docker

import (
	"net/url"
	"os"
	"slices"
	"strings"

	// The docker CLI's reading of an ssh:// DOCKER_HOST (newEngineClient
	// dials it with the CLI's connection helper).
	dockerssh "github.com/docker/cli/cli/connhelper/ssh"
	// BuildKit's own connection helpers: they register the kube-pod:// and
	// ssh:// schemes with its client (kubectl exec / ssh running
	// `buildctl dial-stdio` on the far side).
	"github.com/moby/buildkit/client/connhelper/kubepod"
	bkssh "github.com/moby/buildkit/client/connhelper/ssh"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// defaultDockerHost is where the Docker Engine listens when neither the
// provider block nor DOCKER_HOST says otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

// providerSchema is the body of `provider "docker" { … }`.
func providerSchema() *providers.Schema {
	str := func(desc string) *providers.Attribute {
		return &providers.Attribute{Type: cty.String, Optional: true, Description: desc}
	}
	return &providers.Schema{
		Description: "Where images are built and stored.",
		Attributes: map[string]*providers.Attribute{
			"buildkit":          str(`"docker" (the local Docker Engine's BuildKit, default), "unix://…", "tcp://…", "docker-container://NAME", "kube-pod://POD?namespace=…&context=…&container=…" or "ssh://USER@HOST[:PORT][/SOCKET]".`),
			"docker_host":       str("Docker Engine address (unix://, tcp:// or ssh://USER@HOST, as the docker CLI takes it); default DOCKER_HOST or " + defaultDockerHost + "."),
			"ca_cert":           str("CA certificate file for a tcp:// BuildKit address."),
			"cert":              str("Client certificate file for a tcp:// BuildKit address."),
			"key":               str("Client key file for a tcp:// BuildKit address."),
			"server_name":       str("TLS server name for a tcp:// BuildKit address."),
			"buildkit_root":     str("buildkitd's --root on this machine, for the free-disk preflight of a standalone BuildKit."),
			"min_free_disk":     str(`Plan fails when the builder's disk has less free space than this ("20GB").`),
			"registry_insecure": {Type: cty.List(cty.String), Optional: true, Description: "Registry hosts reached over plain HTTP (127.0.0.1 and localhost always are)."},
		},
	}
}

// config is the decoded provider block.
type config struct {
	// buildkit is "docker" or a BuildKit address.
	buildkit   string
	dockerHost string
	caCert     string
	cert       string
	key        string
	serverName string
	// buildkitRoot is statfs'd for free disk with a standalone BuildKit.
	buildkitRoot     string
	minFreeDisk      int64
	minFreeDiskText  string
	registryInsecure []string
}

// backendKind names the three ways to reach a builder.
type backendKind int

const (
	backendDocker          backendKind = iota // the Docker Engine's built-in BuildKit
	backendBuildKit                           // a standalone buildkitd at unix://, tcp://, kube-pod:// or ssh://
	backendDockerContainer                    // a buildkitd in a container of the Engine
)

func (c config) kind() backendKind {
	switch {
	case c.buildkit == "docker":
		return backendDocker
	case strings.HasPrefix(c.buildkit, "docker-container://"):
		return backendDockerContainer
	}
	return backendBuildKit
}

// address is the builder address as shown to users.
func (c config) address() string {
	if c.kind() == backendDocker {
		return c.dockerHost + " (Docker Engine's BuildKit)"
	}
	return c.buildkit
}

// decodeConfig reads the provider block. Unknown or null attributes take
// their defaults; problems are diagnostics on the attribute.
func decodeConfig(v cty.Value, env func(string) string) (config, providers.Diagnostics) {
	var diags providers.Diagnostics
	c := config{buildkit: "docker", dockerHost: env("DOCKER_HOST")}
	if c.dockerHost == "" {
		c.dockerHost = defaultDockerHost
	}
	if v.IsNull() || !v.IsKnown() {
		return c, diags
	}
	v, _ = v.UnmarkDeep()
	get := func(name string) string {
		if !v.Type().HasAttribute(name) {
			return ""
		}
		a := v.GetAttr(name)
		if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
			return ""
		}
		return a.AsString()
	}
	if s := get("buildkit"); s != "" {
		c.buildkit = s
	}
	if s := get("docker_host"); s != "" {
		c.dockerHost = s
	}
	c.caCert, c.cert, c.key, c.serverName = get("ca_cert"), get("cert"), get("key"), get("server_name")
	c.buildkitRoot = get("buildkit_root")
	if s := get("min_free_disk"); s != "" {
		n, err := lang.ParseSize(s)
		if err != nil {
			diags = diags.Errorf(cty.GetAttrPath("min_free_disk"), "Invalid min_free_disk", "min_free_disk %q is not a size: %v. Write it like \"20GB\" or \"24GiB\".", s, err)
		}
		c.minFreeDisk, c.minFreeDiskText = n, s
	}
	if v.Type().HasAttribute("registry_insecure") {
		if l := v.GetAttr("registry_insecure"); !l.IsNull() && l.IsKnown() {
			for it := l.ElementIterator(); it.Next(); {
				_, h := it.Element()
				if h.IsKnown() && !h.IsNull() {
					c.registryInsecure = append(c.registryInsecure, h.AsString())
				}
			}
		}
	}
	diags = append(diags, c.check()...)
	return c, diags
}

// check validates the address forms offline.
func (c config) check() providers.Diagnostics {
	var diags providers.Diagnostics
	if c.buildkit != "docker" {
		u, err := url.Parse(c.buildkit)
		shown, hasPassword := c.buildkit, false // shown: the address as messages show it, never with a password
		if err == nil {
			shown = u.Redacted()
			_, hasPassword = u.User.Password()
		}
		switch {
		case err != nil:
			diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Invalid BuildKit address", "buildkit = %q is not an address: %v.", shown, err)
		case hasPassword:
			diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Password in BuildKit address", "buildkit = %q holds a password, which state and plans would show; ssh:// logs in with a key or an agent.", shown)
		case !slices.Contains([]string{"unix", "tcp", "docker-container", "kube-pod", "ssh"}, u.Scheme):
			diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Unsupported BuildKit address", "buildkit = %q: the scheme must be unix://, tcp://, docker-container://, kube-pod:// or ssh://, or the value \"docker\" for the local Docker Engine's BuildKit.", shown)
		case u.Scheme == "docker-container" && u.Host == "":
			diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Missing container name", "buildkit = %q names no container: write docker-container://NAME.", shown)
		case u.Scheme == "kube-pod":
			if _, err := kubepod.SpecFromURL(u); err != nil {
				diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Invalid kube-pod address", "buildkit = %q: %v; write kube-pod://POD?namespace=NS&context=CTX&container=NAME (the query is optional).", shown, err)
			}
		case u.Scheme == "ssh":
			if _, err := bkssh.SpecFromURL(u); err != nil {
				diags = diags.Errorf(cty.GetAttrPath("buildkit"), "Invalid ssh address", "buildkit = %q: %v; write ssh://USER@HOST[:PORT][/path/to/buildkitd.sock].", shown, err)
			}
		}
		if (c.caCert != "" || c.cert != "" || c.key != "") && u != nil && u.Scheme != "tcp" {
			diags = diags.Warnf(cty.GetAttrPath("ca_cert"), "TLS settings unused", "ca_cert, cert and key apply to tcp:// addresses only; buildkit = %q does not use them.", shown)
		}
	}
	if (c.cert == "") != (c.key == "") {
		diags = diags.Errorf(cty.GetAttrPath("cert"), "Incomplete client certificate", "cert and key must be set together.")
	}
	for _, f := range []struct{ name, path string }{{"ca_cert", c.caCert}, {"cert", c.cert}, {"key", c.key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			diags = diags.Errorf(cty.GetAttrPath(f.name), "Unreadable "+f.name, "%s = %q: %v.", f.name, f.path, err)
		}
	}
	u, err := url.Parse(c.dockerHost)
	var hasPassword bool
	if err == nil {
		_, hasPassword = u.User.Password()
	}
	switch {
	case err != nil || (u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "npipe" && u.Scheme != "ssh"):
		diags = diags.Errorf(cty.GetAttrPath("docker_host"), "Invalid Docker Engine address", "docker_host = %q: write unix:///path/docker.sock, tcp://host:port or ssh://USER@HOST.", c.dockerHost)
	case hasPassword:
		diags = diags.Errorf(cty.GetAttrPath("docker_host"), "Password in Docker Engine address", "docker_host = %q holds a password, which state and plans would show; ssh:// logs in with a key or an agent.", u.Redacted())
	case u.Scheme == "ssh":
		if _, err := dockerssh.NewSpec(u); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("docker_host"), "Invalid ssh address", "docker_host = %q: %v; write ssh://USER@HOST[:PORT][/path/to/docker.sock].", u.Redacted(), err)
		}
	}
	return diags
}

// insecureRegistry reports whether host is reached over plain HTTP.
func (c config) insecureRegistry(host string) bool {
	h := host
	if i := strings.LastIndex(h, ":"); i > 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	if h == "localhost" || strings.HasPrefix(h, "127.") || h == "[::1]" || h == "::1" {
		return true
	}
	for _, r := range c.registryInsecure {
		if r == host || r == h {
			return true
		}
	}
	return false
}
