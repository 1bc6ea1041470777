package lang

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical form: hclwrite's layout (indentation,
// spacing, aligned equals signs) plus the normalisations of terraform fmt:
// an interpolation-only string "${x}" becomes x, and a quoted legacy type
// (type = "string") becomes the type keyword; a non-empty file ends with a
// newline. Format is idempotent. A file
// with syntax errors is returned unchanged, with the errors.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return src, diags
	}
	out := src
	// Each pass can expose another normalisation ("${"${x}"}" unwraps in
	// two steps), so repeat until nothing changes.
	for range 8 {
		next, diags := formatOnce(out, filename)
		if diags.HasErrors() {
			return src, diags
		}
		if bytes.Equal(next, out) {
			break
		}
		out = next
	}
	// hclwrite only moves tokens, but a formatter that broke a file would
	// be much worse than one that left it alone.
	if _, diags := hclsyntax.ParseConfig(out, filename, hcl.InitialPos); diags.HasErrors() {
		return src, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot format file",
			Detail:   "Formatting " + filename + " would produce invalid syntax, so it was left unchanged: " + diags[0].Error() + ". Please report this as a bug.",
		}}
	}
	return out, nil
}

func formatOnce(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	normaliseBody(f.Body(), "")
	out := hclwrite.Format(f.Bytes())
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n') // text files end with a newline
	}
	return out, nil
}

func normaliseBody(body *hclwrite.Body, blockType string) {
	for name, attr := range body.Attributes() {
		tokens := attr.Expr().BuildTokens(nil)
		if blockType == "variable" && name == "type" {
			if t, ok := unquoteLegacyType(tokens); ok {
				body.SetAttributeRaw(name, t)
				continue
			}
		}
		if t, ok := unwrapInterpolation(tokens); ok {
			body.SetAttributeRaw(name, t)
		}
	}
	for _, b := range body.Blocks() {
		normaliseBody(b.Body(), b.Type())
	}
}

// unwrapInterpolation turns "${expr}" into expr when the string holds
// exactly one interpolation and nothing else.
func unwrapInterpolation(tokens hclwrite.Tokens) (hclwrite.Tokens, bool) {
	n := len(tokens)
	if n < 5 ||
		tokens[0].Type != hclsyntax.TokenOQuote ||
		tokens[1].Type != hclsyntax.TokenTemplateInterp ||
		tokens[n-2].Type != hclsyntax.TokenTemplateSeqEnd ||
		tokens[n-1].Type != hclsyntax.TokenCQuote {
		return nil, false
	}
	inside := tokens[2 : n-2]
	depth := 0 // nesting of quoted strings and interpolations inside
	for _, t := range inside {
		switch t.Type {
		case hclsyntax.TokenComment, hclsyntax.TokenNewline:
			// Comments and line breaks inside ${} have no place outside a
			// string; leave such expressions as written.
			if depth == 0 {
				return nil, false
			}
		case hclsyntax.TokenTemplateControl:
			if depth == 0 {
				return nil, false
			}
		case hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			depth++
		case hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			depth--
		case hclsyntax.TokenQuotedLit, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateSeqEnd:
			if depth == 0 {
				return nil, false // "${a}b" or "${a}${b}"
			}
		}
	}
	if len(inside) == 0 || depth != 0 {
		return nil, false
	}
	out := make(hclwrite.Tokens, len(inside))
	copy(out, inside)
	first := *out[0]
	first.SpacesBefore = 1
	out[0] = &first
	return out, true
}

// unquoteLegacyType turns type = "string" into type = string (and "list",
// "map" into list(string), map(string)), as Terraform 0.11 wrote them.
func unquoteLegacyType(tokens hclwrite.Tokens) (hclwrite.Tokens, bool) {
	if len(tokens) != 3 || tokens[0].Type != hclsyntax.TokenOQuote ||
		tokens[1].Type != hclsyntax.TokenQuotedLit || tokens[2].Type != hclsyntax.TokenCQuote {
		return nil, false
	}
	var text string
	switch string(tokens[1].Bytes) {
	case "string":
		text = "string"
	case "list":
		text = "list(string)"
	case "map":
		text = "map(string)"
	default:
		return nil, false
	}
	return hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte(text), SpacesBefore: 1}}, true
}
