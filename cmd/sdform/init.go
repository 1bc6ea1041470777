package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sdform/sdform/lang"
)

const initUsage = `Usage: sdform init [options]

Starts a configuration in the current directory: writes main.sdf.hcl (an
image built from ./Dockerfile, a size check and an output) unless a
*.sdf.hcl file is already there, and adds .sdform/ (state, caches, partial
downloads) to .gitignore. Running it again changes nothing.

Examples:
  sdform init
  sdform -chdir=images/comfyui init
  sdform init -from-compose docker-compose.yml
`

// starterConfig is what init writes: small, valid, and commented so that a
// newcomer sees the shape of a real configuration.
const starterConfig = `# sdform configuration: what to build, download and test.
# "sdform plan" shows what would happen and why; "sdform apply" does it.

sdform {
  required_version = ">= 0.1"
}

variable "tag" {
  type        = string
  default     = "my-image:dev"
  description = "Tag given to the image once it is built and its checks pass."
}

# The image, built with BuildKit from ./Dockerfile.
resource "docker_image" "app" {
  context    = "."
  dockerfile = "Dockerfile"
  tags       = [var.tag]
}

# Checks run after apply; a failed assert fails the run.
check "size" {
  assert {
    condition     = docker_image.app.size < 50 * 1000 * 1000 * 1000
    error_message = "The image is over 50 GB."
  }
}

output "image_id" {
  value = docker_image.app.id
}
`

func (c *cli) runInit(ctx context.Context, args []string) int {
	fset := c.commandFlags("init")
	fromCompose := fset.String("from-compose", "", "Start from the build sections of a docker compose `FILE` instead of the starter")
	rest, code, ok := c.parse(fset, args, initUsage)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("init", fmt.Sprintf("init takes no arguments, got %q (use -chdir=DIR for another directory)", rest))
	}
	existing, err := filepath.Glob("*" + lang.FileSuffix)
	if err != nil {
		return c.fail(err)
	}
	if len(existing) > 0 {
		fmt.Fprintf(c.stdout, "Found %s: left the configuration as it is.\n", strings.Join(existing, ", "))
	} else {
		config, what := []byte(starterConfig), "an image built from ./Dockerfile, a size check and an output"
		if *fromCompose != "" {
			if config, what, err = composeStarter(*fromCompose); err != nil {
				return c.fail(err)
			}
		}
		if err := os.WriteFile("main"+lang.FileSuffix, config, 0o644); err != nil {
			return c.fail(fmt.Errorf("write main%s: %w", lang.FileSuffix, err))
		}
		fmt.Fprintf(c.stdout, "Wrote main%s: %s.\n", lang.FileSuffix, what)
	}
	added, err := ensureGitignore(".gitignore", ".sdform/")
	if err != nil {
		return c.fail(err)
	}
	if added {
		fmt.Fprintln(c.stdout, "Added .sdform/ to .gitignore: sdform keeps its state, caches and partial downloads there.")
	}
	fmt.Fprint(c.stdout, `
Next:
  sdform validate   check the configuration (offline)
  sdform plan       see what apply would do, and why
  sdform apply      do it
`)
	return exitOK
}

// ensureGitignore adds entry to the .gitignore at path unless a line
// already ignores it.
func ensureGitignore(path, entry string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	want := strings.TrimSuffix(entry, "/")
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/") == want {
			return false, nil
		}
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(entry + "\n")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
