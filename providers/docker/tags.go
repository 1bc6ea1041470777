package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// parseTag reads a docker_image tag as the Docker Engine does and returns it
// in full ("busybox" is docker.io/library/busybox:latest), so that two
// spellings of one tag compare equal. A digest is refused: sdform moves
// tags, and a digest cannot move.
func parseTag(tag string) (reference.NamedTagged, error) {
	ref, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return nil, err
	}
	if _, ok := ref.(reference.Digested); ok {
		return nil, errors.New("it names a digest; a tag is [REGISTRY/]NAME[:TAG]")
	}
	// distribution/reference reads an uppercase first component as a
	// registry host ("UPPER/x"); the Docker Engine 20.10 refuses such a
	// name, and a registry host is written with a dot or a port anyway.
	if host := reference.Domain(ref); strings.ToLower(host) != host && !strings.ContainsAny(host, ".:") {
		return nil, fmt.Errorf("repository name must be lowercase (%s would be a registry host, which is written with a dot or a port)", host)
	}
	// Not a digest, so TagNameOnly gives a tagged reference.
	return reference.TagNameOnly(ref).(reference.NamedTagged), nil
}

// checkTags reads the tags of a docker_image config that are known (validate
// has unknowns) and reports, on the element, each one that is not a tag or
// repeats an earlier one. It returns the good ones in full, by index.
func checkTags(config cty.Value) (map[int]reference.NamedTagged, providers.Diagnostics) {
	var diags providers.Diagnostics
	if config.IsNull() || !config.IsKnown() || !config.Type().HasAttribute("tags") {
		return nil, nil
	}
	list := config.GetAttr("tags")
	if list.IsNull() || !list.IsKnown() {
		return nil, nil
	}
	tags := map[int]reference.NamedTagged{}
	first := map[string]int{} // full tag → index of its first spelling
	for it := list.ElementIterator(); it.Next(); {
		k, v := it.Element()
		if !v.IsKnown() || v.IsNull() {
			continue
		}
		i64, _ := k.AsBigFloat().Int64()
		i, path := int(i64), cty.GetAttrPath("tags").Index(k)
		ref, err := parseTag(v.AsString())
		if err != nil {
			diags = diags.Errorf(path, "Invalid tag",
				"tags[%d] = %q is not an image tag: %v. Write it as [REGISTRY/]NAME[:TAG], like \"ghcr.io/team/comfyui:v1\": a lowercase name, a tag of letters, digits, '_', '.' and '-'.", i, v.AsString(), err)
			continue
		}
		if j, ok := first[ref.String()]; ok {
			earlier := list.Index(cty.NumberIntVal(int64(j))).AsString()
			diags = diags.Errorf(path, "Duplicate tag", "tags[%d] = %q is tags[%d] = %q again (%s).", i, v.AsString(), j, earlier, reference.FamiliarString(ref))
			continue
		}
		first[ref.String()] = i
		tags[i] = ref
	}
	return tags, diags
}

// candidateSuffix marks the tag a new build carries until promotion.
const candidateSuffix = "-sdform-candidate"

// candidateTag returns the name a build of the docker_image at address
// carries until promotion: "repo:tag" becomes
// "repo:tag-sdform-candidate-<12 hex digits of the address's SHA-256>". The
// address keeps two objects that claim one tag from sharing a candidate,
// which promoting one would remove from under the other. Tags are at most
// 128 characters, so a long one is shortened before the suffix.
func candidateTag(tag, address string) (string, error) {
	sum := sha256.Sum256([]byte(address))
	return suffixedTag(tag, candidateSuffix+"-"+hex.EncodeToString(sum[:6]))
}

// previousSuffix marks the tag that keeps the image a promotion moved a tag
// away from.
const previousSuffix = "-sdform-previous"

// previousTag returns the name that keeps, after a promotion, the image tag
// named before it: "repo:tag" becomes "repo:tag-sdform-previous". Without it
// that image would be dangling, and `docker image prune` (or a registry's
// garbage collection of untagged manifests) would delete what `sdform
// rollback` restores. No address is needed: no two objects share a tag.
func previousTag(tag string) (string, error) {
	return suffixedTag(tag, previousSuffix)
}

// suffixedTag returns tag with suffix added to its tag part, shortened
// first so that the result stays within the 128 characters a tag may have.
func suffixedTag(tag, suffix string) (string, error) {
	ref, err := parseTag(tag)
	if err != nil {
		return "", fmt.Errorf("%q is not an image tag: %w", tag, err)
	}
	t := ref.Tag()
	if max := 128 - len(suffix); len(t) > max {
		t = t[:max]
	}
	c, err := reference.WithTag(ref, t+suffix)
	if err != nil {
		return "", fmt.Errorf("%q with %s: %w", tag, suffix, err)
	}
	return reference.FamiliarString(c), nil
}

// tagClaims records which docker_image objects this command validated or
// planned with which tags. Promoting one object's build moves its tags; two objects with
// one tag would take it from each other, and the next refresh would report
// the loser's image changed outside sdform.
type tagClaims struct {
	mu     sync.Mutex
	byAddr map[string][]string // address → full tags
}

// claim records the tags of the object at address, replacing what it claimed
// before (plan follows validate, apply plans again), and returns, for each of these tags
// that other objects claim, every claimant's address in order. Check and
// record are one step, so of two objects checked at once exactly one is told.
func (c *tagClaims) claim(address string, tags []string) map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byAddr == nil {
		c.byAddr = map[string][]string{}
	}
	c.byAddr[address] = tags
	shared := map[string][]string{}
	for other, theirs := range c.byAddr {
		if other == address {
			continue
		}
		for _, tag := range tags {
			if slices.Contains(theirs, tag) {
				shared[tag] = append(shared[tag], other)
			}
		}
	}
	for tag, owners := range shared {
		shared[tag] = slices.Sorted(slices.Values(append(owners, address)))
	}
	return shared
}

// claimTags claims the object's known tags for this command and reports, on
// the element, each tag another docker_image claimed already. The wording
// does not depend on which of the two was planned first.
func (t *imageType) claimTags(address string, tags map[int]reference.NamedTagged) providers.Diagnostics {
	full := make([]string, 0, len(tags))
	for _, ref := range tags {
		full = append(full, ref.String())
	}
	shared := t.p.tags.claim(address, full)
	var diags providers.Diagnostics
	for _, i := range slices.Sorted(maps.Keys(tags)) {
		owners := shared[tags[i].String()]
		if len(owners) == 0 {
			continue
		}
		diags = diags.Errorf(cty.GetAttrPath("tags").Index(cty.NumberIntVal(int64(i))), "Duplicate tag",
			"The tag %s is claimed by %s. Promoting one image would move the tag away from the other, and the next plan would find that one changed outside sdform; give each docker_image its own tags.",
			reference.FamiliarString(tags[i]), lang.JoinAnd(owners))
	}
	return diags
}

// pendingBuilds records, for one command, the docker_image objects whose
// tags are to move to a build not promoted yet: one this plan builds, or
// one built and waiting for its tests. A docker_image_test whose image is
// such a tag tests that build, not the image the tag names until the
// promotion: the promotion waits for that very test.
type pendingBuilds struct {
	mu    sync.Mutex
	byTag map[string]pendingBuild // full tag → the build it waits for
}

// pendingBuild is one object's build awaiting promotion.
type pendingBuild struct {
	address string
	// candidate is the tag the build carries until promotion; "" while
	// the build is only planned.
	candidate string
}

// set records that the tags of the object at address wait for its new
// build, which carries candidates[i] for tags[i] once built.
func (p *pendingBuilds) set(address string, tags, candidates []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked(address)
	if p.byTag == nil {
		p.byTag = map[string]pendingBuild{}
	}
	for i, tag := range tags {
		ref, err := parseTag(tag)
		if err != nil {
			continue
		}
		b := pendingBuild{address: address}
		if i < len(candidates) {
			b.candidate = candidates[i]
		}
		p.byTag[ref.String()] = b
	}
}

// clear records that no build of the object at address awaits promotion.
func (p *pendingBuilds) clear(address string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked(address)
}

func (p *pendingBuilds) clearLocked(address string) {
	for tag, b := range p.byTag {
		if b.address == address {
			delete(p.byTag, tag)
		}
	}
}

// lookup returns the build that ref, when it is a tag, waits for.
func (p *pendingBuilds) lookup(ref string) (pendingBuild, bool) {
	t, err := parseTag(ref)
	if err != nil {
		return pendingBuild{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.byTag[t.String()]
	return b, ok
}

// note records, from a docker_image value and its private data, whether
// its tags wait for a build: a build not promoted yet carries its
// candidate tags.
func (p *pendingBuilds) note(address string, v cty.Value, private []byte) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return
	}
	priv, _ := decodePrivate(private)
	tags := getList(unmarked(v), "tags")
	if priv.Promoted || len(priv.Candidates) != len(tags) || len(tags) == 0 {
		p.clear(address)
		return
	}
	p.set(address, tags, priv.Candidates)
}
