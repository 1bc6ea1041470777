package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// OutputRef is one file a run wrote, as its history entry names it.
type OutputRef struct {
	Node      string
	Key       string // "images", "gifs", "audio", …
	Filename  string
	Subfolder string
	Type      string // "output", "temp" or "input"
}

// OutputsOf lists every file in a history entry's outputs: any object with
// filename, subfolder and type under any list-valued key of a node's
// output (images, gifs for VideoHelperSuite, audio, …). Nodes in id order,
// keys in name order, duplicates once.
func OutputsOf(outputs map[string]map[string]json.RawMessage) []OutputRef {
	ids := make([]string, 0, len(outputs))
	for id := range outputs {
		ids = append(ids, id)
	}
	sortIDs(ids)
	seen := map[[3]string]bool{}
	var refs []OutputRef
	for _, id := range ids {
		keys := make([]string, 0, len(outputs[id]))
		for k := range outputs[id] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var items []json.RawMessage
			if json.Unmarshal(outputs[id][k], &items) != nil {
				continue
			}
			for _, it := range items {
				var f struct {
					Filename  *string `json:"filename"`
					Subfolder *string `json:"subfolder"`
					Type      *string `json:"type"`
				}
				if json.Unmarshal(it, &f) != nil || f.Filename == nil || f.Subfolder == nil || f.Type == nil {
					continue
				}
				key := [3]string{*f.Type, *f.Subfolder, *f.Filename}
				if seen[key] {
					continue
				}
				seen[key] = true
				refs = append(refs, OutputRef{Node: id, Key: k, Filename: *f.Filename, Subfolder: *f.Subfolder, Type: *f.Type})
			}
		}
	}
	return refs
}

// File is an output fetched to local disk.
type File struct {
	Ref OutputRef
	// Path is where it was written; Rel the same relative to the output
	// folder.
	Path, Rel string
	SHA256    string
	Bytes     int64
	Media
}

// LocalName is where ref goes inside the output folder: its subfolder and
// filename ("sdform/still_00001_.png"), under "temp/" or "input/" for
// those types. A name that could leave the folder — "..", an absolute
// path, a separator inside the filename — is refused.
func LocalName(ref OutputRef) (string, error) {
	bad := func(what, v string) error {
		return fmt.Errorf("refuse output %s %q of node %s: it could write outside the output folder", what, v, ref.Node)
	}
	name := ref.Filename
	if name == "" || name == "." || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") || strings.ContainsRune(name, 0) {
		return "", bad("filename", name)
	}
	var parts []string
	switch ref.Type {
	case "output":
	case "temp", "input":
		parts = append(parts, ref.Type)
	default:
		return "", fmt.Errorf("refuse output %q of node %s: unknown type %q", name, ref.Node, ref.Type)
	}
	if ref.Subfolder != "" {
		if strings.HasPrefix(ref.Subfolder, "/") || strings.Contains(ref.Subfolder, `\`) || strings.ContainsRune(ref.Subfolder, 0) {
			return "", bad("subfolder", ref.Subfolder)
		}
		for _, p := range strings.Split(ref.Subfolder, "/") {
			if p == "" || p == "." || p == ".." {
				return "", bad("subfolder", ref.Subfolder)
			}
			parts = append(parts, p)
		}
	}
	return filepath.Join(append(parts, name)...), nil
}

// Fetch downloads each output through /view into dir, hashing as it
// writes, and inspects the file's format. A file is written under a
// temporary name and renamed when complete.
func (c *Client) Fetch(ctx context.Context, refs []OutputRef, dir string) ([]File, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var files []File
	used := map[string]OutputRef{}
	for _, ref := range refs {
		rel, err := LocalName(ref)
		if err != nil {
			return files, err
		}
		// "temp/a.png" is both a temp file and an output in subfolder
		// temp: the second would overwrite the first, whose sha256 is
		// already recorded.
		if prev, ok := used[rel]; ok {
			return files, fmt.Errorf("refuse output %q (%s) of node %s: it would overwrite %q (%s) of node %s at %s",
				ref.Filename, ref.Type, ref.Node, prev.Filename, prev.Type, prev.Node, rel)
		}
		used[rel] = ref
		path := filepath.Join(root, rel)
		if r, err := filepath.Rel(root, path); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return files, fmt.Errorf("refuse output %q of node %s: it resolves outside %s", ref.Filename, ref.Node, root)
		}
		f, err := c.fetchOne(ctx, ref, path)
		if err != nil {
			return files, err
		}
		f.Rel = rel
		files = append(files, *f)
	}
	return files, nil
}

func (c *Client) fetchOne(ctx context.Context, ref OutputRef, path string) (*File, error) {
	q := url.Values{"filename": {ref.Filename}, "subfolder": {ref.Subfolder}, "type": {ref.Type}}
	resp, err := c.do(ctx, http.MethodGet, "/view", q, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch output %s: %w", ref.Filename, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch output %s of node %s: %w", ref.Filename, ref.Node,
			&StatusError{Method: http.MethodGet, Path: "/view", Status: resp.Status, Body: readLimited(resp.Body, 256)})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), resp.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("fetch output %s: %w", ref.Filename, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	m, err := InspectFile(path)
	if err != nil {
		return nil, err
	}
	return &File{Ref: ref, Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n, Media: m}, nil
}
