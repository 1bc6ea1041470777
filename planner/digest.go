package planner

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"path/filepath"
	"strings"

	"github.com/sdform/sdform/lang"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// inputsDigest digests what a plan was made from: every configuration
// file's bytes, the variable values (sensitive ones redacted) and the files
// that file functions read. A saved plan is stale when it changes. Variables
// files count by the values they give, not their bytes: a comment edited
// there, or a sensitive value given again from another source, changes no
// plan.
func (r *run) inputsDigest() string {
	h := sha256.New()
	for _, name := range sortedKeys(r.c.cfg.Files) {
		if !strings.HasSuffix(name, lang.FileSuffix) {
			continue
		}
		// The base name only: the directory depends on how sdform was
		// started (-chdir), not on the configuration.
		writeField(h, "file", filepath.Base(name))
		if f := r.c.cfg.Files[name]; f != nil {
			writeField(h, "", string(f.Bytes))
		}
	}
	for _, name := range sortedKeys(r.vars) {
		v, pvm := unmarkDeepWithPaths(r.vars[name])
		v = Redact(v, sensitiveFromMarks(pvm), r.key)
		writeField(h, "var", name)
		if !v.IsWhollyKnown() {
			writeField(h, "", "(unknown)")
			continue
		}
		b, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
		if err != nil {
			b = []byte(v.GoString())
		}
		writeField(h, "", string(b))
	}
	read := r.files.Files()
	for _, path := range sortedKeys(read) {
		writeField(h, "read", path)
		writeField(h, "", read[path])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// writeField writes a length-prefixed field, so that no two different
// sequences of fields hash alike.
func writeField(h hash.Hash, tag, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(tag)))
	h.Write(n[:])
	h.Write([]byte(tag))
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
