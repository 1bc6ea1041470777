package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// predictedStep is the plan's view of one Dockerfile step (RUN, COPY, ADD).
type predictedStep struct {
	// Name is the instruction as BuildKit names its vertex, without the
	// "[stage n/m]" prefix: "RUN make".
	Name string `json:"name"`
	Key  string `json:"key"`
	// File and Line locate the instruction.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Cached is the prediction; CachedFrom the time of the build whose key
	// matched.
	Cached     bool      `json:"cached"`
	CachedFrom time.Time `json:"cached_from,omitzero"`
}

// baseImage is one FROM reference after argument expansion.
type baseImage struct {
	Ref  string
	Line int
	// Digest is what the reference resolved to ("" when unknown).
	Digest string
}

// prediction is what a build of cfg would do, as far as the plan can know.
type prediction struct {
	// Fingerprint digests the build's inputs; equal fingerprints mean the
	// same image.
	Fingerprint string
	// Steps is nil when only the fingerprint is known.
	Steps []predictedStep
	// FirstChange names the first step that will run
	// ("Dockerfile:42 RUN make").
	FirstChange string
	// Notes are what the plan cannot be certain about.
	Notes []string
	// Syntax is the `# syntax=` frontend image, "" when none.
	Syntax      string
	SyntaxLine  int
	BaseImages  []baseImage
	Diagnostics providers.Diagnostics
}

// toRun counts the steps predicted to run.
func (pr *prediction) toRun() int {
	n := 0
	for _, s := range pr.Steps {
		if !s.Cached {
			n++
		}
	}
	return n
}

// keys lists the step keys in order.
func (pr *prediction) keys() []string {
	out := make([]string, len(pr.Steps))
	for i, s := range pr.Steps {
		out[i] = s.Key
	}
	return out
}

// resolveFunc returns the digest a base image reference resolves to, or an
// error wrapping errNotFound when it does not exist.
type resolveFunc func(ctx context.Context, ref string) (string, error)

// predict reads the Dockerfile, resolves its base images with resolve (nil
// when no builder or registry can be asked) and digests every input of the
// build. Until the step-level predictor of package dockerfile is wired in,
// it knows the inputs as a whole: any change means the build runs, and the
// plan says it cannot tell which steps will be cache hits.
func predict(ctx context.Context, cfg *imageConfig, configDir string, resolve resolveFunc) *prediction {
	pr := &prediction{}
	dt, err := os.ReadFile(cfg.Dockerfile)
	if err != nil {
		pr.Diagnostics = pr.Diagnostics.Errorf(cty.GetAttrPath("dockerfile"), "Unreadable Dockerfile", "sdform could not read the Dockerfile %s: %v.", rel(configDir, cfg.Dockerfile), err)
		return pr
	}
	if syn, _, rng, ok := parser.DetectSyntax(dt); ok {
		pr.Syntax = syn
		if len(rng) > 0 {
			pr.SyntaxLine = rng[0].Start.Line
		}
	}
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		d := providers.Diagnostic{Severity: providers.Error, Summary: "Dockerfile syntax error", Detail: err.Error(), File: rel(configDir, cfg.Dockerfile)}
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			d.Line = le.Locations[0][0].Start.Line
		}
		pr.Diagnostics = append(pr.Diagnostics, d)
		return pr
	}
	pr.BaseImages = baseImages(res.AST, cfg.Args)

	h := sha256.New()
	field := func(k, v string) { fmt.Fprintf(h, "%s\x00%s\x00", k, v) }
	field("dockerfile", string(dt))
	field("target", cfg.Target)
	field("platform", cfg.Platform)
	for _, k := range sortedKeys(cfg.Args) {
		field("arg:"+k, cfg.Args[k])
	}
	for _, k := range sortedKeys(cfg.Labels) {
		field("label:"+k, cfg.Labels[k])
	}
	for i := range pr.BaseImages {
		b := &pr.BaseImages[i]
		if resolve != nil {
			dg, err := resolve(ctx, b.Ref)
			switch {
			case errors.Is(err, errNotFound):
				pr.Diagnostics = append(pr.Diagnostics, providers.Diagnostic{Severity: providers.Error,
					Summary: "Base image not found",
					Detail:  fmt.Sprintf("FROM %s does not resolve in the builder's image store or its registry: %v. Build or pull it first, or fix the reference.", b.Ref, err),
					File:    rel(configDir, cfg.Dockerfile), Line: b.Line})
			case err != nil:
				pr.Notes = append(pr.Notes, fmt.Sprintf("cannot resolve FROM %s: %v", b.Ref, err))
			}
			b.Digest = dg
		}
		field("from:"+b.Ref, b.Digest)
	}
	ctxSum, err := hashDir(cfg.ContextDir, ignoreFile(cfg))
	if err != nil {
		pr.Diagnostics = pr.Diagnostics.Errorf(cty.GetAttrPath("context"), "Unreadable build context", "sdform could not read the build context %s: %v.", rel(configDir, cfg.ContextDir), err)
		return pr
	}
	field("context", ctxSum)
	for _, name := range sortedKeys(cfg.Contexts) {
		sum, err := hashDir(cfg.Contexts[name], "")
		if err != nil {
			pr.Diagnostics = pr.Diagnostics.Errorf(cty.GetAttrPath("contexts").Index(cty.StringVal(name)), "Unreadable named context", "sdform could not read the named context %q at %s: %v.", name, rel(configDir, cfg.Contexts[name]), err)
			return pr
		}
		field("context:"+name, sum)
	}
	pr.Fingerprint = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return pr
}

// baseImages lists the FROM references that are not earlier stages or
// scratch, expanding global ARGs (defaults overridden by args).
func baseImages(ast *parser.Node, args map[string]string) []baseImage {
	meta := map[string]string{}
	stages := map[string]bool{}
	seenFrom := false
	var out []baseImage
	for _, n := range ast.Children {
		switch strings.ToLower(n.Value) {
		case "arg":
			if seenFrom {
				continue
			}
			for a := n.Next; a != nil; a = a.Next {
				k, v, _ := strings.Cut(a.Value, "=")
				meta[k] = v
			}
		case "from":
			seenFrom = true
			if n.Next == nil {
				continue
			}
			ref := os.Expand(n.Next.Value, func(k string) string {
				if v, ok := args[k]; ok {
					return v
				}
				return meta[k]
			})
			if ref != "scratch" && !stages[strings.ToLower(ref)] {
				out = append(out, baseImage{Ref: ref, Line: n.StartLine})
			}
			if as := n.Next.Next; as != nil && strings.EqualFold(as.Value, "as") && as.Next != nil {
				stages[strings.ToLower(as.Next.Value)] = true
			}
		}
	}
	return out
}

// ignoreFile is the .dockerignore BuildKit applies: <Dockerfile>.dockerignore
// next to the Dockerfile first, else the context's .dockerignore.
func ignoreFile(cfg *imageConfig) string {
	if p := cfg.Dockerfile + ".dockerignore"; fileExists(p) {
		return p
	}
	return filepath.Join(cfg.ContextDir, ".dockerignore")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// hashDir digests a directory's paths, modes and contents, leaving out what
// the ignore file excludes.
func hashDir(dir, ignore string) (string, error) {
	var pm *patternmatcher.PatternMatcher
	if ignore != "" {
		f, err := os.Open(ignore)
		switch {
		case err == nil:
			pats, err := ignorefile.ReadAll(f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("read %s: %w", ignore, err)
			}
			if pm, err = patternmatcher.New(pats); err != nil {
				return "", fmt.Errorf("read %s: %w", ignore, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		if r == "." {
			return nil
		}
		r = filepath.ToSlash(r)
		if pm != nil {
			skip, err := pm.MatchesOrParentMatches(r)
			if err != nil {
				return err
			}
			if skip {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", r, info.Mode())
		switch {
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, t)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rel shows p relative to the configuration directory when it is inside it.
func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func readFileString(p string) (string, error) {
	dt, err := os.ReadFile(p)
	return string(dt), err
}

// syntaxOf returns the `# syntax=` frontend of a Dockerfile, "" when none.
func syntaxOf(dt string) string {
	syn, _, _, _ := parser.DetectSyntax([]byte(dt))
	return syn
}
