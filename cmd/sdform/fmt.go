package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
)

const fmtUsage = `Usage: sdform fmt [options] [FILE or DIR ...]

Rewrites *.sdf.hcl and *.sdfvars files in canonical format (indentation,
aligned equals signs, "${x}" written as x) and prints the name of each file
it changed. With no arguments it formats the current directory; "-" reads
stdin and writes the result to stdout. Formatting is idempotent.

Exit status: 0 when every file is formatted (or was rewritten), 1 on a
syntax error, and 3 under -check when some file needs formatting (as
"terraform fmt -check" does), so CI can tell the two apart.

Examples:
  sdform fmt
  sdform fmt -check -diff -recursive     in CI: show what would change
`

type fmtCmd struct {
	check, diff, recursive, list bool
}

func (c *cli) runFmt(ctx context.Context, args []string) int {
	var f fmtCmd
	fset := c.commandFlags("fmt")
	fset.BoolVar(&f.check, "check", false, "Change no file; exit 3 if any needs formatting")
	fset.BoolVar(&f.diff, "diff", false, "Print a unified diff of the changes")
	fset.BoolVar(&f.recursive, "recursive", false, "Also format files in subdirectories")
	fset.BoolVar(&f.list, "list", true, "Print the names of files that need formatting")
	rest, code, ok := c.parse(fset, args, fmtUsage)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		rest = []string{"."}
	}
	var diags hcl.Diagnostics
	files := map[string]*hcl.File{}
	unformatted := false
	for _, arg := range rest {
		if arg == "-" {
			src, err := io.ReadAll(stdin)
			if err != nil {
				return c.fail(fmt.Errorf("read stdin: %w", err))
			}
			out, d := lang.Format(src, "<stdin>")
			diags = append(diags, d...)
			if d.HasErrors() {
				files["<stdin>"] = &hcl.File{Bytes: src}
				continue
			}
			if f.check && !bytes.Equal(src, out) {
				unformatted = true
			}
			if f.diff {
				if !bytes.Equal(src, out) {
					c.stdout.Write(unifiedDiff("<stdin>", src, out))
				}
			} else if !f.check {
				c.stdout.Write(out)
			}
			continue
		}
		paths, err := fmtTargets(arg, f.recursive)
		if err != nil {
			return c.fail(err)
		}
		for _, path := range paths {
			changed, d, err := f.formatFile(c, path)
			if err != nil {
				return c.fail(err)
			}
			if d.HasErrors() {
				if src, err := os.ReadFile(path); err == nil {
					files[path] = &hcl.File{Bytes: src}
				}
			}
			diags = append(diags, d...)
			unformatted = unformatted || changed
		}
	}
	if c.diagnostics(diags, files) {
		return exitError
	}
	if f.check && unformatted {
		return exitFmtDiff
	}
	return exitOK
}

// formatFile formats one file; changed reports whether it was (or, under
// -check, would be) rewritten.
func (f fmtCmd) formatFile(c *cli, path string) (changed bool, diags hcl.Diagnostics, err error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return false, nil, fmt.Errorf("read %s: %w", path, err)
	}
	out, diags := lang.Format(src, path)
	if diags.HasErrors() || bytes.Equal(src, out) {
		return false, diags, nil
	}
	if f.list {
		fmt.Fprintln(c.stdout, path)
	}
	if f.diff {
		c.stdout.Write(unifiedDiff(path, src, out))
	}
	if !f.check {
		info, err := os.Stat(path)
		if err != nil {
			return false, diags, fmt.Errorf("format %s: %w", path, err)
		}
		if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
			return false, diags, fmt.Errorf("format %s: %w", path, err)
		}
	}
	return true, diags, nil
}

// fmtTargets lists the files fmt handles for one argument: the file
// itself, or the *.sdf.hcl and *.sdfvars files of a directory (and its
// subdirectories under -recursive, skipping hidden ones such as .sdform).
func fmtTargets(arg string, recursive bool) ([]string, error) {
	info, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("fmt %s: %w", arg, err)
	}
	if !info.IsDir() {
		if !formattable(arg) {
			return nil, fmt.Errorf("fmt %s: only *%s and *.sdfvars files can be formatted", arg, lang.FileSuffix)
		}
		return []string{arg}, nil
	}
	var out []string
	err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != arg && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if formattable(path) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fmt %s: %w", arg, err)
	}
	return out, nil
}

// formattable reports whether fmt handles the file at path: a
// configuration or a variables file.
func formattable(path string) bool {
	return strings.HasSuffix(path, lang.FileSuffix) || strings.HasSuffix(path, ".sdfvars")
}

// unifiedDiff is a unified diff of two texts with three lines of
// context, as `diff -u` prints it.
func unifiedDiff(name string, a, b []byte) []byte {
	al, bl := splitLines(a), splitLines(b)
	// Longest common subsequence by dynamic programming: config files are
	// small, so O(n·m) is fine and keeps this free of dependencies.
	n, m := len(al), len(bl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		ai   int // line index in a (for ' ' and '-')
		bi   int // line index in b (for ' ' and '+')
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			ops = append(ops, op{' ', al[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Deletions first, as diff -u prints them.
			ops = append(ops, op{'-', al[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', bl[j], i, j})
			j++
		}
	}
	const context = 3
	var out bytes.Buffer
	fmt.Fprintf(&out, "--- old/%s\n+++ new/%s\n", name, name)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		// Extend the hunk while changes are within 2*context lines.
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(len(ops), end+context)
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := ops[start].ai, ops[start].bi, 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range ops[start:end] {
			fmt.Fprintf(&out, "%c%s\n", o.kind, o.text)
		}
		k = end
	}
	return out.Bytes()
}

func hunkRange(start, length int) string {
	if length == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if length == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, length)
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if !bytes.HasSuffix(b, []byte("\n")) {
		// As diff -u marks it; it also makes the last line differ from
		// the same line with its newline.
		lines[len(lines)-1] += "\n\\ No newline at end of file"
	}
	return lines
}
