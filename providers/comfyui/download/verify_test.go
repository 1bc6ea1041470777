package download

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openWatch counts, through inotify, how often anyone opened or read path
// since the previous call.
// It observes the kernel, not our code, so it cannot be fooled by a code
// path that forgets to report a read.
func openWatch(t *testing.T, path string) func() int {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_OPEN|syscall.IN_ACCESS); err != nil {
		t.Fatalf("watch %s: %v", path, err)
	}
	return func() int {
		count := 0
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if n <= 0 || err != nil {
				return count
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafePointer(&buf[off]))
				count++
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	content := randomContent(3<<20, 12)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := HashFile(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SHA256 != sum256(content) || rec.Stat.Size != int64(len(content)) || rec.Stat.Inode == 0 || rec.Stat.CtimeNs == 0 {
		t.Fatalf("record %+v", rec)
	}

	opens := openWatch(t, path)
	// The watch itself works: a read is seen.
	os.ReadFile(path)
	if opens() == 0 {
		t.Fatal("inotify saw no open for a read; the check below would prove nothing")
	}

	got, trusted, err := Verify(ctx, path, rec, func(Progress) { t.Error("progress for a trusted file") })
	if err != nil || !trusted || got != rec {
		t.Fatalf("unchanged file: trusted=%v rec=%+v err=%v", trusted, got, err)
	}
	if n := opens(); n != 0 {
		t.Fatalf("Verify of an unchanged file opened or read it (%d inotify events)", n)
	}

	cases := map[string]struct {
		change  func(t *testing.T)
		sameSum bool
	}{
		// touch: content equal, mtime and ctime moved → re-hashed, same sum.
		"touched": {change: func(t *testing.T) {
			now := time.Now().Add(time.Hour)
			os.Chtimes(path, now, now)
		}, sameSum: true},
		// rewritten with the old mtime put back: ctime still moves.
		"rewritten, mtime restored": {change: func(t *testing.T) {
			fi, _ := os.Stat(path)
			b := append([]byte(nil), content...)
			b[100] ^= 1
			os.WriteFile(path, b, 0o644)
			os.Chtimes(path, fi.ModTime(), fi.ModTime())
		}},
		// replaced by another file of the same size: a new inode.
		"replaced": {change: func(t *testing.T) {
			tmp := path + ".new"
			b := append([]byte(nil), content...)
			b[0] ^= 1
			os.WriteFile(tmp, b, 0o644)
			os.Rename(tmp, path)
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(path, content, 0o644)
			base, err := HashFile(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // ctime granularity
			tc.change(t)
			var reports []Progress
			got, trusted, err := Verify(ctx, path, base, func(p Progress) { reports = append(reports, p) })
			if err != nil || trusted {
				t.Fatalf("changed file: trusted=%v err=%v", trusted, err)
			}
			if (got.SHA256 == base.SHA256) != tc.sameSum {
				t.Fatalf("sum %s after change, before %s; same expected: %v", got.SHA256, base.SHA256, tc.sameSum)
			}
			if got.Stat == base.Stat {
				t.Fatal("stat record unchanged after the change")
			}
			if len(reports) == 0 || reports[len(reports)-1].Done != int64(len(content)) || reports[0].Phase != "verify" {
				t.Fatalf("re-hash progress %+v", reports)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	root := t.TempDir()
	models := filepath.Join(root, "models")
	outside := filepath.Join(root, "elsewhere")
	for _, d := range []string{filepath.Join(models, "diffusion_models"), filepath.Join(models, "vae"), outside} {
		os.MkdirAll(d, 0o755)
	}
	os.Symlink(outside, filepath.Join(models, "loras"))                     // dir symlink out
	os.Symlink(filepath.Join(models, "vae"), filepath.Join(models, "vae2")) // dir symlink in
	os.Symlink(filepath.Join(outside, "x"), filepath.Join(models, "vae", "evil.safetensors"))
	os.Symlink(filepath.Join(root, "big"), filepath.Join(root, "linked-models")) // models dir itself a link
	os.MkdirAll(filepath.Join(root, "big", "clip"), 0o755)

	cases := map[string]struct {
		models, rel string
		wantErr     string
	}{
		"plain":                    {models: models, rel: "diffusion_models/WanVideo/x.safetensors"},
		"not yet existing":         {models: filepath.Join(root, "fresh"), rel: "a/b.bin"},
		"symlink inside":           {models: models, rel: "vae2/y.safetensors"},
		"models dir is a symlink":  {models: filepath.Join(root, "linked-models"), rel: "clip/z.safetensors"},
		"dot segments inside":      {models: models, rel: "vae/../vae/y.bin"},
		"absolute":                 {models: models, rel: "/etc/passwd", wantErr: "is absolute"},
		"dotdot escape":            {models: models, rel: "../elsewhere/x", wantErr: "escapes the models folder"},
		"dotdot deep escape":       {models: models, rel: "vae/../../x", wantErr: "escapes the models folder"},
		"symlinked dir out":        {models: models, rel: "loras/x.safetensors", wantErr: "through a symlink"},
		"dangling symlink to file": {models: models, rel: "vae/evil.safetensors", wantErr: "dangling symlink"},
		"empty":                    {models: models, rel: "", wantErr: "empty"},
		"the folder itself":        {models: models, rel: "vae/..", wantErr: "models folder itself"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Join(tc.models, tc.rel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Join(%q) = %q, %v; want error %q", tc.rel, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(tc.models, tc.rel); got != want {
				t.Fatalf("Join = %q, want %q", got, want)
			}
		})
	}
}

func TestFreeSpaceAndPartialBytes(t *testing.T) {
	dir := t.TempDir()
	free, asked, err := FreeSpace(filepath.Join(dir, "not", "yet", "there.bin"))
	if err != nil || free <= 0 || asked != dir {
		t.Fatalf("FreeSpace = %d at %s, %v; want > 0 at %s", free, asked, err, dir)
	}
	dest := filepath.Join(dir, "m.bin")
	r := &Remote{URL: "http://127.0.0.1:1/m.bin", Size: 1000, AcceptRanges: true}
	if n := PartialBytes(dest, r); n != 0 {
		t.Fatalf("PartialBytes with no partial = %d", n)
	}
	os.WriteFile(PartialPath(dest), make([]byte, 300), 0o644)
	if n := PartialBytes(dest, r); n != 300 {
		t.Fatalf("PartialBytes of a 300-byte prefix = %d", n)
	}
	sc := sidecar{Version: sidecarVersion, URL: r.URL, Size: 1000, Sparse: true, Written: spanSet{{0, 100}, {500, 600}}}
	os.Truncate(PartialPath(dest), 1000)
	b, _ := jsonMarshal(sc)
	os.WriteFile(SidecarPath(dest), b, 0o644)
	if n := PartialBytes(dest, r); n != 200 {
		t.Fatalf("PartialBytes of a sparse partial with 200 written = %d", n)
	}
	r2 := *r
	r2.ETag = "changed"
	if n := PartialBytes(dest, &r2); n != 0 {
		t.Fatalf("PartialBytes for a changed remote = %d", n)
	}
}
