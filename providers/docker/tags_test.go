package docker

import (
	"strings"
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
