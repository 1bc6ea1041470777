package plan

import (
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// FormatPath writes a value path the way a user writes it in config:
// args.STEADYDANCER_VARIANT, step[0].run, port.http.number, tags[2], and
// args["with space"] for keys that are not identifiers.
func FormatPath(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case cty.IndexStep:
			k := s.Key
			switch {
			case !k.IsKnown() || k.IsNull() || k.IsMarked():
				b.WriteString("[*]")
			case k.Type() == cty.String && isIdent(k.AsString()):
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(k.AsString())
			case k.Type() == cty.String:
				b.WriteString("[" + quote(k.AsString()) + "]")
			case k.Type() == cty.Number:
				b.WriteString("[" + k.AsBigFloat().Text('f', -1) + "]")
			default:
				b.WriteString("[*]")
			}
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
