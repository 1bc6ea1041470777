package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// gatedTags returns n tags of one repository for a test whose tags wait
// for promotion: in the Engine on the docker backend, pushed to the
// registry on the standalone one (without push it has nothing to gate).
// Whatever the test leaves under them is removed afterwards.
func (be itBackend) gatedTags(t *testing.T, n int) (tags []string, push bool) {
	push = be.engine == nil
	base := be.tag(t, push)
	for i := range n {
		tags = append(tags, base+"-"+string(rune('a'+i)))
	}
	be.cleanup(t, tags...)
	return tags, push
}

// cleanup removes, after the test, refs and the tags sdform derives from
// them (previous, candidates): from the Engine, and from the registry by
// manifest digest.
func (be itBackend) cleanup(t *testing.T, refs ...string) {
	t.Cleanup(func() {
		ctx := context.Background()
		var all []string
		for _, ref := range refs {
			all = append(all, ref)
			if p, err := previousTag(ref); err == nil {
				all = append(all, p)
			}
			if c, err := candidateTag(ref, "docker_image.test"); err == nil {
				all = append(all, c)
			}
		}
		for _, ref := range all {
			if be.engine != nil {
				be.engine.ImageRemove(ctx, ref, mobyclient.ImageRemoveOptions{})
			}
			if !strings.HasPrefix(ref, be.registry+"/") {
				continue
			}
			r, err := name.ParseReference(ref, name.Insecure)
			if err != nil {
				continue
			}
			if d, err := remote.Head(r); err == nil {
				if dr, err := name.ParseReference(repoOf(ref)+"@"+d.Digest.String(), name.Insecure); err == nil {
					remote.Delete(dr)
				}
			}
		}
	})
}

// points returns what ref names where the backend keeps its tags: an image
// ID in the Engine, a manifest digest in the registry; "" for nothing.
func (be itBackend) points(h *harness, ref string) string {
	if be.engine != nil {
		res, err := be.engine.ImageInspect(context.Background(), ref)
		if err != nil {
			return ""
		}
		return res.ID
	}
	d, err := (registry{cfg: h.p.cfg}).head(context.Background(), ref)
	if err != nil {
		return ""
	}
	return d
}

// target is what the tags of h's image name where the backend keeps them.
func (be itBackend) target(h *harness) string {
	if be.engine != nil {
		return h.attr("id")
	}
	return h.attr("digest")
}

// TestIntegrationRollbackOnlyConfiguredTags: rollback moves only the tags
// the object has now. A tag the configuration dropped since the last
// promotion is no longer sdform's: it must not come back, and the record
// of what it named before goes with it. The message names both images.
func TestIntegrationRollbackOnlyConfiguredTags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tags, push := be.gatedTags(t, 2)
		one, two := tags[0], tags[1]
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
		cfg := func(v string, tags ...string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tags...), "push": cty.BoolVal(push), "args": strMap("V", v)})
		}
		h.mustBuild(cfg("a", one))
		a := be.target(h)
		h.mustBuild(cfg("b", one))
		b := be.target(h)

		// The tag moves to two (an update): one goes, and with it the
		// record that it named a before.
		pr := h.plan(cfg("b", two))
		if act := h.action(pr); act != providers.Update {
			t.Fatalf("rename the tag: %s (%q), want update", act, pr.Reason)
		}
		if ar := h.apply(cfg("b", two), pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		if priv, _ := decodePrivate(h.private); priv.Previous[one] != "" || priv.Applied[one] != "" {
			t.Errorf("record of the dropped tag %s kept: previous %q, applied %q", one, priv.Previous[one], priv.Applied[one])
		}
		rb := h.rollback()
		if !rb.Diagnostics.HasErrors() || !strings.Contains(rb.Diagnostics[0].Summary, "Nothing to roll back") {
			t.Errorf("rollback with only a tag added since the promotion: %v %q", rb.Diagnostics, rb.Messages)
		}
		if be.engine != nil && be.points(h, one) != "" {
			t.Errorf("rollback brought the dropped tag %s back", one)
		}
		if got := be.points(h, two); got != b {
			t.Errorf("%s points to %s after the refused rollback, want %s", two, short(got), short(b))
		}

		// Back to one: b's next promotion records one → b, and rollback
		// says which image the tag leaves and which it goes to.
		if ar := h.apply(cfg("b", one), h.plan(cfg("b", one))); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		h.mustBuild(cfg("c", one))
		c := be.target(h)
		rb = h.rollback()
		if rb.Diagnostics.HasErrors() {
			t.Fatalf("rollback: %v", rb.Diagnostics)
		}
		want := "tag " + one + ": " + short(c) + " -> " + short(b)
		if len(rb.Messages) != 1 || rb.Messages[0] != want {
			t.Errorf("rollback messages %q, want %q", rb.Messages, want)
		}
		if got := be.points(h, one); got != b {
			t.Errorf("%s after rollback points to %s, want %s (a was %s)", one, short(got), short(b), short(a))
		}
	})
}

// TestIntegrationRebuildDropsRemovedTag: a tag removed from the
// configuration in the same apply as a rebuild is removed when the new
// build is promoted (an update does the same), and is no longer sdform's:
// someone else may use it without sdform seeing drift. A configured tag
// someone moved is drift of that tag alone, and destroy still removes the
// tags the object owns.
func TestIntegrationRebuildDropsRemovedTag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tags, push := be.gatedTags(t, 3)
		x, y, z := tags[0], tags[1], tags[2]
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
		cfg := func(v string, tags ...string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tags...), "push": cty.BoolVal(push), "args": strMap("V", v)})
		}
		h.mustBuild(cfg("a", x, y))
		a := be.target(h)
		h.mustBuild(cfg("b", x))
		if priv, _ := decodePrivate(h.private); priv.Applied[y] != "" || priv.Previous[y] != "" {
			t.Errorf("promotion kept the record of the dropped tag %s: %+v", y, priv)
		}
		if be.engine != nil && be.points(h, y) != "" {
			t.Errorf("%s still names %s after the configuration dropped it", y, short(a))
		}
		// Someone else takes y: not sdform's business.
		pointElsewhere(t, be, y)
		if r := h.refresh(); r.Drift != "" || r.NewState.IsNull() {
			t.Errorf("refresh after another use of the dropped tag: drift %q", r.Drift)
		}
		if act := h.action(h.plan(cfg("b", x))); act != providers.NoOp {
			t.Errorf("plan: %s, want no-op", act)
		}

		// z is added, then moved by someone else: the object keeps x.
		if ar := h.apply(cfg("b", x, z), h.plan(cfg("b", x, z))); ar.Diagnostics.HasErrors() {
			t.Fatalf("add %s: %v", z, ar.Diagnostics)
		}
		pointElsewhere(t, be, z)
		r := h.refresh()
		if r.NewState.IsNull() || !strings.Contains(r.Drift, "tag "+z+" now points to") {
			t.Fatalf("refresh after %s moved: null %v, drift %q", z, r.NewState.IsNull(), r.Drift)
		}
		id, b := h.attr("id"), be.target(h)
		d := h.destroy()
		if d.Diagnostics.HasErrors() {
			t.Fatalf("destroy: %v", d.Diagnostics)
		}
		for _, dg := range d.Diagnostics {
			if strings.Contains(dg.Detail, y) || strings.Contains(dg.Detail, z) && !strings.Contains(dg.Summary, "Registry") {
				t.Errorf("destroy warns about a tag that is not the object's: %s: %s", dg.Summary, dg.Detail)
			}
		}
		if be.engine != nil {
			if got := be.points(h, x); got != "" {
				t.Errorf("destroy left %s on %s", x, short(got))
			}
			if got := be.points(h, id); got != "" {
				t.Errorf("destroy left the image %s in the Engine", short(id))
			}
		}
		if got := be.points(h, z); got == b || got == "" {
			t.Errorf("%s, which someone else moved, points to %q after destroy", z, short(got))
		}
	})
}

// TestIntegrationPreviousImageKept: after a promotion, the image a tag
// named before carries <tag>-sdform-previous, so it is not dangling and a
// prune keeps it, and rollback can restore it. Destroy removes that tag too.
func TestIntegrationPreviousImageKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tags, push := be.gatedTags(t, 1)
		tag := tags[0]
		kept, err := previousTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
		cfg := func(v string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(push), "args": strMap("V", v)})
		}
		h.mustBuild(cfg("a"))
		a, aID := be.target(h), h.attr("id")
		if got := be.points(h, kept); got != "" {
			t.Errorf("%s exists after the first promotion (the tag was new): %s", kept, short(got))
		}
		h.mustBuild(cfg("b"))
		if got := be.points(h, kept); got != a {
			t.Errorf("%s points to %q after the second promotion, want the image the tag named before, %s", kept, short(got), short(a))
		}
		if !strings.Contains(h.out.String(), "kept as "+kept) {
			t.Errorf("promotion output does not say where the previous image is kept:\n%s", h.out.String())
		}
		if be.engine != nil {
			filters := mobyclient.Filters{}.Add("dangling", "true")
			list, err := be.engine.ImageList(context.Background(), mobyclient.ImageListOptions{Filters: filters})
			if err != nil {
				t.Fatal(err)
			}
			for _, img := range list.Items {
				if img.ID == aID {
					t.Errorf("the previous image %s is dangling: `docker image prune` would delete it", short(aID))
				}
			}
		}
		if rb := h.rollback(); rb.Diagnostics.HasErrors() {
			t.Fatalf("rollback: %v", rb.Diagnostics)
		}
		if got := be.points(h, tag); got != a {
			t.Errorf("%s after rollback: %s, want %s", tag, short(got), short(a))
		}
		if d := h.destroy(); d.Diagnostics.HasErrors() {
			t.Fatalf("destroy: %v", d.Diagnostics)
		}
		if be.engine != nil {
			for _, ref := range []string{tag, kept} {
				if got := be.points(h, ref); got != "" {
					t.Errorf("destroy left %s on %s", ref, short(got))
				}
			}
		}
	})
}

// TestIntegrationRetagOtherRepository: a pushed image whose tag moves to
// another repository gets a copy of its manifest there (an update, no
// build); a registry serves a manifest only where it was pushed.
func TestIntegrationRetagOtherRepository(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		n := nonce()
		a := be.registry + "/sdform-it/retag-a-" + be.name + ":" + n
		b := be.registry + "/sdform-it/retag-b-" + be.name + ":" + n
		be.cleanup(t, a, b)
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + n + " > /n\n"})
		h.mustBuild(h.image(map[string]cty.Value{"tags": strs(a), "push": cty.True}))
		digest := h.attr("digest")
		cfg := h.image(map[string]cty.Value{"tags": strs(b), "push": cty.True})
		solves := h.p.solves.Load()
		pr := h.plan(cfg)
		if act := h.action(pr); act != providers.Update {
			t.Fatalf("plan: %s (%q), want update", act, pr.Reason)
		}
		if d := detail(pr, "tags: "+b); !strings.Contains(d, "copied there") {
			t.Errorf("plan details %q do not say the image is copied to the other repository", pr.Details)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("moving the tag to another repository: %v", ar.Diagnostics)
		}
		if h.p.solves.Load() != solves {
			t.Errorf("moving the tag ran a build")
		}
		if got, _ := (registry{cfg: h.p.cfg}).head(context.Background(), b); got != digest {
			t.Errorf("registry: %s names %q, want the pushed %s", b, got, digest)
		}
		if be.engine != nil && be.points(h, b) != h.attr("id") {
			t.Errorf("Engine: %s does not name the image", b)
		}
		if r := h.refresh(); r.Drift != "" {
			t.Errorf("refresh: drift %q", r.Drift)
		}
		if act := h.action(h.plan(cfg)); act != providers.NoOp {
			t.Errorf("plan after the move: %s, want no-op", act)
		}
	})
}

// TestIntegrationRegistryDrift: with push, the registry's tag is what gets
// deployed. When someone pushes another image under it, refresh reports it
// on both backends (the docker one looks past the Engine's own tag), and
// the plan points it back.
func TestIntegrationRegistryDrift(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.registry + "/sdform-it/regdrift-" + be.name + ":" + nonce()
		be.cleanup(t, tag)
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\n"})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.True})
		h.mustBuild(cfg)
		digest := h.attr("digest")
		src, _ := name.ParseReference(testenv.BaseImage(t), name.Insecure)
		dst, _ := name.ParseReference(tag, name.Insecure)
		img, err := remote.Image(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(dst, img); err != nil {
			t.Fatal(err)
		}
		r := h.refresh()
		if r.NewState.IsNull() || !strings.Contains(r.Drift, tag) {
			t.Fatalf("refresh after the registry tag moved: null %v, drift %q", r.NewState.IsNull(), r.Drift)
		}
		pr := h.plan(cfg)
		if act := h.action(pr); act != providers.Update {
			t.Fatalf("plan: %s (%q), want update", act, pr.Reason)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		if got, _ := (registry{cfg: h.p.cfg}).head(context.Background(), tag); got != digest {
			t.Errorf("registry tag after the update: %s, want %s", got, digest)
		}
	})
}

// TestIntegrationTestOfATagTestsTheNewBuild: a docker_image_test whose
// image is a tag of a docker_image (docker_image.x.tags[0]) is one of that
// image's tests, and the tag moves to a new build only once it passed. So
// the test must run whenever the image is built anew, and against the new
// build (its candidate), never against what the tag still names: otherwise
// the old image is tested and the new one promoted untested.
func TestIntegrationTestOfATagTestsTheNewBuild(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tags, push := be.gatedTags(t, 1)
		tag := tags[0]
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo " + nonce() + " > /n && echo $V > /v\n"})
		img := func(v string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(push), "args": strMap("V", v)})
		}
		th := newTestHarness(t, h.p)
		expect := objectOf(&imageTestSchema().Blocks["command"].Block.Blocks["expect"].Block, map[string]cty.Value{"stdout": strs("^good$")})
		test := th.config(tag, map[string]cty.Value{"v": objectWith(command([]string{"cat", "/v"}, nil, "", nil), "expect", expect)}, nil, nil)

		// First apply: the tag does not exist yet; the test runs against
		// the build, which is then promoted.
		pr := h.plan(img("good"))
		if tp := th.plan(test); th.action(tp) != providers.Create || !strings.Contains(strings.Join(tp.Details, "\n"), "runs against the new build of "+h.addr) {
			t.Errorf("first test plan: %s %q", th.action(tp), tp.Details)
		}
		if ar := h.apply(img("good"), pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("build: %v", ar.Diagnostics)
		}
		if ar := th.run(test); ar.Diagnostics.HasErrors() {
			t.Fatalf("test of the first build: %v\n%s", ar.Diagnostics, th.out.String())
		}
		h.promote(true)
		good := be.target(h)

		// Nothing changed: neither builds nor runs.
		h.refresh()
		if a := h.action(h.plan(img("good"))); a != providers.NoOp {
			t.Errorf("image plan with nothing changed: %s", a)
		}
		if tp := th.plan(test); th.action(tp) != providers.NoOp {
			t.Errorf("test plan with nothing changed: %s (%q)", th.action(tp), tp.Reason)
		}

		// A build that fails the test: the test runs, against the new
		// build, fails, and the tag stays.
		pr = h.plan(img("bad"))
		if a := h.action(pr); a != providers.Replace {
			t.Fatalf("image plan after the arg changed: %s", a)
		}
		tp := th.plan(test)
		if th.action(tp) != providers.Replace || !strings.Contains(tp.Reason, h.addr+" builds a new image for "+tag) {
			t.Errorf("test plan while its image is rebuilt: %s %q", th.action(tp), tp.Reason)
		}
		if ar := h.apply(img("bad"), pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("build: %v", ar.Diagnostics)
		}
		ar := th.run(test)
		if !ar.Diagnostics.HasErrors() {
			t.Errorf("the test passed on the bad build: it tested %s", th.state.GetAttr("image_id").GoString())
		}
		if got := th.state.GetAttr("image_id").AsString(); got != h.attr("id") {
			t.Errorf("the test ran on %s, want the new build %s", short(got), short(h.attr("id")))
		}
		h.promote(false, th.addr)
		if got := be.points(h, tag); got != good {
			t.Errorf("%s points to %s after the failed test, want %s", tag, short(got), short(good))
		}
	})
}

// objectWith returns the object v with attribute name set to x.
func objectWith(v cty.Value, name string, x cty.Value) cty.Value {
	attrs := v.AsValueMap()
	attrs[name] = x
	return cty.ObjectVal(attrs)
}

// TestIntegrationDestroyImageInUse: the Docker Engine refuses to delete an
// image a container uses (docker rmi without -f). Destroy then fails,
// naming the containers, and removes nothing, so the state keeps the
// object, as Terraform keeps a resource whose delete failed; once the
// containers are gone, destroy goes through. An image that another tag
// keeps is not deleted by destroy, so its containers are no obstacle.
func TestIntegrationDestroyImageInUse(t *testing.T) {
	be := dockerBackend(t)
	ctx := context.Background()
	tag := be.tag(t, false)
	kept, err := previousTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
	cfg := func(v string) cty.Value {
		return h.image(map[string]cty.Value{"tags": strs(tag), "args": strMap("V", v)})
	}
	h.mustBuild(cfg("a"))
	a := h.attr("id")
	h.mustBuild(cfg("b"))
	b := h.attr("id")
	run := func(image string) string {
		t.Helper()
		name := "sdform-it-inuse-" + nonce()
		if _, err := be.engine.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{Name: name, Image: image}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { be.engine.ContainerRemove(ctx, name, mobyclient.ContainerRemoveOptions{Force: true}) })
		return name
	}
	current, previous := run(tag), run(kept)

	d := h.destroy()
	if !d.Diagnostics.HasErrors() {
		t.Fatalf("destroy of an image containers use succeeded: %v", d.Diagnostics)
	}
	detail := d.Diagnostics[0].Detail
	for _, want := range []string{current, previous, short(b), short(a), "nothing was removed"} {
		if !strings.Contains(detail, want) {
			t.Errorf("destroy error lacks %q:\n%s", want, detail)
		}
	}
	if got := be.points(h, tag); got != b {
		t.Errorf("%s points to %q after the refused destroy, want %s", tag, short(got), short(b))
	}
	if got := be.points(h, kept); got != a {
		t.Errorf("%s points to %q after the refused destroy, want %s", kept, short(got), short(a))
	}

	// Without those containers, and with a tag of the user's that keeps
	// the image (and a container of it), destroy removes sdform's tags.
	for _, c := range []string{current, previous} {
		if _, err := be.engine.ContainerRemove(ctx, c, mobyclient.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	mine := tag + "-user"
	if _, err := be.engine.ImageTag(ctx, mobyclient.ImageTagOptions{Source: b, Target: mine}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.engine.ImageRemove(ctx, mine, mobyclient.ImageRemoveOptions{}) })
	run(mine)
	if d := h.destroy(); d.Diagnostics.HasErrors() {
		t.Fatalf("destroy: %v", d.Diagnostics)
	}
	for _, ref := range []string{tag, kept} {
		if got := be.points(h, ref); got != "" {
			t.Errorf("destroy left %s on %s", ref, short(got))
		}
	}
	if got := be.points(h, mine); got != b {
		t.Errorf("the user's tag %s points to %q after destroy, want %s", mine, short(got), short(b))
	}
}

// TestIntegrationPushedPreviousKeptInRegistry: with push, the image a
// promotion moves a tag away from is kept as <tag>-sdform-previous in the
// registry, on the docker backend as on a standalone BuildKit, so that a
// rollback needs nothing of the Engine's. After the Engine lost both
// images (docker image prune -a, or another machine), rollback moves the
// registry's tag back and pulls the image into the Engine.
func TestIntegrationPushedPreviousKeptInRegistry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, true)
		be.cleanup(t, tag)
		kept, err := previousTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
		cfg := func(v string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.True, "args": strMap("V", v)})
		}
		reg := registry{cfg: h.p.cfg}
		inRegistry := func(ref string) string {
			d, _ := reg.head(context.Background(), ref)
			return d
		}
		h.mustBuild(cfg("a"))
		a, aID := h.attr("digest"), h.attr("id")
		h.mustBuild(cfg("b"))
		b := h.attr("digest")
		if got := inRegistry(kept); got != a {
			t.Fatalf("registry: %s names %q after the second promotion, want the image the tag named before, %s", kept, short(got), short(a))
		}
		if be.engine != nil {
			for _, ref := range []string{tag, kept, aID, h.attr("id")} {
				be.engine.ImageRemove(context.Background(), ref, mobyclient.ImageRemoveOptions{Force: true})
			}
		}
		rb := h.rollback()
		if rb.Diagnostics.HasErrors() {
			t.Fatalf("rollback: %v\n%s", rb.Diagnostics, h.out.String())
		}
		if got := inRegistry(tag); got != a {
			t.Errorf("registry: %s names %s after rollback, want %s (it named %s)", tag, short(got), short(a), short(b))
		}
		if h.attr("digest") != a {
			t.Errorf("state digest after rollback %s, want %s", short(h.attr("digest")), short(a))
		}
		if be.engine != nil {
			if got := be.points(h, tag); got == "" || got != h.attr("id") {
				t.Errorf("Engine: %s names %q after rollback, want the image pulled back, %s", tag, short(got), short(h.attr("id")))
			}
		}
		if rb := h.rollback(); rb.Diagnostics.HasErrors() || len(rb.Messages) != 1 || !strings.Contains(rb.Messages[0], "nothing to roll back") {
			t.Errorf("second rollback: %v %q", rb.Diagnostics, rb.Messages)
		}
	})
}

// TestIntegrationRollbackMovesOnlyListedTags: given the configuration,
// rollback moves only the recorded tags it still lists, and says which it
// left; with none listed there is nothing to roll back.
func TestIntegrationRollbackMovesOnlyListedTags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tags, push := be.gatedTags(t, 3)
		one, two, three := tags[0], tags[1], tags[2]
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nARG V\nRUN echo $V " + nonce() + " > /v\n"})
		cfg := func(v string, tags ...string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tags...), "push": cty.BoolVal(push), "args": strMap("V", v)})
		}
		h.mustBuild(cfg("a", one, two))
		a := be.target(h)
		h.mustBuild(cfg("b", one, two))
		b := be.target(h)
		if be.engine != nil {
			// The rollbacks leave b without a tag.
			t.Cleanup(func() { be.engine.ImageRemove(context.Background(), b, mobyclient.ImageRemoveOptions{}) })
		}

		for name, config := range map[string]cty.Value{"only a new tag": cfg("b", three), "no longer declared": cty.NullVal(cfg("b", three).Type())} {
			if rb := h.rollbackConfigured(config); !rb.Diagnostics.HasErrors() || rb.Diagnostics[0].Summary != "Nothing to roll back" {
				t.Errorf("%s: rollback %v %q, want nothing to roll back", name, rb.Diagnostics, rb.Messages)
			}
		}
		if rb := h.rollbackConfigured(cfg("b", three)); len(rb.Diagnostics) > 0 && !strings.Contains(rb.Diagnostics[0].Detail, "The configuration no longer lists "+one+" and "+two) {
			t.Errorf("rollback with neither tag listed: %q", rb.Diagnostics[0].Detail)
		}

		rb := h.rollbackConfigured(cfg("b", two, three))
		if rb.Diagnostics.HasErrors() {
			t.Fatalf("rollback: %v", rb.Diagnostics)
		}
		want := []string{"tag " + two + ": " + short(b) + " -> " + short(a), "tag " + one + ": left on " + short(b) + ": the configuration no longer lists it"}
		if strings.Join(rb.Messages, "\n") != strings.Join(want, "\n") {
			t.Errorf("rollback messages:\n%s\nwant:\n%s", strings.Join(rb.Messages, "\n"), strings.Join(want, "\n"))
		}
		if got := be.points(h, one); got != b {
			t.Errorf("%s, which the configuration no longer lists, points to %s after rollback, want %s", one, short(got), short(b))
		}
		if got := be.points(h, two); got != a {
			t.Errorf("%s points to %s after rollback, want %s", two, short(got), short(a))
		}

		// Without the configuration the recorded tags stand for it.
		rb = h.rollbackConfigured(cty.NilVal)
		if rb.Diagnostics.HasErrors() || be.points(h, one) != a {
			t.Errorf("rollback of the recorded tags: %v %q; %s points to %s", rb.Diagnostics, rb.Messages, one, short(be.points(h, one)))
		}
	})
}
