package dockerfile

import (
	"context"
	"fmt"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

type fakeRes struct{}

func (fakeRes) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	fmt.Println("resolve", ref, opt.LogName)
	return ref, digest.FromString(ref), []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"config":{"Env":["PATH=/bin","FOO=1"]}}`), nil
}

func TestProto(t *testing.T) {
	df := []byte("ARG BASE=busybox\nFROM ${BASE} AS deps\nARG V=1\nWORKDIR /app\nCOPY go.mod ./\nRUN echo $V > /v\nFROM busybox\nENV X=2\nCOPY --from=deps /v /v\nCOPY <<EOF /h\nhi\nEOF\nRUN --mount=type=secret,id=tok echo $X\nCOPY --link a /a\nRUN <<EOF\necho hi\nEOF\n")
	sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", df)
	caps := pb.Caps.CapSet(pb.Caps.All())
	res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), df, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: map[string]string{"V": "2"}},
		SourceMap:    sm,
		MetaResolver: fakeRes{},
		LLBCaps:      &caps,
	})
	if err != nil {
		t.Fatal(err)
	}
	def, err := res.State.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		d := digest.FromBytes(dt)
		md := def.Metadata[d]
		var lines []int32
		if def.Source != nil {
			if l, ok := def.Source.Locations[string(d)]; ok {
				for _, loc := range l.Locations {
					for _, r := range loc.Ranges {
						lines = append(lines, r.Start.Line)
					}
				}
			}
		}
		fmt.Printf("%s %q lines=%v\n  desc=%v\n  op=%v\n", d.Encoded()[:8], md.Description["llb.customname"], lines, md.Description, op.String())
	}
}
