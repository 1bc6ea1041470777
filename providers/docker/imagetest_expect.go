package docker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// excerptLen bounds what a result quotes of an output or a file.
const excerptLen = 200

// testResult is one expectation's outcome, as docker_image_test.results
// records it.
type testResult struct {
	Name     string
	Passed   bool
	Expected string
	Seen     string
	// Context is added to a failure's message, not recorded: the last
	// line of stderr when a command exited with the wrong code.
	Context string
}

// failure words a failed result: "command deps: exit code: expected 0,
// got 1; stderr: ModuleNotFoundError: No module named 'mmcv'".
func (r testResult) failure() string {
	s := fmt.Sprintf("%s: expected %s, got %s", r.Name, r.Expected, r.Seen)
	if r.Context != "" {
		s += "; " + r.Context
	}
	return s
}

// cmdOutcome is what running one command produced.
type cmdOutcome struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
	// StartErr is set when the process never ran (no such executable).
	StartErr error
	TimedOut bool
	Duration time.Duration
}

// checkCommand judges a command's outcome against its expectations.
func checkCommand(c *commandSpec, o cmdOutcome) []testResult {
	prefix := "command " + c.Name + ": "
	if o.TimedOut {
		return []testResult{{
			Name: prefix + "timeout", Expected: "finishes within " + c.Timeout.String(),
			Seen: "still running after " + c.Timeout.String() + ", killed", Context: outputContext(o),
		}}
	}
	var out []testResult
	exit := testResult{Name: prefix + "exit code", Expected: strconv.Itoa(c.ExitCode)}
	switch {
	case o.StartErr != nil:
		exit.Seen = "no exit code: it did not start: " + o.StartErr.Error()
	default:
		exit.Seen = strconv.Itoa(o.ExitCode)
		exit.Passed = o.ExitCode == c.ExitCode
		if !exit.Passed {
			exit.Context = outputContext(o)
		}
	}
	out = append(out, exit)
	stream := func(name string, text []byte, must, mustNot []*regexp.Regexp) {
		s := matchText(text)
		for _, re := range must {
			r := testResult{Name: prefix + name, Expected: "matches /" + re.String() + "/"}
			if loc := re.FindStringIndex(s); loc != nil {
				r.Passed, r.Seen = true, quoteExcerpt(lineAround(s, loc))
			} else {
				r.Seen = describeOutput(s)
			}
			out = append(out, r)
		}
		for _, re := range mustNot {
			r := testResult{Name: prefix + name, Expected: "no match for /" + re.String() + "/"}
			if loc := re.FindStringIndex(s); loc != nil {
				r.Seen = "matched " + quoteExcerpt(lineAround(s, loc))
			} else {
				r.Passed, r.Seen = true, "no match"
			}
			out = append(out, r)
		}
	}
	stream("stdout", o.Stdout, c.Stdout, c.StdoutEx)
	stream("stderr", o.Stderr, c.Stderr, c.StderrEx)
	return out
}

// matchText is what the regular expressions of a stream or a file see: the
// text without its final newline, so that "^sdpa$" matches the output of
// `cat /etc/attention-backend`. Anchors match at the text's ends; (?m)
// makes them match at every line.
func matchText(b []byte) string {
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// outputContext quotes the end of stderr (else stdout), which usually says
// why a command failed.
func outputContext(o cmdOutcome) string {
	if l := lastLine(string(o.Stderr)); l != "" {
		return "stderr: " + l
	}
	if l := lastLine(string(o.Stdout)); l != "" {
		return "stdout: " + l
	}
	return ""
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n\t ")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return truncate(strings.TrimSpace(s), excerptLen)
}

// lineAround returns the line holding the match at loc.
func lineAround(s string, loc []int) string {
	start := strings.LastIndexByte(s[:loc[0]], '\n') + 1
	end := len(s)
	if i := strings.IndexByte(s[loc[1]:], '\n'); i >= 0 {
		end = loc[1] + i
	}
	if loc[1] > end {
		end = loc[1]
	}
	return strings.TrimRight(s[start:end], "\r")
}

// describeOutput says what a stream held, for a regex that did not match.
func describeOutput(s string) string {
	if s == "" {
		return "no output"
	}
	if len(s) <= excerptLen {
		return quoteExcerpt(s)
	}
	return "…" + strconv.Quote(validTail(s, excerptLen))
}

func quoteExcerpt(s string) string { return strconv.Quote(truncate(s, excerptLen)) }

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// validTail returns the last n bytes of s or fewer, starting on a rune.
func validTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

// fileOutcome is what the image holds at one path.
type fileOutcome struct {
	Exists bool
	// Mode is the file's type and permission bits as os.FileMode.
	Mode       os.FileMode
	UID, GID   uint32
	LinkTarget string
	// Content is the beginning of a regular file (nil when not read).
	Content []byte
}

// accounts maps user and group names of the image to ids, from its
// /etc/passwd and /etc/group.
type accounts struct {
	users, groups   map[string]uint32
	userOf, groupOf map[uint32]string
}

func parseAccounts(passwd, group []byte) accounts {
	a := accounts{users: map[string]uint32{}, groups: map[string]uint32{}, userOf: map[uint32]string{}, groupOf: map[uint32]string{}}
	read := func(b []byte, names map[string]uint32, of map[uint32]string) {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			f := strings.Split(sc.Text(), ":")
			if len(f) < 3 || strings.HasPrefix(f[0], "#") {
				continue
			}
			id, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				continue
			}
			if _, dup := names[f[0]]; !dup {
				names[f[0]] = uint32(id)
			}
			if _, dup := of[uint32(id)]; !dup {
				of[uint32(id)] = f[0]
			}
		}
	}
	read(passwd, a.users, a.userOf)
	read(group, a.groups, a.groupOf)
	return a
}

// resolve turns a user or group (a number or a name) into an id; root is 0
// even in an image without /etc/passwd.
func (a accounts) resolve(s string, names map[string]uint32) (uint32, bool) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), true
	}
	if id, ok := names[s]; ok {
		return id, true
	}
	if s == "root" {
		return 0, true
	}
	return 0, false
}

// unixMode turns os.FileMode's permission and special bits into the octal
// form users write ("4755").
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= 04000
	}
	if m&os.ModeSetgid != 0 {
		u |= 02000
	}
	if m&os.ModeSticky != 0 {
		u |= 01000
	}
	return u
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// checkFile judges one path against its expectations.
func checkFile(f *fileSpec, o fileOutcome, acc accounts) []testResult {
	prefix := "file " + f.Path + ": "
	ex := testResult{Name: prefix + "exists", Expected: "present", Seen: "absent"}
	if !f.Exists {
		ex.Expected = "absent"
	}
	if o.Exists {
		ex.Seen = "present (" + fileKind(o.Mode) + ")"
		if o.LinkTarget != "" {
			ex.Seen = "present (a symbolic link to " + o.LinkTarget + ")"
		}
	}
	ex.Passed = o.Exists == f.Exists
	out := []testResult{ex}
	if !o.Exists || !f.Exists {
		return out
	}
	if f.Mode != nil {
		got := unixMode(o.Mode)
		out = append(out, testResult{Name: prefix + "mode", Expected: fmt.Sprintf("%04o", *f.Mode), Seen: fmt.Sprintf("%04o", got), Passed: got == *f.Mode})
	}
	if f.Owner != "" {
		out = append(out, checkOwner(prefix, f.Owner, o, acc))
	}
	if f.Content != nil {
		r := testResult{Name: prefix + "content", Expected: "matches /" + f.Content.String() + "/"}
		switch {
		case !o.Mode.IsRegular():
			r.Seen = "not a regular file (" + fileKind(o.Mode) + ")"
		default:
			s := matchText(o.Content)
			if loc := f.Content.FindStringIndex(s); loc != nil {
				r.Passed, r.Seen = true, quoteExcerpt(lineAround(s, loc))
			} else {
				r.Seen = describeOutput(s)
			}
		}
		out = append(out, r)
	}
	return out
}

func checkOwner(prefix, owner string, o fileOutcome, acc accounts) testResult {
	r := testResult{Name: prefix + "owner", Expected: owner}
	seen := fmt.Sprintf("%d:%d", o.UID, o.GID)
	if u, g := acc.userOf[o.UID], acc.groupOf[o.GID]; u != "" || g != "" {
		seen += fmt.Sprintf(" (%s:%s)", orDash(u), orDash(g))
	}
	r.Seen = seen
	user, group, err := parseOwner(owner)
	if err != nil {
		r.Seen += "; " + err.Error()
		return r
	}
	uid, ok := acc.resolve(user, acc.users)
	if !ok {
		r.Seen += "; user " + user + " is not in the image's /etc/passwd"
		return r
	}
	r.Passed = uid == o.UID
	if group != "" {
		gid, ok := acc.resolve(group, acc.groups)
		if !ok {
			r.Passed = false
			r.Seen += "; group " + group + " is not in the image's /etc/group"
			return r
		}
		r.Passed = r.Passed && gid == o.GID
	}
	return r
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkMetadata judges the image config: env and labels must contain the
// given pairs, the rest must equal.
func checkMetadata(m *metadataSpec, f *imageFacts) []testResult {
	var out []testResult
	env := map[string]string{}
	for _, kv := range f.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	pairs := func(kind string, want, have map[string]string) {
		for _, k := range sortedKeys(want) {
			r := testResult{Name: "metadata: " + kind + " " + k, Expected: strconv.Quote(want[k]), Seen: "unset"}
			if v, ok := have[k]; ok {
				r.Seen, r.Passed = strconv.Quote(v), v == want[k]
			}
			out = append(out, r)
		}
	}
	pairs("env", m.Env, env)
	pairs("label", m.Labels, f.Labels)
	list := func(name string, want, have []string) {
		out = append(out, testResult{Name: "metadata: " + name, Expected: jsonList(want), Seen: jsonList(have), Passed: slices.Equal(want, have)})
	}
	if m.HasEntry {
		list("entrypoint", m.Entrypoint, f.Entry)
	}
	if m.HasCmd {
		list("cmd", m.Cmd, f.Cmd)
	}
	str := func(name string, want *string, have string) {
		if want != nil {
			out = append(out, testResult{Name: "metadata: " + name, Expected: strconv.Quote(*want), Seen: strconv.Quote(have), Passed: *want == have})
		}
	}
	str("workdir", m.Workdir, f.Workdir)
	str("user", m.User, f.User)
	exposed := map[string]bool{}
	for _, p := range f.Ports {
		exposed[normalizePort(p)] = true
	}
	seen := make([]string, 0, len(exposed))
	for p := range exposed {
		seen = append(seen, p)
	}
	sort.Strings(seen)
	seenText := "none exposed"
	if len(seen) > 0 {
		seenText = "exposed: " + strings.Join(seen, ", ")
	}
	for _, p := range m.Ports {
		np := normalizePort(p)
		out = append(out, testResult{Name: "metadata: exposed port " + np, Expected: "exposed", Seen: seenText, Passed: exposed[np]})
	}
	return out
}

// normalizePort writes "8188" as "8188/tcp".
func normalizePort(p string) string {
	if strings.Contains(p, "/") {
		return strings.ToLower(p)
	}
	return p + "/tcp"
}

func jsonList(ss []string) string {
	if ss == nil {
		ss = []string{}
	}
	b, _ := json.Marshal(ss)
	return string(b)
}
