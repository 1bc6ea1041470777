package dockerfile

import (
	"context"
	"strings"
	"testing"
)

// A secret declared with a null value (an optional token) is expected to be
// missing from an optional mount; a required mount still fails the check.
func TestUnsetSecrets(t *testing.T) {
	df := "FROM busybox\n" +
		"RUN --mount=type=secret,id=hf_token,required=false true\n" +
		"RUN --mount=type=secret,id=key,required=true true\n"
	in := Input{Dockerfile: []byte(df), DockerfilePath: "Dockerfile", ContextDir: t.TempDir(), Resolver: busybox(),
		UnsetSecretIDs: []string{"hf_token", "key"}}
	res, err := Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var missing []Finding
	for _, f := range res.Findings {
		if f.Rule == "MissingSecret" {
			missing = append(missing, f)
		}
	}
	if len(missing) != 1 || missing[0].Line != 3 || missing[0].Severity != Error ||
		!strings.Contains(missing[0].Message, "declared but its value is null") {
		t.Fatalf("MissingSecret findings = %+v, want one error at line 3 for the required mount", missing)
	}
	in.UnsetSecretIDs = nil
	res, _ = Analyze(context.Background(), in)
	n := 0
	for _, f := range res.Findings {
		if f.Rule == "MissingSecret" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("without declared secrets: %d MissingSecret findings, want 2", n)
	}
}
