package dockerfile

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
)

// parsedFile is the Dockerfile as instructions, for the checks BuildKit
// does not make because they need to know what the build passes.
type parsedFile struct {
	metaArgs []instructions.ArgCommand
	stages   []instructions.Stage
	labels   []string // the stage names BuildKit prints in vertex names
	lex      *shell.Lex
}

func parseFile(dt []byte) (*parsedFile, error) {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	f := &parsedFile{metaArgs: metaArgs, stages: stages, lex: shell.NewLex(res.EscapeToken)}
	for i, st := range stages {
		switch {
		case len(stages) == 1:
			f.labels = append(f.labels, "")
		case st.Name != "":
			f.labels = append(f.labels, st.Name)
		default:
			f.labels = append(f.labels, fmt.Sprintf("stage-%d", i))
		}
	}
	return f, nil
}

// predefinedArgs may be passed without an ARG: BuildKit sets or uses them
// itself (platform args, proxy variables).
var predefinedArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDOSVERSION": true, "BUILDARCH": true, "BUILDVARIANT": true,
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETOSVERSION": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"TARGETSTAGE": true, "SOURCE_DATE_EPOCH": true,
}

func isPredefined(k string) bool { return predefinedArgs[k] || strings.HasPrefix(k, "BUILDKIT_") }

// metaValues are the global ARGs' values after the build args, for
// expanding FROM lines.
func (f *parsedFile) metaValues(buildArgs map[string]string) map[string]string {
	vals := map[string]string{}
	for _, cmd := range f.metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				vals[kv.Key] = v
			} else if kv.Value != nil {
				vals[kv.Key] = *kv.Value
			}
		}
	}
	return vals
}

type envMap map[string]string

func (m envMap) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m envMap) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// stageIndex finds a stage by name or index, as FROM and --from name them.
func (f *parsedFile) stageIndex(name string, before int) int {
	for i := 0; i < before && i < len(f.stages); i++ {
		if strings.EqualFold(f.stages[i].Name, name) {
			return i
		}
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < before {
		return i
	}
	return -1
}

// baseStage is the index of the stage a stage is built FROM, or -1 for an
// image.
func (f *parsedFile) baseStage(i int, meta map[string]string) int {
	base, _, err := f.lex.ProcessWord(f.stages[i].BaseName, envMap(meta))
	if err != nil {
		return -1
	}
	return f.stageIndex(base, i)
}

// reachable returns the stages the target needs, by index.
func (f *parsedFile) reachable(target string, meta map[string]string) map[int]bool {
	t := len(f.stages) - 1
	if target != "" {
		if t = f.stageIndex(target, len(f.stages)); t < 0 {
			return map[int]bool{}
		}
	}
	seen := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if i < 0 || seen[i] {
			return
		}
		seen[i] = true
		visit(f.baseStage(i, meta))
		for _, cmd := range f.stages[i].Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					visit(f.stageIndex(c.From, i))
				}
			case *instructions.RunCommand:
				for _, m := range f.mounts(c, meta) {
					if m.From != "" {
						visit(f.stageIndex(m.From, i))
					}
				}
			}
		}
	}
	visit(t)
	return seen
}

// mounts returns a RUN's --mount options. The parser leaves most mount
// fields for the expansion at dispatch, which happens here with the global
// ARG values.
func (f *parsedFile) mounts(run *instructions.RunCommand, meta map[string]string) []*instructions.Mount {
	err := run.Expand(func(word string) (string, error) {
		w, _, err := f.lex.ProcessWord(word, envMap(meta))
		return w, err
	})
	if err != nil {
		return nil
	}
	return instructions.GetMounts(run)
}

// stageVars returns, per stage label, the ARG and ENV names its steps
// see (a stage built FROM another inherits them), to word what changed.
func (f *parsedFile) stageVars(meta map[string]string) (args, envs map[string]map[string]bool) {
	args, envs = map[string]map[string]bool{}, map[string]map[string]bool{}
	for i, st := range f.stages {
		a, e := map[string]bool{}, map[string]bool{}
		if b := f.baseStage(i, meta); b >= 0 {
			for k := range args[f.labels[b]] {
				a[k] = true
			}
			for k := range envs[f.labels[b]] {
				e[k] = true
			}
		}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					a[kv.Key] = true
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					e[kv.Key] = true
				}
			}
		}
		args[f.labels[i]], envs[f.labels[i]] = a, e
	}
	return args, envs
}

// checkArgs reports build args no ARG declares (the build would ignore
// them) and ARGs without a default that the build does not set.
// Without the build args' names (in.ArgNamesUnknown) there is nothing to
// check.
func (f *parsedFile) checkArgs(in Input, meta map[string]string, reach map[int]bool) []Finding {
	if in.ArgNamesUnknown {
		return nil
	}
	var out []Finding
	names := f.declaredArgs()
	declared := map[string]bool{}
	for _, k := range names {
		declared[k] = true
	}
	for _, k := range sortedKeys(in.BuildArgs) {
		if declared[k] || isPredefined(k) {
			continue
		}
		msg := fmt.Sprintf("The build sets build arg %q, but no ARG instruction declares it, so BuildKit would ignore it.", k)
		if s := didYouMean(k, names); s != "" {
			msg += fmt.Sprintf(" Did you mean %q?", s)
		}
		out = append(out, Finding{Severity: Error, Rule: "UndeclaredBuildArg", Summary: "Undeclared build arg " + k, Message: msg})
	}

	unset := func(kv instructions.KeyValuePairOptional, line int, scope string) {
		if kv.Value != nil || isPredefined(kv.Key) {
			return
		}
		if _, ok := in.BuildArgs[kv.Key]; ok {
			return
		}
		out = append(out, Finding{Severity: Warning, Rule: "BuildArgWithoutValue", Line: line,
			Summary: "ARG " + kv.Key + " has no value",
			Message: fmt.Sprintf("ARG %s%s has no default and the build does not set it, so it expands to an empty string. Set it in the resource's args or give the ARG a default.", kv.Key, scope)})
	}
	for _, cmd := range f.metaArgs {
		for _, kv := range cmd.Args {
			unset(kv, firstLine(cmd.Location()), " (global)")
		}
	}
	for i, st := range f.stages {
		if !reach[i] {
			continue
		}
		for _, cmd := range st.Commands {
			c, ok := cmd.(*instructions.ArgCommand)
			if !ok {
				continue
			}
			for _, kv := range c.Args {
				if _, ok := meta[kv.Key]; ok {
					continue // takes the global ARG's value
				}
				scope := ""
				if f.labels[i] != "" {
					scope = " in stage " + f.labels[i]
				}
				unset(kv, firstLine(c.Location()), scope)
			}
		}
	}
	return out
}

// declaredArgs returns the names every ARG instruction declares, global or
// in a stage, sorted.
func (f *parsedFile) declaredArgs() []string {
	declared := map[string]bool{}
	for _, cmd := range f.metaArgs {
		for _, kv := range cmd.Args {
			declared[kv.Key] = true
		}
	}
	for _, st := range f.stages {
		for _, cmd := range st.Commands {
			if c, ok := cmd.(*instructions.ArgCommand); ok {
				for _, kv := range c.Args {
					declared[kv.Key] = true
				}
			}
		}
	}
	return sortedKeys(declared)
}

func didYouMean(k string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return n
		}
	}
	s, _ := suggest.Search(k, names, true)
	return s
}

// secretName matches names that hold credentials, like BuildKit's
// SecretsUsedInArgOrEnv rule: a token such as KEY or TOKEN as a whole
// underscore-separated word, unless a word like PUBLIC says otherwise.
var (
	secretName      = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	secretNameAllow = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
)

func looksSecret(name string) bool {
	return secretName.MatchString(name) && !secretNameAllow.MatchString(name)
}

// checkSecrets flags secrets passed as build args (they end up in the
// image's history) and secret mounts the build does not provide.
// The first needs the build args' names, the second the secrets' ids; each
// is skipped when they are not known (Input.ArgNamesUnknown,
// Input.SecretIDsUnknown).
func (f *parsedFile) checkSecrets(in Input, reach map[int]bool) []Finding {
	var out []Finding
	argNames := sortedKeys(in.BuildArgs)
	if in.ArgNamesUnknown {
		argNames = nil
	}
	for _, k := range argNames {
		v := in.BuildArgs[k]
		id := strings.ToLower(k)
		switch {
		case v != "" && slices.Contains(in.SecretValues, v):
			out = append(out, Finding{Severity: Error, Rule: "SecretInBuildArg", Summary: "Secret passed as build arg " + k,
				Message: fmt.Sprintf("Build arg %s carries the value of one of the build's secrets; build args are stored in the image's history, readable by anyone who pulls it. Pass it as a secret mount: secrets = { %s = … } and RUN --mount=type=secret,id=%s.", k, id, id)})
		case looksSecret(k) || slices.ContainsFunc(in.SecretIDs, func(s string) bool { return strings.EqualFold(s, k) }):
			out = append(out, Finding{Severity: Warning, Rule: "SecretInBuildArg", Summary: "Build arg " + k + " looks like a secret",
				Message: fmt.Sprintf("Build arg %s looks like a secret; build args are stored in the image's history, readable by anyone who pulls it. Pass it as a secret mount: secrets = { %s = … } and RUN --mount=type=secret,id=%s.", k, id, id)})
		}
	}
	for i, st := range f.stages {
		if !reach[i] || in.SecretIDsUnknown {
			continue
		}
		for _, cmd := range st.Commands {
			run, ok := cmd.(*instructions.RunCommand)
			if !ok {
				continue
			}
			for _, m := range f.mounts(run, f.metaValues(in.BuildArgs)) {
				if m.Type != instructions.MountTypeSecret {
					continue
				}
				id := m.CacheID
				if m.Source != "" {
					id = m.Source
				}
				if id == "" {
					id = path.Base(m.Target)
				}
				if slices.Contains(in.SecretIDs, id) {
					continue
				}
				unset := slices.Contains(in.UnsetSecretIDs, id)
				if unset && !m.Required {
					continue
				}
				sev, what := Warning, "the mount is empty"
				if m.Required {
					sev, what = Error, "BuildKit would fail this step (required=true)"
				}
				if unset {
					what += "; the secret is declared but its value is null"
				}
				out = append(out, Finding{Severity: sev, Rule: "MissingSecret", Line: firstLine(run.Location()),
					Summary: "Secret " + id + " not passed",
					Message: fmt.Sprintf("RUN mounts secret %q, but the build passes no secret with that id, so %s. Add it to the resource's secrets.", id, what)})
			}
		}
	}
	return out
}

// checkNamedContexts warns about a named context that shares a stage's
// name: BuildKit would use the context instead of building the stage, which
// the prediction does not model.
func (f *parsedFile) checkNamedContexts(in Input) []Finding {
	var out []Finding
	for _, name := range sortedKeys(in.NamedContexts) {
		for _, st := range f.stages {
			if strings.EqualFold(st.Name, name) {
				out = append(out, Finding{Severity: Warning, Rule: "NamedContextReplacesStage", Line: firstLine(st.Location),
					Summary: "Named context replaces stage " + st.Name,
					Message: fmt.Sprintf("Named context %q replaces stage %s, so BuildKit will not build that stage; the step prediction still assumes it does.", name, st.Name)})
			}
		}
	}
	return out
}

func firstLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
