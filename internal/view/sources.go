package view

import (
	"bytes"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// maxSourceSize bounds what withSources reads for a snippet.
const maxSourceSize = 1 << 20

// withSources completes files with the other files diagnostics point into
// (a Dockerfile line named by a provider, a workflow JSON), read relative to
// the working directory, which is the configuration directory (-chdir
// changes into it). Providers name a line, not byte offsets; such a subject
// is widened to its whole line so that HCL's writer can show it. diags
// itself is not changed.
func withSources(diags hcl.Diagnostics, files map[string]*hcl.File) (hcl.Diagnostics, map[string]*hcl.File) {
	var out hcl.Diagnostics
	all, copied := files, false
	for i, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line < 1 {
			continue
		}
		name := d.Subject.Filename
		f := all[name]
		if f == nil {
			b, err := readSource(name)
			if err != nil {
				continue
			}
			if !copied {
				all = make(map[string]*hcl.File, len(files)+1)
				for k, v := range files {
					all[k] = v
				}
				copied = true
			}
			f = &hcl.File{Bytes: b}
			all[name] = f
		}
		r := *d.Subject
		if r.Start.Byte != 0 || r.End.Byte != 0 || r.Start.Line != r.End.Line {
			continue
		}
		start, end, ok := lineBytes(f.Bytes, r.Start.Line)
		if !ok {
			continue
		}
		if out == nil {
			out = append(hcl.Diagnostics(nil), diags...)
		}
		r.Start = hcl.Pos{Line: r.Start.Line, Column: 1, Byte: start}
		r.End = hcl.Pos{Line: r.Start.Line, Column: end - start + 1, Byte: end}
		nd := *d
		nd.Subject = &r
		out[i] = &nd
	}
	if out == nil {
		out = diags
	}
	return out, all
}

// readSource reads a small regular file.
func readSource(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxSourceSize {
		return nil, os.ErrInvalid
	}
	return os.ReadFile(name)
}

// lineBytes returns the byte offsets of line n (1-based) in src, without
// its newline.
func lineBytes(src []byte, n int) (start, end int, ok bool) {
	for line := 1; line < n; line++ {
		i := bytes.IndexByte(src[start:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		start += i + 1
	}
	end = len(src)
	if i := bytes.IndexByte(src[start:], '\n'); i >= 0 {
		end = start + i
	}
	return start, end, true
}
