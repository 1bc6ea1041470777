package docker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
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
