package state

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnmarshal feeds arbitrary bytes to the state decoder: a state file is
// user input (hand edits, merges, truncation), so it may be refused but must
// never panic, and whatever it accepts must write back and read back the
// same.
func FuzzUnmarshal(f *testing.F) {
	for _, glob := range []string{"testdata/*.json", "testdata/valid/*.json", "testdata/corrupt/*.json"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version":1,"lineage":"x","resources":[{"address":"a.b","mode":"managed","attributes":{"value":[{"a":{"value":"s","type":"string"}},{"a":{"value":1,"type":"number"}}],"type":["list",["object",{"a":"dynamic"}]]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := unmarshal(data)
		if err != nil {
			return
		}
		out, err := marshal(st)
		if err != nil {
			t.Fatalf("accepted state does not marshal: %v", err)
		}
		again, err := unmarshal(out)
		if err != nil {
			t.Fatalf("re-marshalled state does not read back: %v\n%s", err, out)
		}
		assertSameFile(t, st, again)
	})
}
