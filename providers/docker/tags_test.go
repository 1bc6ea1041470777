package docker

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// Tags are checked offline, each on its own element of tags, so that the
// engine points at the line; before, a bad one failed only in apply with
// BuildKit's "invalid reference format".
func TestValidateTags(t *testing.T) {
	unknown := cty.UnknownVal(cty.String)
	for name, tc := range map[string]struct {
		tags []cty.Value
		// want maps the index of each element that must get an error to
		// a text its detail must hold.
		want map[int]string
	}{
		"valid": {tags: []cty.Value{cty.StringVal("busybox"), cty.StringVal("127.0.0.1:5000/x/y:1.0"), cty.StringVal("localhost/a"),
			cty.StringVal("REG.example.com/team/app:v1"), cty.StringVal("ghcr.io/t/a:" + strings.Repeat("a", 128))}},
		"spaces and punctuation": {tags: []cty.Value{cty.StringVal("Bad Tag!!")}, want: map[int]string{0: `"Bad Tag!!" is not an image tag`}},
		"uppercase repository":   {tags: []cty.Value{cty.StringVal("UPPER/case:x")}, want: map[int]string{0: `"UPPER/case:x" is not an image tag: repository name must be lowercase`}},
		"two colons":             {tags: []cty.Value{cty.StringVal("ok:tag:extra")}, want: map[int]string{0: `"ok:tag:extra" is not an image tag`}},
		"digest":                 {tags: []cty.Value{cty.StringVal("a:b@sha256:" + strings.Repeat("0", 64))}, want: map[int]string{0: "names a digest"}},
		"tag too long":           {tags: []cty.Value{cty.StringVal("a:" + strings.Repeat("a", 129))}, want: map[int]string{0: "is not an image tag"}},
		"indexes count unknown elements": {
			tags: []cty.Value{unknown, cty.StringVal("ok:1"), cty.StringVal("Bad Tag!!"), unknown, cty.StringVal("ok:tag:extra")},
			want: map[int]string{2: `tags[2] = "Bad Tag!!"`, 4: `tags[4] = "ok:tag:extra"`},
		},
		"one tag twice, spelled two ways": {
			tags: []cty.Value{cty.StringVal("busybox"), cty.StringVal("x:1"), cty.StringVal("docker.io/library/busybox:latest")},
			want: map[int]string{2: `tags[2] = "docker.io/library/busybox:latest" is tags[0] = "busybox" again (busybox:latest)`},
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil, map[string]string{"Dockerfile": "FROM busybox\n"})
			resp := h.p.ValidateResource(t.Context(), providers.ValidateRequest{TypeName: "docker_image",
				Config: h.image(map[string]cty.Value{"tags": cty.ListVal(tc.tags)})})
			got := map[int]string{}
			for _, d := range resp.Diagnostics {
				if d.Severity != providers.Error {
					continue
				}
				i, ok := tagIndex(d.Attribute)
				if !ok {
					t.Errorf("error not on an element of tags: %v %s: %s", d.Attribute, d.Summary, d.Detail)
					continue
				}
				got[i] = d.Detail
			}
			for i, want := range tc.want {
				if !strings.Contains(got[i], want) {
					t.Errorf("tags[%d]: error %q, want one holding %q", i, got[i], want)
				}
			}
			for i, d := range got {
				if _, ok := tc.want[i]; !ok {
					t.Errorf("tags[%d]: unexpected error %q", i, d)
				}
			}
		})
	}
}

// tagIndex returns i when path is tags[i].
func tagIndex(path cty.Path) (int, bool) {
	if len(path) != 2 || !path.Equals(cty.GetAttrPath("tags").Index(path[1].(cty.IndexStep).Key)) {
		return 0, false
	}
	i, _ := path[1].(cty.IndexStep).Key.AsBigFloat().Int64()
	return int(i), true
}

// Two docker_image objects with one tag, however spelled, are refused in
// plan, and in validate when the tags are literals: promoting one would take
// the tag from the other. The engine may plan
// them in either order or at once; exactly one is told, in the same words,
// naming both.
func TestDuplicateTags(t *testing.T) {
	provider := map[string]cty.Value{"buildkit": cty.StringVal("unix://" + filepath.Join(t.TempDir(), "none.sock"))}
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"}
	const wantDetail = "The tag busybox:latest is claimed by docker_image.a and docker_image.b."
	// plan plans the object at addr with a tag of its own and tag.
	plan := func(h *harness, addr, tag string) providers.Diagnostics {
		own := "own/" + strings.TrimPrefix(addr, "docker_image.") + ":1"
		cfg := h.image(map[string]cty.Value{"tags": strs(own, tag)})
		return h.p.PlanResource(t.Context(), providers.PlanRequest{TypeName: "docker_image", Address: addr, Prior: cty.NullVal(cfg.Type()), Config: cfg, Proposed: cfg}).Diagnostics
	}
	errorsOf := func(ds ...providers.Diagnostics) []string {
		var out []string
		for _, diags := range ds {
			for _, d := range onlyErrors(diags) {
				where := fmt.Sprint(d.Attribute)
				if i, ok := tagIndex(d.Attribute); ok {
					where = fmt.Sprintf("tags[%d]", i)
				}
				out = append(out, where+" "+d.Summary+": "+d.Detail)
			}
		}
		return out
	}
	check := func(t *testing.T, errs []string) {
		t.Helper()
		if len(errs) != 1 || !strings.HasPrefix(errs[0], "tags[1] Duplicate tag: "+wantDetail) {
			t.Errorf("errors = %q, want one on tags[1] starting %q", errs, wantDetail)
		}
	}
	for name, order := range map[string][2]string{"a first": {"docker_image.a", "docker_image.b"}, "b first": {"docker_image.b", "docker_image.a"}} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, provider, files)
			check(t, errorsOf(plan(h, order[0], "busybox"), plan(h, order[1], "docker.io/library/busybox:latest")))
		})
	}
	t.Run("at once", func(t *testing.T) {
		for range 20 {
			h := newHarness(t, provider, files)
			var ds [2]providers.Diagnostics
			var wg sync.WaitGroup
			for i, addr := range []string{"docker_image.a", "docker_image.b"} {
				wg.Go(func() { ds[i] = plan(h, addr, "busybox:latest") })
			}
			wg.Wait()
			if check(t, errorsOf(ds[:]...)); t.Failed() {
				break
			}
		}
	})
	t.Run("validate", func(t *testing.T) {
		// Validate claims the tags it knows (literals); those it does not
		// (variables) are left to plan.
		h := newHarness(t, provider, files)
		validate := func(addr string, tags cty.Value) []string {
			return errorsOf(h.p.ValidateResource(t.Context(), providers.ValidateRequest{TypeName: "docker_image", Address: addr, Config: h.image(map[string]cty.Value{"tags": tags})}).Diagnostics)
		}
		unknown := func(own string) cty.Value {
			return cty.ListVal([]cty.Value{cty.StringVal(own), cty.UnknownVal(cty.String)})
		}
		if errs := append(validate("docker_image.a", unknown("own/a:1")), validate("docker_image.b", unknown("own/b:1"))...); len(errs) > 0 {
			t.Errorf("unknown tags: %q", errs)
		}
		check(t, append(validate("docker_image.a", strs("own/a:1", "busybox")), validate("docker_image.b", strs("own/b:1", "busybox:latest"))...))
	})
	t.Run("planned again", func(t *testing.T) {
		// Apply plans each object again in the same command: an object
		// does not collide with itself, nor with tags it no longer has.
		h := newHarness(t, provider, files)
		if errs := errorsOf(plan(h, "docker_image.a", "busybox"), plan(h, "docker_image.a", "busybox")); len(errs) > 0 {
			t.Errorf("re-plan of one object: %q", errs)
		}
		plan(h, "docker_image.a", "mine:1")
		if errs := errorsOf(plan(h, "docker_image.b", "busybox")); len(errs) > 0 {
			t.Errorf("a tag given up by docker_image.a: %q", errs)
		}
	})
}

// The candidate tag a build carries until promotion is its object's own: two
// objects that claim one tag (plan refuses them, but a second command or
// provider does not know) must not share one, or promoting the first removes
// the second's build.
func TestCandidateTag(t *testing.T) {
	const a = "-sdform-candidate-7002bc4dc094" // hex of sha256("docker_image.a")[:6]
	long := strings.Repeat("a", 128)
	for in, want := range map[string]string{
		"runpod/steadydancer:fp8":          "runpod/steadydancer:fp8" + a,
		"127.0.0.1:5000/x/y:1.0":           "127.0.0.1:5000/x/y:1.0" + a,
		"127.0.0.1:5000/x/y":               "127.0.0.1:5000/x/y:latest" + a,
		"busybox":                          "busybox:latest" + a,
		"docker.io/library/busybox:latest": "busybox:latest" + a,
		"r:" + long:                        "r:" + long[:128-len(a)] + a,
		"busybox@sha256:0123456789abc":     "",
		":tag":                             "",
		"Bad Tag!!":                        "",
	} {
		got, err := candidateTag(in, "docker_image.a")
		if (err != nil) != (want == "") || got != want {
			t.Errorf("candidateTag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	ca, _ := candidateTag("r:t", "docker_image.a")
	cb, _ := candidateTag("r:t", "docker_image.b")
	if ca == cb {
		t.Errorf("docker_image.a and docker_image.b share the candidate %s", ca)
	}
}

// TestPendingBuilds: a tag waits for the build of the object that planned
// it until that build is promoted, whatever spelling of the tag a test
// uses; a planned build has no candidate yet, a built one has.
func TestPendingBuilds(t *testing.T) {
	var p pendingBuilds
	p.set("docker_image.app", []string{"app", "127.0.0.1:5000/team/app:v1"}, nil)
	if b, ok := p.lookup("docker.io/library/app:latest"); !ok || b.address != "docker_image.app" || b.candidate != "" {
		t.Errorf("planned build: %+v %v", b, ok)
	}
	v := objectOf(imageSchema(), map[string]cty.Value{"id": cty.StringVal(idA), "tags": strs("app", "127.0.0.1:5000/team/app:v1")})
	priv := &imagePrivate{Version: privateVersion, Candidates: []string{"app:latest-sdform-candidate-1", "127.0.0.1:5000/team/app:v1-sdform-candidate-1"}}
	p.note("docker_image.app", v, priv.encode())
	if b, ok := p.lookup("127.0.0.1:5000/team/app:v1"); !ok || b.candidate != "127.0.0.1:5000/team/app:v1-sdform-candidate-1" {
		t.Errorf("built, not promoted: %+v %v", b, ok)
	}
	if _, ok := p.lookup(idA); ok {
		t.Errorf("an image ID waits for a build")
	}
	priv.Promoted, priv.Candidates = true, nil
	p.note("docker_image.app", v, priv.encode())
	if b, ok := p.lookup("app"); ok {
		t.Errorf("promoted build still pending: %+v", b)
	}
}
