package lang

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvPrefix starts the name of an environment variable that sets an input
// variable: SDF_VAR_variant=fp16.
const EnvPrefix = "SDF_VAR_"

// AutoVarsSuffix ends the name of a variables file in the configuration
// directory that is read without -var-file.
const AutoVarsSuffix = ".auto.sdfvars"

// rawValue is one variable value from one source, before conversion.
type rawValue struct {
	val    cty.Value
	source string     // "-var", "the file x.sdfvars", "environment variable SDF_VAR_x", "the default"
	rng    *hcl.Range // where it was written, when in a file
}

// VariableValues gathers a value for every declared variable from, highest
// precedence first: -var (later wins), -var-file (later wins),
// *.auto.sdfvars in Dir (lexical order, later wins), SDF_VAR_<name>, the
// default. Each value is converted to the variable's type, checked against
// its validation blocks and, for sensitive variables, marked with
// SensitiveMark. A variable without any value is an error at its
// declaration: nothing prompts, so CI never hangs.
//
// Values that could not be determined are unknown in the result; callers
// stop on error diagnostics. Parsed variables files are added to c.Files
// so that diagnostics about them print with snippets.
func (c *Config) VariableValues(in VarInputs) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	chosen := map[string]rawValue{}

	// Lowest precedence first; each later source overwrites.
	for _, kv := range in.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, EnvPrefix)
		decl, declared := c.Variables[name]
		if !declared {
			continue // the environment is shared; stray names are normal
		}
		source := "environment variable " + k
		val, d := parseRawValue(decl, v, source)
		diags = append(diags, d...)
		if !d.HasErrors() {
			chosen[name] = rawValue{val: val, source: source}
		}
	}

	dir := c.loadDir
	if dir == "" {
		dir = c.Dir // a Config built by hand
	}
	autoFiles, err := autoVarFiles(dir)
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot list variables files",
			Detail:   fmt.Sprintf("sdform could not look for *%s files in %s: %s.", AutoVarsSuffix, c.Dir, err),
		})
	}
	for _, f := range autoFiles {
		diags = append(diags, c.readVarFile(f, chosen)...)
	}
	for _, f := range in.Files {
		diags = append(diags, c.readVarFile(f, chosen)...)
	}

	for _, kv := range in.CLI {
		name, v, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid -var option",
				Detail:   fmt.Sprintf("The option -var %q is not NAME=VALUE. Write it as -var variant=fp16.", kv),
			})
			continue
		}
		decl, declared := c.Variables[name]
		if !declared {
			diags = append(diags, c.undeclaredVar(name, fmt.Sprintf("-var %q on the command line", kv), nil))
			continue
		}
		source := fmt.Sprintf("-var %q", name+"=…")
		val, d := parseRawValue(decl, v, source)
		diags = append(diags, d...)
		if !d.HasErrors() {
			chosen[name] = rawValue{val: val, source: "-var " + name}
		}
	}

	for _, name := range sortedKeys(in.Saved) {
		if _, declared := c.Variables[name]; !declared {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Saved plan does not match the configuration",
				Detail:   fmt.Sprintf("The saved plan was made with a variable %q that the configuration no longer declares; plan again.", name),
			})
			continue
		}
		chosen[name] = rawValue{val: in.Saved[name], source: "the saved plan"}
	}

	// After a source failed (a variables file that does not parse, a bad
	// -var), a variable without a value may be one that source meant to
	// set: the source's own error says what to fix.
	sourceFailed := diags.HasErrors()
	out := make(map[string]cty.Value, len(c.Variables))
	for _, name := range sortedKeys(c.Variables) {
		v := c.Variables[name]
		val, d := c.finalValue(v, chosen, sourceFailed)
		diags = append(diags, d...)
		out[name] = val
	}
	return out, TidyDiagnostics(diags)
}

// finalValue picks, converts and validates the value of one variable. With
// sourceFailed, a missing required value is left unknown without an error.
func (c *Config) finalValue(v *Variable, chosen map[string]rawValue, sourceFailed bool) (cty.Value, hcl.Diagnostics) {
	unknown := cty.UnknownVal(v.Type)
	raw, given := chosen[v.Name]
	// A snippet of a variables file would print a sensitive value, so
	// problems with one point at the declaration instead.
	if v.Sensitive {
		raw.rng = nil
	}
	if given && raw.val.IsNull() && !v.Nullable {
		if v.Default == cty.NilVal {
			return unknown, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for variable",
				Detail:   fmt.Sprintf("Variable %q has nullable = false, but %s sets it to null.", v.Name, raw.source),
				Subject:  rangeOr(raw.rng, v.DeclRange),
			}}
		}
		given = false // a null for a non-nullable variable means "use the default"
	}
	if !given {
		if v.Default == cty.NilVal && sourceFailed {
			return unknown, nil
		}
		if v.Default == cty.NilVal {
			return unknown, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail: fmt.Sprintf("The variable %q has no default and no value was given. Set it with -var %s=VALUE, in a -var-file or *%s file, or with the environment variable %s%s.",
					v.Name, v.Name, AutoVarsSuffix, EnvPrefix, v.Name),
				Subject: v.DeclRange.Ptr(),
			}}
		}
		raw = rawValue{val: v.Default, source: "the default"}
	}

	val := raw.val
	if !val.IsNull() && v.TypeDefaults != nil {
		val = v.TypeDefaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return unknown, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of variable %q from %s does not match its type (%s): %s.",
				v.Name, raw.source, typeexpr.TypeString(v.Type), errorString(err)),
			Subject: rangeOr(raw.rng, v.DeclRange),
		}}
	}
	if diags := c.validate(v, conv, raw.source); diags.HasErrors() {
		return unknown, diags
	}
	if v.Sensitive {
		conv = MarkSensitive(conv)
	}
	return conv, nil
}

func rangeOr(r *hcl.Range, fallback hcl.Range) *hcl.Range {
	if r != nil {
		return r
	}
	return fallback.Ptr()
}

// validate evaluates a variable's validation blocks against its value, which
// came from source. The scope holds only this variable, which Load made sure
// is all a condition refers to.
func (c *Config) validate(v *Variable, val cty.Value, source string) hcl.Diagnostics {
	if len(v.Validations) == 0 {
		return nil
	}
	if v.Sensitive {
		val = MarkSensitive(val)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: val})},
		Functions: Functions(c.Dir, nil),
	}
	var diags hcl.Diagnostics
	for _, rule := range v.Validations {
		result, d := rule.Condition.Value(ctx)
		diags = append(diags, TidyDiagnostics(d)...)
		if d.HasErrors() {
			continue
		}
		result, _ = result.UnmarkDeep()
		if !result.IsKnown() {
			continue
		}
		ok, err := convert.Convert(result, cty.Bool)
		if err != nil || ok.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid validation condition",
				Detail:   fmt.Sprintf("The condition must be true or false, but this one is %s.", describe(result)),
				Subject:  rule.Condition.Range().Ptr(),
			})
			continue
		}
		if ok.True() {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("%s\n\nThe value of %q came from %s; it was checked by the validation rule at %s.",
				errorMessage(rule.ErrorMessage, ctx), v.Name, source, rule.DeclRange),
			Subject: rule.Condition.Range().Ptr(),
		})
	}
	return diags
}

// errorMessage evaluates an error_message, never revealing a sensitive
// value through it.
func errorMessage(expr hcl.Expression, ctx *hcl.EvalContext) string {
	msg, d := expr.Value(ctx)
	d = TidyDiagnostics(d)
	if d.HasErrors() {
		return "The error message could not be evaluated: " + d[0].Detail
	}
	if IsSensitive(msg) {
		return "The error message refers to a sensitive value, so it is not shown."
	}
	s, err := convert.Convert(msg, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		return "The error message is not a string."
	}
	return strings.TrimSpace(s.AsString())
}

// describe names the type of a value for a message, never its content.
func describe(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return "a " + v.Type().FriendlyName()
}

// parseRawValue turns a -var or SDF_VAR_ value into a cty value the way
// Terraform does: the raw string for variables whose type is a primitive or
// unset, an HCL expression otherwise (lists, maps, objects).
func parseRawValue(v *Variable, raw, source string) (cty.Value, hcl.Diagnostics) {
	if v.Type.IsPrimitiveType() || v.Type == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	filename := fmt.Sprintf("<value for var.%s>", v.Name)
	expr, diags := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
	if diags.HasErrors() {
		why := strings.TrimSuffix(diags[0].Detail, ".")
		if v.Sensitive {
			why = "the parser's message is withheld because the variable is sensitive"
		}
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of variable %q from %s is not a valid expression for a %s: %s.",
				v.Name, source, typeexpr.TypeString(v.Type), why),
		}}
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of variable %q from %s must be a constant: %s.",
				v.Name, source, strings.TrimSuffix(diags[0].Detail, ".")),
		}}
	}
	return val, nil
}

// autoVarFiles lists dir/*.auto.sdfvars in lexical order.
func autoVarFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), AutoVarsSuffix) && !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// readVarFile reads one variables file (HCL attributes, or JSON when the
// name ends in .json) into chosen.
func (c *Config) readVarFile(path string, chosen map[string]rawValue) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read variables file",
			Detail:   fmt.Sprintf("sdform could not read the variables file %s: %s.", path, reason(err)),
		}}
	}
	parser := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = parser.ParseJSON(src, path)
	} else {
		f, diags = parser.ParseHCL(src, path)
	}
	if f == nil {
		return diags
	}
	if c.Files != nil {
		c.Files[path] = f
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	if name := c.sensitiveNamedIn(src); name != "" {
		diags = hideSyntaxErrors(diags, path, name)
	}
	source := "the file " + path
	for _, a := range sortedAttributes(attrs) {
		decl, declared := c.Variables[a.Name]
		if !declared {
			rng := a.NameRange.Ptr()
			if meant, ok := c.Variables[Suggest(a.Name, keys(c.Variables))]; ok && meant.Sensitive {
				rng = nil // a misspelt sensitive variable: its line holds the secret
			}
			diags = append(diags, c.undeclaredVar(a.Name, source, rng))
			continue
		}
		val, d := a.Expr.Value(nil)
		if decl.Sensitive {
			d = hideValue(d, decl, source)
		}
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		chosen[a.Name] = rawValue{val: val, source: source, rng: a.Expr.Range().Ptr()}
	}
	return diags
}

// hideValue rewords the diagnostics about the value of sensitive variable
// v in a variables file. A snippet of the file, or hcl's message about the
// expression, would quote the secret into CI logs, so they point at the
// declaration and keep only the summary (such as "Variables not allowed"
// for a string written without quotes).
func hideValue(diags hcl.Diagnostics, v *Variable, source string) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		out[i] = &hcl.Diagnostic{
			Severity: d.Severity,
			Summary:  d.Summary,
			Detail: fmt.Sprintf("The value in %s for variable %q is not a constant; a string must be written in quotes. The value is not shown because the variable is sensitive.",
				source, v.Name),
			Subject: v.DeclRange.Ptr(),
		}
	}
	return out
}

// hideSyntaxErrors rewords the diagnostics about the structure of the
// variables file path, which names sensitive variable name: a file that does
// not parse cannot be split into its values reliably, so any of its lines
// may hold the secret. Only the line number is kept.
func hideSyntaxErrors(diags hcl.Diagnostics, path, name string) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		where := ""
		if d.Subject != nil {
			where = fmt.Sprintf(" on line %d", d.Subject.Start.Line)
		}
		out[i] = &hcl.Diagnostic{
			Severity: d.Severity,
			Summary:  d.Summary,
			Detail: fmt.Sprintf("The variables file %s has a syntax error%s. The line and the parser's message are not shown because the file may hold the value of sensitive variable %q.",
				path, where, name),
		}
	}
	return out
}

// sensitiveNamedIn returns the first sensitive variable, by name, whose name
// occurs anywhere in src, or "".
func (c *Config) sensitiveNamedIn(src []byte) string {
	for _, name := range sortedKeys(c.Variables) {
		if c.Variables[name].Sensitive && bytes.Contains(src, []byte(name)) {
			return name
		}
	}
	return ""
}

// undeclaredVar reports a value given for a variable the configuration
// does not declare.
func (c *Config) undeclaredVar(name, source string, rng *hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("A value for variable %q is set by %s, but the configuration declares no variable %q.", name, source, name)
	if s := Suggest(name, keys(c.Variables)); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	} else {
		detail += fmt.Sprintf(" Declare it with a variable %q {} block, or remove the value.", name)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value for undeclared variable",
		Detail:   detail,
		Subject:  rng,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := keys(m)
	sort.Strings(out)
	return out
}

// reason is an I/O error without the operation and path that the sentence
// around it already gives.
func reason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
