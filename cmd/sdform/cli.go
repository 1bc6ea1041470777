package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/view"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit codes; see doc.go.
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitFmtDiff     = 3
	exitInterrupted = 130
)

// stdin and stdinIsTerminal are what apply's confirmation prompt reads;
// tests replace them.
var (
	stdin           io.Reader = os.Stdin
	stdinIsTerminal           = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
)

// cli is what every command shares: the output streams and the global
// options.
type cli struct {
	stdout, stderr io.Writer
	// noColor is -no-color or NO_COLOR; colours also need a terminal,
	// unless forceColor (CLICOLOR_FORCE=1, for CI logs that show ANSI).
	noColor    bool
	forceColor bool
	env        []string

	mu            sync.Mutex
	prefixWriters map[string]*view.PrefixWriter
}

// command is one subcommand.
type command struct {
	name     string
	synopsis string
	main     bool // listed under "Main commands"
	run      func(c *cli, ctx context.Context, args []string) int
}

var commands = []*command{
	{name: "init", synopsis: "Write a starter main.sdf.hcl and ignore .sdform/", main: true, run: (*cli).runInit},
	{name: "validate", synopsis: "Check the configuration for mistakes, offline", main: true, run: (*cli).runValidate},
	{name: "plan", synopsis: "Show what apply would do, and why", main: true, run: (*cli).runPlan},
	{name: "apply", synopsis: "Build, download and test what the plan says", main: true, run: (*cli).runApply},
	{name: "destroy", synopsis: "Delete every object this configuration manages", main: true, run: (*cli).runDestroy},
	{name: "fmt", synopsis: "Rewrite .sdf.hcl files in canonical format", run: (*cli).runFmt},
	{name: "show", synopsis: "Show a saved plan, or the current state", run: (*cli).runShow},
	{name: "graph", synopsis: "Print the dependency graph (Graphviz dot or Mermaid)", run: (*cli).runGraph},
	{name: "rollback", synopsis: "Move an image's tags back to the image they named before", run: (*cli).runRollback},
	{name: "state", synopsis: "Inspect or edit the state: list, show, rm, unlock", run: (*cli).runState},
	{name: "version", synopsis: "Print sdform's version", run: (*cli).runVersion},
}

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole CLI: main only adds signals and os.Exit. With -chdir it
// changes the process's working directory for the duration of the command
// (as terraform -chdir does, so relative paths in flags resolve there), so
// it must not run concurrently with itself.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, env: os.Environ()}
	var chdir string
	var help, version bool
	fs := newFlagSet("sdform")
	fs.SetInterspersed(false)
	fs.StringVar(&chdir, "chdir", "", "Switch to `DIR` before running the command")
	fs.BoolVar(&version, "version", false, "Print the version (as the version command does)")
	fs.BoolVarP(&help, "help", "h", false, "Show this help")
	fs.BoolVar(&c.noColor, "no-color", false, "Print no colours (NO_COLOR in the environment does the same)")
	if err := fs.Parse(normalizeArgs(fs, args, true)); err != nil {
		fmt.Fprintf(stderr, "sdform: %s\n\n", singleDash(err.Error()))
		fmt.Fprint(stderr, topUsage(fs))
		return exitError
	}
	if os.Getenv("NO_COLOR") != "" {
		c.noColor = true
	}
	if v := os.Getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		c.forceColor = true
	}
	rest := fs.Args()
	switch {
	case version:
		rest = []string{"version"}
	case help, len(rest) == 0:
		fmt.Fprint(stdout, topUsage(fs))
		if help {
			return exitOK
		}
		return exitError
	case rest[0] == "help":
		if len(rest) > 1 {
			rest = []string{rest[1], "-h"}
		} else {
			fmt.Fprint(stdout, topUsage(fs))
			return exitOK
		}
	}
	cmd := lookupCommand(rest[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "sdform: unknown command %q%s\nRun \"sdform -h\" for the list of commands.\n", rest[0], didYouMean(rest[0]))
		return exitError
	}
	if chdir != "" {
		old, err := os.Getwd()
		if err != nil {
			fmt.Fprintf(stderr, "sdform: %v\n", err)
			return exitError
		}
		if err := os.Chdir(chdir); err != nil {
			fmt.Fprintf(stderr, "sdform: -chdir=%s: %v\n", chdir, errors.Unwrap(err))
			return exitError
		}
		defer os.Chdir(old)
	}
	return cmd.run(c, ctx, rest[1:])
}

func didYouMean(name string) string {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return fmt.Sprintf(" (did you mean %q?)", c.name)
		}
	}
	return ""
}

func topUsage(fs *pflag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`Usage: sdform [global options] <command> [options] [args]

sdform makes a GPU image checklist declarative: the image, its build args,
the weight files and the acceptance tests live in *.sdf.hcl files; "plan"
shows what would run and why, "apply" runs only that and records the result.

Main commands:
`)
	for _, c := range commands {
		if c.main {
			fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.synopsis)
		}
	}
	b.WriteString("\nOther commands:\n")
	for _, c := range commands {
		if !c.main {
			fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.synopsis)
		}
	}
	b.WriteString("\nGlobal options (before the command):\n")
	b.WriteString(flagUsages(fs))
	b.WriteString(`
Flags take one dash or two: -out=tfplan and --out=tfplan are the same.

Exit codes: 0 success; 1 error; 2 changes present (plan -detailed-exitcode);
3 files need formatting (fmt -check); 130 stopped by a second Ctrl-C.

Start here:
  sdform init          write a starter configuration
  sdform plan          see what would happen
  sdform apply         do it

Run "sdform <command> -h" for a command's options.
`)
	return b.String()
}

// newFlagSet returns a flag set that reports errors instead of exiting
// and prints nothing by itself.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {}
	return fs
}

// commandFlags returns a command's flag set with -h and -no-color.
func (c *cli) commandFlags(name string) *pflag.FlagSet {
	fs := newFlagSet(name)
	fs.BoolP("help", "h", false, "Show this help")
	fs.BoolVar(&c.noColor, "no-color", c.noColor, "Print no colours (NO_COLOR in the environment does the same)")
	return fs
}

// parse parses a command's flags. It returns the positional arguments, or
// ok=false with the exit code when the command must stop: after -h (help
// printed, 0) or a bad flag (error printed, 1).
func (c *cli) parse(fs *pflag.FlagSet, args []string, usage string) (rest []string, code int, ok bool) {
	err := fs.Parse(normalizeArgs(fs, args, false))
	if err == nil {
		if h, _ := fs.GetBool("help"); h {
			fmt.Fprint(c.stdout, commandUsage(fs, usage))
			return nil, exitOK, false
		}
		return fs.Args(), 0, true
	}
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(c.stdout, commandUsage(fs, usage))
		return nil, exitOK, false
	}
	fmt.Fprintf(c.stderr, "sdform %s: %s\nRun \"sdform %s -h\" for its options.\n", fs.Name(), singleDash(err.Error()), fs.Name())
	return nil, exitError, false
}

// singleDash rewrites pflag's "--flag" in messages to the "-flag" users type.
func singleDash(msg string) string { return strings.ReplaceAll(msg, "--", "-") }

func commandUsage(fs *pflag.FlagSet, usage string) string {
	var b strings.Builder
	b.WriteString(strings.TrimLeft(usage, "\n"))
	if !strings.HasSuffix(usage, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("\nOptions:\n")
	b.WriteString(flagUsages(fs))
	return b.String()
}

// flagUsages lists flags in the single-dash spelling, each with its
// default when that is not the zero value.
func flagUsages(fs *pflag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		name := "-" + f.Name
		switch f.Value.Type() {
		case "bool":
		default:
			if varname == "" {
				varname = "VALUE"
			}
			name += "=" + strings.ToUpper(varname)
		}
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		def := ""
		switch f.DefValue {
		case "", "false", "[]", "0", "0s":
		default:
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(&b, "  %s\n      %s%s\n", name, usage, def)
	})
	return b.String()
}

// normalizeArgs turns Terraform-style single-dash long flags ("-out=x",
// "-refresh=false", "-chdir DIR") into pflag's double-dash form, leaving
// flag values, "-h" and everything after "--" alone. With
// stopAtPositional (the global flags), the first positional argument (the
// command) and everything after it are left for the command's own set.
func normalizeArgs(fs *pflag.FlagSet, args []string, stopAtPositional bool) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || (stopAtPositional && !strings.HasPrefix(a, "-")) {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if isFlagName(name) {
				a = "-" + a
			}
		}
		out = append(out, a)
		if strings.HasPrefix(a, "--") && !strings.Contains(a, "=") {
			// A flag that takes a value consumes the next argument, which
			// must not be rewritten even when it starts with a dash.
			if f := fs.Lookup(a[2:]); f != nil && f.NoOptDefVal == "" && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
		}
	}
	return out
}

func isFlagName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// color reports whether to write ANSI colours to w.
func (c *cli) color(w io.Writer) bool {
	return !c.noColor && (c.forceColor || isTerminal(w))
}

// viewOptions are the rendering options for w.
func (c *cli) viewOptions(w io.Writer) view.Options {
	o := view.Options{Color: c.color(w), Width: 78}
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			o.Width = width - 1
		}
	}
	return o
}

// diagnostics prints diags on stderr with source snippets from files and
// reports whether any is an error.
func (c *cli) diagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) bool {
	if len(diags) > 0 {
		if err := view.Diagnostics(c.stderr, diags, files, c.viewOptions(c.stderr)); err != nil {
			fmt.Fprintf(c.stderr, "sdform: %v\n", err)
		}
	}
	return diags.HasErrors()
}

// fail prints a runtime error and returns exitError.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "%s %v\n", c.errorWord(), err)
	return exitError
}

func (c *cli) errorWord() string {
	o := c.viewOptions(c.stderr)
	if o.Color {
		return "\x1b[31mError:\x1b[0m"
	}
	return "Error:"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
