package lang

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// eval parses and evaluates one expression in a scope.
func eval(t *testing.T, s *Scope, src string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.sdf.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %v", src, diags)
	}
	return expr.Value(s.EvalContext())
}

func strs(ss ...string) cty.Value {
	var vals []cty.Value
	for _, s := range ss {
		vals = append(vals, cty.StringVal(s))
	}
	return cty.ListVal(vals)
}

func TestFunctions(t *testing.T) {
	dir := writeDir(t, map[string]string{"a.txt": "hello\n", "sub/b.json": `{"k": [1, 2]}`})
	s := &Scope{Dir: dir}
	n := cty.NumberIntVal
	tests := map[string]struct {
		expr string
		want cty.Value
	}{
		"upper":            {`upper("fp8")`, cty.StringVal("FP8")},
		"lower":            {`lower("FP8")`, cty.StringVal("fp8")},
		"format":           {`format("%s-%03d", "v", 7)`, cty.StringVal("v-007")},
		"join":             {`join(",", ["a", "b"])`, cty.StringVal("a,b")},
		"split":            {`split(",", "a,b")`, strs("a", "b")},
		"replace":          {`replace("a.b.c", ".", "/")`, cty.StringVal("a/b/c")},
		"replace regex":    {`replace("fp16-v2", "/[0-9]+/", "N")`, cty.StringVal("fpN-vN")},
		"regexreplace":     {`regexreplace("ab12", "[0-9]", "")`, cty.StringVal("ab")},
		"regex":            {`regex("v([0-9]+)", "model-v12")`, cty.TupleVal([]cty.Value{cty.StringVal("12")})},
		"regexall":         {`length(regexall("[0-9]", "a1b2c3"))`, n(3)},
		"trimprefix":       {`trimprefix("hf://x", "hf://")`, cty.StringVal("x")},
		"trimsuffix":       {`trimsuffix("a.safetensors", ".safetensors")`, cty.StringVal("a")},
		"trimspace":        {`trimspace("  x \n")`, cty.StringVal("x")},
		"substr":           {`substr("sha256:abcdef", 7, 3)`, cty.StringVal("abc")},
		"startswith":       {`startswith("hf://x", "hf://")`, cty.True},
		"endswith":         {`endswith("a.json", ".yaml")`, cty.False},
		"strcontains":      {`strcontains("steadydancer", "dance")`, cty.True},
		"contains":         {`contains(["fp8", "fp16"], "fp16")`, cty.True},
		"length string":    {`length("héllo")`, n(5)},
		"length list":      {`length([1, 2, 3])`, n(3)},
		"length map":       {`length({a = 1, b = 2})`, n(2)},
		"keys":             {`keys({b = 1, a = 2})`, cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"values":           {`values({b = 1, a = 2})`, cty.TupleVal([]cty.Value{n(2), n(1)})},
		"lookup":           {`lookup({a = "x"}, "b", "dflt")`, cty.StringVal("dflt")},
		"merge":            {`merge({a = 1}, {a = 2, b = 3}).a`, n(2)},
		"concat":           {`concat(["a"], ["b", "c"])`, cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b"), cty.StringVal("c")})},
		"flatten":          {`length(flatten([[1, 2], [3], []]))`, n(3)},
		"distinct":         {`distinct(["a", "b", "a"])`, strs("a", "b")},
		"element":          {`element(["a", "b"], 3)`, cty.StringVal("b")},
		"coalesce":         {`coalesce("", null, "x")`, cty.StringVal("x")},
		"coalesce number":  {`coalesce(null, 2, "3")`, cty.StringVal("2")},
		"min max":          {`[min(3, 1, 2), max(3, 1, 2)]`, cty.TupleVal([]cty.Value{n(1), n(3)})},
		"pow log":          {`[pow(2, 10), log(8, 2)]`, cty.TupleVal([]cty.Value{n(1024), n(3)})},
		"indent":           {`indent(2, "a\nb")`, cty.StringVal("a\n  b")},
		"abs ceil floor":   {`[abs(-2), ceil(1.2), floor(1.8)]`, cty.TupleVal([]cty.Value{n(2), n(2), n(1)})},
		"sum":              {`sum([1, 2, 3.5])`, cty.NumberFloatVal(6.5)},
		"alltrue anytrue":  {`[alltrue([true, false]), anytrue([false, true]), alltrue([])]`, cty.TupleVal([]cty.Value{cty.False, cty.True, cty.True})},
		"tostring":         {`tostring(5)`, cty.StringVal("5")},
		"tonumber":         {`tonumber("5")`, n(5)},
		"tobool":           {`tobool("true")`, cty.True},
		"tolist":           {`tolist(["a"])`, strs("a")},
		"tomap":            {`tomap({a = "x"})`, cty.MapVal(map[string]cty.Value{"a": cty.StringVal("x")})},
		"toset":            {`length(toset(["a", "a"]))`, n(1)},
		"jsonencode":       {`jsonencode({a = [1, "x"]})`, cty.StringVal(`{"a":[1,"x"]}`)},
		"jsondecode":       {`jsondecode("{\"a\": 1}").a`, n(1)},
		"csvdecode":        {`csvdecode("a,b\n1,2\n")[0].b`, cty.StringVal("2")},
		"base64":           {`base64decode(base64encode("héllo"))`, cty.StringVal("héllo")},
		"sha256":           {`sha256("abc")`, cty.StringVal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")},
		"md5":              {`md5("abc")`, cty.StringVal("900150983cd24fb0d6963f7d28e17f72")},
		"sha1":             {`sha1("abc")`, cty.StringVal("a9993e364706816aba3e25717850c26c9cd0d89d")},
		"urlencode":        {`urlencode("a b&c")`, cty.StringVal("a+b%26c")},
		"formatdate":       {`formatdate("YYYY-MM-DD", "2024-03-05T10:00:00Z")`, cty.StringVal("2024-03-05")},
		"timeadd":          {`timeadd("2024-03-05T10:00:00Z", "90m")`, cty.StringVal("2024-03-05T11:30:00Z")},
		"parse_size":       {`parse_size("50GB")`, n(50_000_000_000)},
		"parse_size bin":   {`parse_size("24GiB")`, n(24 << 30)},
		"parse_size num":   {`parse_size(1024)`, n(1024)},
		"try":              {`try(jsondecode("nope"), "fallback")`, cty.StringVal("fallback")},
		"can":              {`can(regex("^[0-9]+$", "12a"))`, cty.False},
		"range zipmap":     {`zipmap(["a", "b"], range(2)).b`, n(1)},
		"basename dirname": {`[basename("a/b/c.json"), dirname("a/b/c.json")]`, cty.TupleVal([]cty.Value{cty.StringVal("c.json"), cty.StringVal("a/b")})},
		"abspath":          {`abspath("sub/b.json")`, cty.StringVal(filepath.Join(dir, "sub/b.json"))},
		"abspath absolute": {`abspath("/etc/../x")`, cty.StringVal("/x")},
		"file":             {`file("a.txt")`, cty.StringVal("hello\n")},
		"file json":        {`jsondecode(file("sub/b.json")).k[1]`, n(2)},
		"filebase64":       {`filebase64("a.txt")`, cty.StringVal("aGVsbG8K")},
		"fileexists":       {`[fileexists("a.txt"), fileexists("nope.txt"), fileexists("sub")]`, cty.TupleVal([]cty.Value{cty.True, cty.False, cty.False})},
		"path.module":      {`path.module`, cty.StringVal(dir)},
		"for expression":   {`[for k, v in {a = 1, b = 2} : "${k}=${v}"]`, cty.TupleVal([]cty.Value{cty.StringVal("a=1"), cty.StringVal("b=2")})},
		"splat":            {`[{n = 1}, {n = 2}][*].n`, cty.TupleVal([]cty.Value{n(1), n(2)})},
		"conditional":      {`1 > 2 ? "a" : "b"`, cty.StringVal("b")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, diags := eval(t, s, tc.expr)
			if diags.HasErrors() {
				t.Fatalf("%s: %v", tc.expr, diags)
			}
			if !got.RawEquals(tc.want) {
				// Numbers may differ in precision only; compare them by value.
				if got.Type() == cty.Number && tc.want.Type() == cty.Number && got.Equals(tc.want).True() {
					return
				}
				t.Errorf("%s = %#v, want %#v", tc.expr, got, tc.want)
			}
		})
	}
}

func TestFunctionErrors(t *testing.T) {
	dir := writeDir(t, map[string]string{"bin.dat": "\xff\xfe"})
	s := &Scope{Dir: dir}
	tests := map[string]struct {
		expr string
		want string
	}{
		"missing file":   {`file("nope.txt")`, "no file exists at nope.txt (relative paths start at the configuration directory)"},
		"binary file":    {`file("bin.dat")`, "not UTF-8 text; use filebase64"},
		"missing sha":    {`filesha256("nope.bin")`, "no file exists at nope.bin"},
		"bad size":       {`parse_size("lots")`, `invalid size "lots"`},
		"bad unit":       {`parse_size("5 XB")`, `unknown unit "XB"`},
		"bad base64":     {`base64decode("!!")`, "invalid base64"},
		"bad regex":      {`replace("a", "/(/", "b")`, "invalid regular expression"},
		"empty basename": {`basename("")`, "the path is empty"},
		"unknown func":   {`uppper("x")`, `There is no function named "uppper". Did you mean "upper"?`},
		"no timestamp":   {`timestamp()`, `There is no function named "timestamp"`},
		"wrong arg type": {`upper([1])`, "string required"},
		"length of bool": {`length(true)`, "must be a string, a collection or an object"},
		"null in sum":    {`sum([1, null])`, "null"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := eval(t, s, tc.expr)
			if !diags.HasErrors() {
				t.Fatalf("%s: want an error", tc.expr)
			}
			if msg := diags.Error(); !strings.Contains(msg, tc.want) {
				t.Errorf("%s: error %q lacks %q", tc.expr, msg, tc.want)
			}
			if diags[0].Subject == nil {
				t.Errorf("%s: error without a source range", tc.expr)
			}
		})
	}
}

func TestSensitivePropagation(t *testing.T) {
	s := &Scope{
		Dir: t.TempDir(),
		Vars: map[string]cty.Value{
			"token": MarkSensitive(cty.StringVal("hf_abc")),
			"size":  MarkSensitive(cty.StringVal("10GB")),
			"list":  cty.ListVal([]cty.Value{cty.StringVal("a"), MarkSensitive(cty.StringVal("b"))}),
			"plain": cty.StringVal("x"),
		},
	}
	tests := map[string]struct {
		expr      string
		sensitive bool
	}{
		"variable":       {`var.token`, true},
		"template":       {`"Bearer ${var.token}"`, true},
		"upper":          {`upper(var.token)`, true},
		"sha256":         {`sha256(var.token)`, true},
		"base64":         {`base64encode(var.token)`, true},
		"length":         {`length(var.token)`, true},
		"replace":        {`replace(var.token, "hf_", "")`, true},
		"format":         {`format("%s!", var.token)`, true},
		"join nested":    {`join(",", var.list)`, true},
		"jsonencode":     {`jsonencode({a = var.token})`, true},
		"merge":          {`merge({a = 1}, {b = var.token})`, true},
		"lookup":         {`lookup({a = var.token}, "a", "d")`, true},
		"coalesce":       {`coalesce(var.token, "x")`, true},
		"parse_size":     {`parse_size(var.size)`, true},
		"conditional":    {`true ? var.token : "x"`, true},
		"object":         {`{k = var.token}`, true},
		"for":            {`[for s in [var.token] : s]`, true},
		"tostring":       {`tostring(var.token)`, true},
		"try":            {`try(var.token, "x")`, true},
		"sensitive()":    {`sensitive(var.plain)`, true},
		"nonsensitive()": {`nonsensitive(var.token)`, false},
		"plain":          {`upper(var.plain)`, false},
		"other element":  {`var.list[0]`, false},
		"marked element": {`var.list[1]`, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, diags := eval(t, s, tc.expr)
			if diags.HasErrors() {
				t.Fatalf("%s: %v", tc.expr, diags)
			}
			if IsSensitive(got) != tc.sensitive {
				t.Errorf("IsSensitive(%s) = %v, want %v (value %#v)", tc.expr, !tc.sensitive, tc.sensitive, got)
			}
		})
	}
}

// TestFileFunctionsRelativeToDir checks that file functions resolve against
// Scope.Dir whatever the working directory, and record what they read.
func TestFileFunctionsRelativeToDir(t *testing.T) {
	dir := writeDir(t, map[string]string{"workflows/dance.json": `{"a":1}`, "weights.bin": "\x00\x01\x02"})
	t.Chdir(t.TempDir()) // a working directory without these files
	rec := &FileRecord{}
	s := &Scope{Dir: dir, Files: rec}
	for _, expr := range []string{`file("workflows/dance.json")`, `filesha256("weights.bin")`, `fileexists("workflows/dance.json")`} {
		if _, diags := eval(t, s, expr); diags.HasErrors() {
			t.Fatalf("%s: %v", expr, diags)
		}
	}
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	want := map[string]string{
		filepath.Join(dir, "workflows/dance.json"): sum(`{"a":1}`),
		filepath.Join(dir, "weights.bin"):          sum("\x00\x01\x02"),
	}
	got := rec.Files()
	if len(got) != len(want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
	for p, h := range want {
		if got[p] != h {
			t.Errorf("record[%s] = %q, want %q", p, got[p], h)
		}
	}
	v, _ := eval(t, s, `filesha256("weights.bin")`)
	if v.AsString() != sum("\x00\x01\x02") {
		t.Errorf("filesha256 = %s", v.AsString())
	}
	// A nil record is allowed: validation evaluates without one.
	if _, diags := eval(t, &Scope{Dir: dir}, `file("workflows/dance.json")`); diags.HasErrors() {
		t.Errorf("nil FileRecord: %v", diags)
	}
}

// TestFileExistsRecorded checks that fileexists records its answer, so that
// a saved plan made while a file was absent is stale once it appears, and
// that a file also read is recorded by its content whatever the order.
func TestFileExistsRecorded(t *testing.T) {
	dir := writeDir(t, map[string]string{"a.txt": "a\n", "sub/b.txt": "b\n"})
	sumA := sha256.Sum256([]byte("a\n"))
	tests := map[string]struct {
		exprs []string
		path  string // relative to dir
		want  string
	}{
		"present":          {exprs: []string{`fileexists("a.txt")`}, path: "a.txt", want: "exists"},
		"absent":           {exprs: []string{`fileexists("flag")`}, path: "flag", want: "absent"},
		"a directory":      {exprs: []string{`fileexists("sub")`}, path: "sub", want: "absent"},
		"probed then read": {exprs: []string{`fileexists("a.txt")`, `file("a.txt")`}, path: "a.txt", want: hex.EncodeToString(sumA[:])},
		"read then probed": {exprs: []string{`file("a.txt")`, `fileexists("a.txt")`}, path: "a.txt", want: hex.EncodeToString(sumA[:])},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &FileRecord{}
			s := &Scope{Dir: dir, Files: rec}
			for _, expr := range tc.exprs {
				if _, diags := eval(t, s, expr); diags.HasErrors() {
					t.Fatalf("%s: %v", expr, diags)
				}
			}
			got := rec.Files()
			if len(got) != 1 || got[filepath.Join(dir, tc.path)] != tc.want {
				t.Errorf("recorded %v, want %s → %q", got, tc.path, tc.want)
			}
		})
	}
}

// TestFunctionsBuiltOncePerRecord checks that the function table is cached:
// the engine builds an evaluation context for every node of every walk, and
// rebuilding some ninety functions each time cost about 5% of a no-op plan.
// The cache must still keep file reads apart per record.
func TestFunctionsBuiltOncePerRecord(t *testing.T) {
	dir := writeDir(t, map[string]string{"a.txt": "a\n"})
	other := writeDir(t, map[string]string{"a.txt": "other\n"})
	same := func(a, b map[string]function.Function) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	r1, r2 := &FileRecord{}, &FileRecord{}
	if !same(Functions(dir, r1), Functions(dir, r1)) {
		t.Error("Functions(dir, rec) built a new table for the same record")
	}
	if !same(Functions(dir, nil), Functions(dir, nil)) {
		t.Error("Functions(dir, nil) built a new table for the same directory")
	}
	if same(Functions(dir, r1), Functions(dir, r2)) || same(Functions(dir, nil), Functions(other, nil)) || same(Functions(dir, r1), Functions(other, r1)) {
		t.Fatal("two records or two directories share one table")
	}
	// Each table reads relative to its own directory into its own record.
	for _, tc := range []struct {
		dir  string
		rec  *FileRecord
		want string
	}{{dir, r1, "a\n"}, {other, r2, "other\n"}} {
		v, err := Functions(tc.dir, tc.rec)["file"].Call([]cty.Value{cty.StringVal("a.txt")})
		if err != nil || v.AsString() != tc.want {
			t.Errorf("file(a.txt) in %s = %#v, %v; want %q", tc.dir, v, err, tc.want)
		}
		if files := tc.rec.Files(); len(files) != 1 || files[filepath.Join(tc.dir, "a.txt")] == "" {
			t.Errorf("record of %s holds %v", tc.dir, files)
		}
	}
}

func BenchmarkEvalContext(b *testing.B) {
	s := &Scope{Dir: b.TempDir(), Vars: map[string]cty.Value{"v": cty.StringVal("x")}, Files: &FileRecord{}}
	for range b.N {
		_ = s.EvalContext()
	}
}
