package dockerfile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Input is everything Analyze needs to know about one image build. Only
// Dockerfile is required; the rest narrows what can be said.
type Input struct {
	// Dockerfile is the Dockerfile's content.
	Dockerfile []byte
	// DockerfilePath is where the Dockerfile is. When it is a path that
	// exists, "<DockerfilePath>.dockerignore" beside it takes precedence over
	// ContextDir/.dockerignore, as in BuildKit.
	DockerfilePath string
	// DisplayName names the Dockerfile in findings and the prediction
	// ("docker/Dockerfile:42"), as the user knows it; DockerfilePath when
	// empty.
	DisplayName string
	// ContextDir is the local build context. Empty means no context: every
	// COPY from it is reported as a finding.
	ContextDir string
	// Target is the stage to build; empty means the last stage.
	Target string
	// BuildArgs are the --build-arg values.
	BuildArgs map[string]string
	// SecretIDs are the ids of the secrets passed as secret mounts.
	SecretIDs []string
	// UnsetSecretIDs are secrets the configuration declares with no value
	// this time (an optional token): an optional mount of one is expected
	// to be empty and is not reported; a required one still is.
	UnsetSecretIDs []string
	// SecretValues are the secrets' values. They are only compared with
	// build-arg values (a secret passed as a build arg ends up in the image
	// history) and masked in texts; they never enter a key, a finding or a
	// file.
	SecretValues []string
	// UnknownArgs are build args the configuration sets to values not
	// known yet (sdform validate evaluates variables as unknown). Lint
	// checks the Dockerfile with each of a few stand-in values for them
	// and keeps only the findings every stand-in gives, so that no finding
	// rests on a value it does not have; their names are checked as any
	// build arg's. Analyze and Keys ignore the field.
	UnknownArgs []string
	// ArgNamesUnknown says the build args themselves are not known yet
	// (the whole map comes from a variable): Lint skips the checks of
	// their names (undeclared build args, ARGs without a value, args that
	// look like secrets) and treats every declared ARG as possibly set.
	ArgNamesUnknown bool
	// SecretIDsUnknown says the secrets passed are not known yet: Lint
	// skips the checks of secret mounts.
	SecretIDsUnknown bool
	// NamedContexts maps a named build context (--build-context NAME=DIR)
	// to its local directory.
	NamedContexts map[string]string
	// Platform is the target platform ("linux/amd64"); empty means this
	// machine's.
	Platform string
	// Resolver resolves base images; nil means offline: base images are
	// unknown and every step that depends on one is Uncertain.
	Resolver BaseImageResolver
	// PriorKeys are the keys recorded at earlier builds (Result.Keys or
	// Keys after each build), with the time of the build that produced them.
	PriorKeys KeyHistory
	// NoCache predicts a build with --no-cache: every step runs.
	NoCache bool
	// CacheDir keeps the context stat cache (one small file per context
	// directory) so that an unchanged context is only stat'ed, not re-read.
	// Empty disables the cache.
	CacheDir string

	// open replaces os.Open for context files, and now the clock that
	// stamps hashed files; tests count reads and step past the racy window
	// with them.
	open openFunc
	now  func() time.Time
}

// BaseImageResolver resolves an image reference (normalized, with tag:
// "docker.io/library/busybox:latest") to its digest and image config. An
// error means the image does not exist (a finding); an empty digest with no
// error means it could not be checked (the steps over it are Uncertain).
type BaseImageResolver interface {
	ResolveImage(ctx context.Context, ref string) (digest string, configJSON []byte, err error)
}

// Severity of a Finding.
type Severity int

const (
	// Error findings mean the build would fail or do something the user
	// did not ask for.
	Error Severity = iota
	// Warning findings are worth reading but do not block a build.
	Warning
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Finding is one problem in the Dockerfile or in how it is built.
type Finding struct {
	Severity Severity
	// Rule is BuildKit's lint rule name (e.g. "JSONArgsRecommended") or one
	// of sdform's own checks: "Syntax" (BuildKit refused the Dockerfile),
	// "UndeclaredBuildArg", "BuildArgWithoutValue", "SecretInBuildArg",
	// "MissingSecret", "CopySourceNotFound", "BaseImageUnresolved",
	// "NamedContextReplacesStage".
	Rule string
	// File is Input.DockerfilePath (or "Dockerfile"); Line is 1-based, 0
	// when the finding is not about one line (a build arg set in config).
	File string
	Line int
	// Summary is terse; Message is the full sentence(s).
	Summary string
	Message string
	// URL documents the rule, when BuildKit has a page for it.
	URL string
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return fmt.Sprintf("%s: %s [%s] %s", loc, f.Severity, f.Rule, f.Message)
}

// Image is a base image the target build needs, after ARG substitution:
// the provider checks each one resolves before it plans a build.
type Image struct {
	// Ref is normalized with its tag ("docker.io/library/busybox:latest").
	Ref string
	// Digest is the resolved digest; empty when offline or unresolved.
	Digest string
	// Lines are the Dockerfile lines that name it (FROM, COPY --from, RUN
	// --mount=from).
	Lines []int
}

// Result is what Analyze found out.
type Result struct {
	Findings []Finding
	// Images are the base images of the target and the stages it needs.
	Images []Image
	// Prediction is nil when the Dockerfile has errors BuildKit would refuse,
	// and from Lint.
	Prediction *Prediction
	// ImageConfig is the digest ("sha256:…") of the image config the target
	// gets from the Dockerfile: the base image's config as resolved, then
	// ENV, CMD, LABEL, USER, WORKDIR… and the history of the instructions.
	// Together with the steps' keys it says whether a build would give the
	// same image; comments and blank lines change neither. Empty when
	// BuildKit refuses the Dockerfile.
	ImageConfig string
}

// HasErrors reports whether any finding is an Error.
func (r *Result) HasErrors() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == Error })
}

// Analyze parses and lints the Dockerfile with BuildKit's own code, checks
// the build args and secrets against it, and predicts which steps of the
// target BuildKit will take from its cache. It does no network I/O beyond
// what in.Resolver does. The error is for what the world did (an unreadable
// context); problems with what the user wrote are Findings.
func Analyze(ctx context.Context, in Input) (*Result, error) {
	a, err := analyze(ctx, in, false)
	if err != nil {
		return nil, err
	}
	return a.result, nil
}

// Lint is Analyze without the prediction, for checks that must be cheap
// (sdform validate): BuildKit's parse and lint, the build-arg and secret
// checks, and whether each COPY and ADD source exists in its context, but no
// context file is read or hashed and in.PriorKeys and in.CacheDir are not
// used. Result.Prediction is nil. With in.UnknownArgs or in.ArgNamesUnknown
// it reports only the findings that do not depend on the unknown values
// (see Input.UnknownArgs), and Result.Images and Result.ImageConfig are
// empty: they depend on them.
func Lint(ctx context.Context, in Input) (*Result, error) {
	if len(in.UnknownArgs) > 0 || in.ArgNamesUnknown {
		return lintUnknown(ctx, in)
	}
	a, err := analyze(ctx, in, true)
	if err != nil {
		return nil, err
	}
	return a.result, nil
}

// standIns are the values an unknown build arg takes in turn: empty, a
// plain word and an absolute path differ in what BuildKit makes of them (a
// blank FROM, a relative WORKDIR, an image name), so a finding all three
// give does not come from the value.
var standIns = []string{"", "sdform-unknown", "/sdform-unknown"}

// lintUnknown lints once per stand-in value of the unknown build args (and,
// when the names are unknown, once with none set) and keeps the findings
// every run gives, word for word: one that names a stand-in, or that only
// some values give, depends on what validate does not know.
func lintUnknown(ctx context.Context, in Input) (*Result, error) {
	unknown := slices.Clone(in.UnknownArgs)
	if in.ArgNamesUnknown {
		pf, err := parseFile(in.Dockerfile)
		if err != nil {
			// A parse error names no build arg's value: report it.
			a, err := analyze(ctx, in, true)
			if err != nil {
				return nil, err
			}
			return a.result, nil
		}
		unknown = append(unknown, pf.declaredArgs()...)
	}
	var variants []map[string]string
	if in.ArgNamesUnknown {
		variants = append(variants, maps.Clone(in.BuildArgs))
	}
	for _, v := range standIns {
		args := maps.Clone(in.BuildArgs)
		if args == nil {
			args = map[string]string{}
		}
		for _, k := range unknown {
			args[k] = v
		}
		variants = append(variants, args)
	}
	var kept []Finding
	for i, args := range variants {
		run := in
		run.BuildArgs = args
		a, err := analyze(ctx, run, true)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			kept = a.result.Findings
			continue
		}
		seen := map[Finding]bool{}
		for _, f := range a.result.Findings {
			seen[f] = true
		}
		kept = slices.DeleteFunc(kept, func(f Finding) bool { return !seen[f] })
	}
	return &Result{Findings: kept}, nil
}

// Keys returns the keys to record after a successful build of in (into
// KeyHistory.Record with the build's time), so that later plans see its steps
// as cached. It is Analyze's Prediction.Keys, computed afresh.
func Keys(ctx context.Context, in Input) ([]string, error) {
	a, err := analyze(ctx, in, false)
	if err != nil {
		return nil, err
	}
	if a.result.Prediction == nil {
		return nil, fmt.Errorf("compute keys of %s: %w", a.file, firstError(a.result.Findings))
	}
	return a.result.Prediction.Keys, nil
}

func firstError(fs []Finding) error {
	for _, f := range fs {
		if f.Severity == Error {
			return errors.New(f.String())
		}
	}
	return errors.New("no prediction")
}

// KeyHistory maps a key recorded at an earlier build to the time of the most
// recent build that produced it. BuildKit keeps a step's cache until it is
// pruned, so a key from any earlier build counts as cached.
type KeyHistory map[string]time.Time

// Record adds the keys of a build finished at at.
func (h KeyHistory) Record(keys []string, at time.Time) {
	for _, k := range keys {
		if prev, ok := h[k]; !ok || at.After(prev) {
			h[k] = at
		}
	}
}

// Latest is the time of the most recent recorded build; zero when none.
func (h KeyHistory) Latest() time.Time {
	var t time.Time
	for _, v := range h {
		if v.After(t) {
			t = v
		}
	}
	return t
}

// Prune drops keys last produced before cutoff (after the builder's cache was
// pruned, say) and returns how many it dropped.
func (h KeyHistory) Prune(cutoff time.Time) int {
	n := 0
	for k, v := range h {
		if v.Before(cutoff) {
			delete(h, k)
			n++
		}
	}
	return n
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Line != fs[j].Line {
			return fs[i].Line < fs[j].Line
		}
		if fs[i].Severity != fs[j].Severity {
			return fs[i].Severity < fs[j].Severity
		}
		return fs[i].Rule < fs[j].Rule
	})
}

func dedupFindings(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := strings.Join([]string{f.Rule, fmt.Sprint(f.Line), f.Message}, "\x00")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}
