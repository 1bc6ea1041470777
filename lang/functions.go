package lang

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns the functions available to expressions: cty's standard
// library under Terraform's names, hashing and encoding helpers, file
// functions that resolve relative paths against dir and record what they
// read in rec (which may be nil), and parse_size.
//
// Sensitive marks propagate through every function: cty strips the marks
// of arguments a function does not handle itself and puts them on the
// result.
//
// The table is built once per record (or, for a nil record, once per dir)
// and shared: the engine asks for it for every expression it evaluates.
// Callers must not modify it.
func Functions(dir string, rec *FileRecord) map[string]function.Function {
	if rec == nil {
		if fs, ok := dirFunctions.Load(dir); ok {
			return fs.(map[string]function.Function)
		}
		fs, _ := dirFunctions.LoadOrStore(dir, buildFunctions(dir, nil))
		return fs.(map[string]function.Function)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.funcs == nil || rec.funcsDir != dir {
		rec.funcs, rec.funcsDir = buildFunctions(dir, rec), dir
	}
	return rec.funcs
}

// dirFunctions caches the tables of Functions(dir, nil) by dir: variable
// validations ask for one per variable.
var dirFunctions sync.Map

func buildFunctions(dir string, rec *FileRecord) map[string]function.Function {
	fs := make(map[string]function.Function, len(pureFunctions)+8)
	for name, f := range pureFunctions {
		fs[name] = f
	}
	for name, f := range fileFunctions(dir, rec) {
		fs[name] = f
	}
	return fs
}

// pureFunctions are the functions that depend on nothing but their
// arguments; they are built once.
var pureFunctions = map[string]function.Function{
	// numeric
	"abs":      stdlib.AbsoluteFunc,
	"ceil":     stdlib.CeilFunc,
	"floor":    stdlib.FloorFunc,
	"log":      floatFunc2("log", "Returns the logarithm of num in the given base.", "base", func(n, b float64) float64 { return math.Log(n) / math.Log(b) }),
	"max":      stdlib.MaxFunc,
	"min":      stdlib.MinFunc,
	"parseint": stdlib.ParseIntFunc,
	"pow":      floatFunc2("pow", "Returns num raised to the given power.", "power", math.Pow),
	"signum":   stdlib.SignumFunc,
	"sum":      sumFunc,

	// string
	"chomp":        stdlib.ChompFunc,
	"endswith":     stringPredicate("endswith", strings.HasSuffix),
	"format":       stdlib.FormatFunc,
	"formatlist":   stdlib.FormatListFunc,
	"indent":       indentFunc,
	"join":         stdlib.JoinFunc,
	"lower":        stdlib.LowerFunc,
	"regex":        stdlib.RegexFunc,
	"regexall":     stdlib.RegexAllFunc,
	"regexreplace": stdlib.RegexReplaceFunc,
	"replace":      replaceFunc,
	"split":        stdlib.SplitFunc,
	"startswith":   stringPredicate("startswith", strings.HasPrefix),
	"strcontains":  stringPredicate("strcontains", strings.Contains),
	"strrev":       stdlib.ReverseFunc,
	"substr":       stdlib.SubstrFunc,
	"title":        stdlib.TitleFunc,
	"trim":         stdlib.TrimFunc,
	"trimprefix":   stdlib.TrimPrefixFunc,
	"trimspace":    stdlib.TrimSpaceFunc,
	"trimsuffix":   stdlib.TrimSuffixFunc,
	"upper":        stdlib.UpperFunc,

	// collection
	"alltrue":         boolReduceFunc(true),
	"anytrue":         boolReduceFunc(false),
	"chunklist":       stdlib.ChunklistFunc,
	"coalesce":        coalesceFunc,
	"coalescelist":    stdlib.CoalesceListFunc,
	"compact":         stdlib.CompactFunc,
	"concat":          stdlib.ConcatFunc,
	"contains":        stdlib.ContainsFunc,
	"distinct":        stdlib.DistinctFunc,
	"element":         stdlib.ElementFunc,
	"flatten":         stdlib.FlattenFunc,
	"keys":            stdlib.KeysFunc,
	"length":          lengthFunc,
	"lookup":          stdlib.LookupFunc,
	"merge":           stdlib.MergeFunc,
	"range":           stdlib.RangeFunc,
	"reverse":         stdlib.ReverseListFunc,
	"setintersection": stdlib.SetIntersectionFunc,
	"setproduct":      stdlib.SetProductFunc,
	"setsubtract":     stdlib.SetSubtractFunc,
	"setunion":        stdlib.SetUnionFunc,
	"slice":           stdlib.SliceFunc,
	"sort":            stdlib.SortFunc,
	"values":          stdlib.ValuesFunc,
	"zipmap":          stdlib.ZipmapFunc,

	// conversion
	"tobool":   stdlib.MakeToFunc(cty.Bool),
	"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
	"tonumber": stdlib.MakeToFunc(cty.Number),
	"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tostring": stdlib.MakeToFunc(cty.String),
	"try":      tryfunc.TryFunc,
	"can":      tryfunc.CanFunc,

	// encoding and hashing
	"base64decode": base64DecodeFunc,
	"base64encode": stringFunc("base64encode", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
	"csvdecode":    stdlib.CSVDecodeFunc,
	"jsondecode":   stdlib.JSONDecodeFunc,
	"jsonencode":   stdlib.JSONEncodeFunc,
	"md5":          hashFunc("md5", md5.New),
	"sha1":         hashFunc("sha1", sha1.New),
	"sha256":       hashFunc("sha256", sha256.New),
	"sha512":       hashFunc("sha512", sha512.New),
	"urlencode":    stringFunc("urlencode", url.QueryEscape),

	// date and time (no timestamp(): a plan must not change by itself)
	"formatdate": stdlib.FormatDateFunc,
	"timeadd":    stdlib.TimeAddFunc,

	// sizes
	"parse_size": parseSizeFunc,

	// sensitivity
	"sensitive":    sensitiveFunc,
	"nonsensitive": nonsensitiveFunc,
}

// Files returns what file functions saw so far: absolute path → hex sha256
// of the content for the files they read, or "exists" or "absent" for a
// path that only fileexists asked about. A saved plan digests it, so that
// it is stale when any of these answers changes.
func (r *FileRecord) Files() map[string]string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.files)+len(r.probed))
	for path, exists := range r.probed {
		out[path] = "absent" // nothing there, or not a regular file
		if exists {
			out[path] = "exists"
		}
	}
	// The content, where it was read, says more than "exists"; keeping the
	// two apart makes the result the same in whichever order they came.
	for path, sum := range r.files {
		out[path] = sum
	}
	return out
}

func (r *FileRecord) add(path, sum string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[string]string{}
	}
	r.files[path] = sum
}

func (r *FileRecord) probe(path string, exists bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probed == nil {
		r.probed = map[string]bool{}
	}
	r.probed[path] = exists
}

func stringFunc(name string, f func(string) string) function.Function {
	return function.New(&function.Spec{
		Description: name,
		Params:      []function.Parameter{{Name: "str", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(f(args[0].AsString())), nil
		},
	})
}

func stringPredicate(name string, f func(s, sub string) bool) function.Function {
	return function.New(&function.Spec{
		Description: name,
		Params: []function.Parameter{
			{Name: "str", Type: cty.String},
			{Name: "substr", Type: cty.String},
		},
		Type: function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

func hashFunc(name string, h func() hash.Hash) function.Function {
	return stringFunc(name, func(s string) string {
		sum := h()
		sum.Write([]byte(s))
		return hex.EncodeToString(sum.Sum(nil))
	})
}

var base64DecodeFunc = function.New(&function.Spec{
	Description: "Decodes a base64 string that holds UTF-8 text.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "invalid base64: %s", err)
		}
		if !utf8.Valid(b) {
			return cty.NilVal, function.NewArgErrorf(0, "the decoded bytes are not UTF-8 text")
		}
		return cty.StringVal(string(b)), nil
	},
})

// lengthFunc is cty's length that also counts the characters of a string
// and the attributes of an object, as Terraform's does.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of elements of a collection, attributes of an object, or characters of a string.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		if ty == cty.String || ty.IsObjectType() || ty.IsCollectionType() || ty.IsTupleType() || ty == cty.DynamicPseudoType {
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0, "argument must be a string, a collection or an object")
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		ty := v.Type()
		switch {
		case ty == cty.String:
			return stdlib.Strlen(v)
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		case ty == cty.DynamicPseudoType || (!v.IsKnown() && !ty.IsTupleType()):
			return cty.UnknownVal(cty.Number), nil
		}
		return v.Length(), nil
	},
})

// replaceFunc is Terraform's replace: a substring wrapped in slashes is a
// regular expression.
var replaceFunc = function.New(&function.Spec{
	Description: "Replaces each occurrence of substr in str (a regular expression when written /like this/).",
	Params: []function.Parameter{
		{Name: "str", Type: cty.String},
		{Name: "substr", Type: cty.String},
		{Name: "replace", Type: cty.String},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		str, sub, repl := args[0].AsString(), args[1].AsString(), args[2].AsString()
		if len(sub) > 1 && strings.HasPrefix(sub, "/") && strings.HasSuffix(sub, "/") {
			re, err := regexp.Compile(sub[1 : len(sub)-1])
			if err != nil {
				return cty.NilVal, function.NewArgErrorf(1, "invalid regular expression: %s", err)
			}
			return cty.StringVal(re.ReplaceAllString(str, repl)), nil
		}
		return cty.StringVal(strings.ReplaceAll(str, sub, repl)), nil
	},
})

// coalesceFunc is Terraform's coalesce: the first argument that is neither
// null nor an empty string (cty's skips only nulls).
var coalesceFunc = function.New(&function.Spec{
	Description: "Returns the first argument that is not null or an empty string.",
	VarParam: &function.Parameter{
		Name: "vals", Type: cty.DynamicPseudoType,
		AllowUnknown: true, AllowDynamicType: true, AllowNull: true,
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		types := make([]cty.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
		}
		ty, _ := convert.UnifyUnsafe(types)
		if ty == cty.NilType {
			return cty.NilType, errors.New("all arguments must have the same type")
		}
		return ty, nil
	},
	Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
		for _, a := range args {
			if !a.IsKnown() {
				return cty.UnknownVal(ty), nil
			}
			if a.IsNull() {
				continue
			}
			v, err := convert.Convert(a, ty)
			if err != nil {
				return cty.NilVal, err
			}
			if v.Type() == cty.String && v.AsString() == "" {
				continue
			}
			return v, nil
		}
		return cty.NilVal, errors.New("no argument is non-null and non-empty")
	},
})

// floatFunc2 is a two-argument float64 function that reports an undefined
// result (NaN) as an error; cty's log and pow panic on it.
func floatFunc2(name, desc, second string, f func(a, b float64) float64) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params: []function.Parameter{
			{Name: "num", Type: cty.Number},
			{Name: second, Type: cty.Number},
		},
		Type: function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			a, _ := args[0].AsBigFloat().Float64()
			b, _ := args[1].AsBigFloat().Float64()
			r := f(a, b)
			if math.IsNaN(r) {
				return cty.NilVal, fmt.Errorf("%s(%v, %v) is undefined", name, a, b)
			}
			return cty.NumberFloatVal(r), nil
		},
	})
}

// indentFunc is cty's indent, refusing a negative count instead of
// panicking on it.
var indentFunc = function.New(&function.Spec{
	Description: "Adds a given number of spaces after each newline character in the given string.",
	Params: []function.Parameter{
		{Name: "spaces", Type: cty.Number},
		{Name: "str", Type: cty.String},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, acc := args[0].AsBigFloat().Int64()
		if acc != big.Exact || n < 0 || n > 1<<20 {
			return cty.NilVal, function.NewArgErrorf(0, "the number of spaces must be a whole number from 0 to %d", 1<<20)
		}
		return cty.StringVal(strings.ReplaceAll(args[1].AsString(), "\n", "\n"+strings.Repeat(" ", int(n)))), nil
	},
})

var sumFunc = function.New(&function.Spec{
	Description: "Adds the numbers of a list.",
	Params:      []function.Parameter{{Name: "list", Type: cty.List(cty.Number)}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		total := cty.Zero
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() {
				return cty.NilVal, function.NewArgErrorf(0, "the list holds a null")
			}
			a, b := total.AsBigFloat(), v.AsBigFloat()
			if a.IsInf() && b.IsInf() && a.Sign() != b.Sign() {
				return cty.NilVal, errors.New("the sum of opposite infinities is undefined")
			}
			total = total.Add(v)
		}
		return total, nil
	},
})

// boolReduceFunc builds alltrue (all = true) and anytrue.
func boolReduceFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Description: "Reduces a list of bools.",
		Params:      []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:        function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					return cty.NilVal, function.NewArgErrorf(0, "the list holds a null")
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

var parseSizeFunc = function.New(&function.Spec{
	Description: `Converts a size such as "50GB", "24GiB" or "1.5 TB" to a number of bytes.`,
	Params:      []function.Parameter{{Name: "size", Type: cty.String}},
	Type:        function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		n, err := ParseSize(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, err)
		}
		return cty.NumberIntVal(n), nil
	},
})

var sensitiveFunc = function.New(&function.Spec{
	Description: "Marks a value as sensitive: it is never printed and is stored hashed.",
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return MarkSensitive(args[0]), nil
	},
})

var nonsensitiveFunc = function.New(&function.Spec{
	Description: "Removes the sensitive mark, for a value derived from a secret that is safe to show (such as its length).",
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, pvm := args[0].UnmarkDeepWithPaths()
		for i := range pvm {
			if _, ok := pvm[i].Marks[SensitiveMark]; ok {
				marks := cty.ValueMarks{}
				for m := range pvm[i].Marks {
					if m != SensitiveMark {
						marks[m] = struct{}{}
					}
				}
				pvm[i].Marks = marks
			}
		}
		return v.MarkWithPaths(pvm), nil
	},
})

// fileFunctions are the functions that touch the file system. Relative
// paths resolve against dir, not the process's working directory, so that
// -chdir and the CLI's location do not change what a config means.
func fileFunctions(dir string, rec *FileRecord) map[string]function.Function {
	resolve := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return filepath.Clean(p)
	}
	pathParam := []function.Parameter{{Name: "path", Type: cty.String}}
	pathFunc := func(desc string, f func(string) (cty.Value, error), ret cty.Type) function.Function {
		return function.New(&function.Spec{
			Description: desc,
			Params:      pathParam,
			Type:        function.StaticReturnType(ret),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return f(args[0].AsString())
			},
		})
	}
	readFile := func(p string) ([]byte, string, error) {
		abs := resolve(p)
		f, err := openRegular(p, abs)
		if err != nil {
			return nil, abs, err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, abs, function.NewArgError(0, pathError(p, err))
		}
		sum := sha256.Sum256(b)
		rec.add(abs, hex.EncodeToString(sum[:]))
		return b, abs, nil
	}
	return map[string]function.Function{
		"file": pathFunc("Reads a UTF-8 text file, relative to the configuration directory.", func(p string) (cty.Value, error) {
			b, _, err := readFile(p)
			if err != nil {
				return cty.NilVal, err
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "the file %s is not UTF-8 text; use filebase64 for binary files", p)
			}
			return cty.StringVal(string(b)), nil
		}, cty.String),
		"filebase64": pathFunc("Reads a file as base64, relative to the configuration directory.", func(p string) (cty.Value, error) {
			b, _, err := readFile(p)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(base64.StdEncoding.EncodeToString(b)), nil
		}, cty.String),
		"filesha256": pathFunc("Returns the hex sha256 of a file, relative to the configuration directory.", func(p string) (cty.Value, error) {
			abs := resolve(p)
			// Streamed: weight files are tens of gigabytes.
			f, err := openRegular(p, abs)
			if err != nil {
				return cty.NilVal, err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return cty.NilVal, function.NewArgError(0, pathError(p, err))
			}
			sum := hex.EncodeToString(h.Sum(nil))
			rec.add(abs, sum)
			return cty.StringVal(sum), nil
		}, cty.String),
		"fileexists": pathFunc("Reports whether a regular file exists, relative to the configuration directory.", func(p string) (cty.Value, error) {
			abs := resolve(p)
			st, err := os.Stat(abs)
			if err != nil && !os.IsNotExist(err) {
				return cty.NilVal, function.NewArgError(0, pathError(p, err))
			}
			exists := err == nil && st.Mode().IsRegular()
			rec.probe(abs, exists)
			return cty.BoolVal(exists), nil
		}, cty.Bool),
		"abspath": pathFunc("Makes a path absolute against the configuration directory.", func(p string) (cty.Value, error) {
			return cty.StringVal(resolve(p)), nil
		}, cty.String),
		"basename": pathFunc("Returns the last element of a path.", func(p string) (cty.Value, error) {
			if p == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the path is empty")
			}
			return cty.StringVal(filepath.Base(p)), nil
		}, cty.String),
		"dirname": pathFunc("Returns a path without its last element.", func(p string) (cty.Value, error) {
			if p == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the path is empty")
			}
			return cty.StringVal(filepath.Dir(p)), nil
		}, cty.String),
	}
}

// openRegular opens a regular file. Devices and pipes are refused: reading
// /dev/stdin or a FIFO would hang a plan.
func openRegular(p, abs string) (*os.File, error) {
	// Stat before opening: opening a FIFO for reading blocks by itself.
	if st, err := os.Stat(abs); err != nil {
		return nil, function.NewArgError(0, pathError(p, err))
	} else if !st.Mode().IsRegular() {
		return nil, function.NewArgErrorf(0, "%s is not a regular file", p)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, function.NewArgError(0, pathError(p, err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, function.NewArgError(0, pathError(p, err))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, function.NewArgErrorf(0, "%s is not a regular file", p)
	}
	return f, nil
}

// pathError words a file error with the path as the user wrote it; the
// absolute path would only add noise.
func pathError(p string, err error) error {
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("no file exists at %s (relative paths start at the configuration directory)", p)
	case os.IsPermission(err):
		return fmt.Errorf("cannot read %s: permission denied", p)
	}
	return fmt.Errorf("cannot read %s: %v", p, reason(err))
}
