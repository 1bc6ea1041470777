package download

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Join returns modelsDir/rel after making sure rel stays inside modelsDir:
// rel must be relative and free of ".." escapes, and no symlink among the
// components that already exist may lead outside modelsDir (modelsDir itself
// may be a symlink, to a bigger disk say). A file created later through the
// returned path lands inside modelsDir.
func Join(modelsDir, rel string) (string, error) {
	if rel == "" {
		return "", fmt.Errorf("path is empty")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("path %q is absolute; it must be relative to the models folder", rel)
	}
	if filepath.Clean(rel) == "." {
		return "", fmt.Errorf("path %q names the models folder itself, not a file in it", rel)
	}
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q escapes the models folder", rel)
	}
	full := filepath.Join(modelsDir, rel)
	base, err := filepath.EvalSymlinks(modelsDir)
	if os.IsNotExist(err) {
		// Nothing exists yet, so nothing can point elsewhere.
		return full, nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", modelsDir, err)
	}
	// Resolve the longest existing prefix: components after it do not exist
	// and cannot be symlinks.
	at := full
	for {
		if _, err := os.Lstat(at); err == nil {
			break
		}
		if at == modelsDir || filepath.Dir(at) == at {
			return full, nil
		}
		at = filepath.Dir(at)
	}
	real, err := filepath.EvalSymlinks(at)
	if os.IsNotExist(err) {
		return "", fmt.Errorf("path %q: %s is a dangling symlink", rel, at)
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", at, err)
	}
	if r, err := filepath.Rel(base, real); err != nil || !filepath.IsLocal(r) && r != "." {
		return "", fmt.Errorf("path %q leads outside the models folder through a symlink (to %s)", rel, real)
	}
	return full, nil
}
