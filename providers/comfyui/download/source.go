package download

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub used when neither the provider nor
// HF_ENDPOINT names another one (a mirror).
const DefaultEndpoint = "https://huggingface.co"

// Source is a parsed `source` argument.
type Source struct {
	// Raw is the source as written.
	Raw string
	// Hub is true for hf:// sources.
	Hub bool
	// RepoType is "" for models, "datasets" or "spaces" (hf://datasets/…).
	RepoType string
	// Repo is "ORG/REPO", Revision the branch, tag or commit ("main" when
	// the source names none), Path the file inside the repository.
	Repo, Revision, Path string
	// URL is the http(s) URL of a plain source; nil for the hub and for
	// local files.
	URL *url.URL
	// File is the local path of a file: source, absolute or relative to
	// the configuration directory (Client.BaseDir); empty otherwise.
	File string
}

var (
	repoPart  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitHex = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// IsSHA256 reports whether s is a lower-case hex sha256 digest.
func IsSHA256(s string) bool { return sha256Hex.MatchString(s) }

// ParseSource parses "hf://[datasets/|spaces/]ORG/REPO[@REVISION]/PATH", an
// http(s) URL, or a local file: "file:///ABSOLUTE/PATH" or
// "file:RELATIVE/PATH". A revision containing "/" (refs/pr/1) is written
// escaped (refs%2Fpr%2F1), as the hub itself writes it in URLs.
func ParseSource(raw string) (Source, error) {
	s := Source{Raw: raw}
	if strings.HasPrefix(raw, "file:") {
		return parseFileSource(s)
	}
	if rest, ok := strings.CutPrefix(raw, "hf://"); ok {
		s.Hub = true
		for _, t := range []string{"datasets/", "spaces/"} {
			if r, ok := strings.CutPrefix(rest, t); ok {
				s.RepoType, rest = strings.TrimSuffix(t, "/"), r
			}
		}
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 || parts[2] == "" {
			return s, fmt.Errorf("parse source %q: want hf://ORG/REPO@REVISION/PATH", raw)
		}
		org, repo, path := parts[0], parts[1], parts[2]
		rev := "main"
		if r, after, ok := strings.Cut(repo, "@"); ok {
			repo, rev = r, after
			if rev == "" {
				return s, fmt.Errorf("parse source %q: empty revision after @", raw)
			}
		}
		if !repoPart.MatchString(org) || !repoPart.MatchString(repo) {
			return s, fmt.Errorf("parse source %q: %q is not a repository name", raw, org+"/"+repo)
		}
		if unescaped, err := url.PathUnescape(rev); err != nil || strings.ContainsAny(unescaped, "\x00") {
			return s, fmt.Errorf("parse source %q: bad revision %q", raw, rev)
		}
		for _, seg := range strings.Split(path, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return s, fmt.Errorf("parse source %q: bad file path %q", raw, path)
			}
		}
		s.Repo, s.Revision, s.Path = org+"/"+repo, rev, path
		return s, nil
	}
	u, err := parseURL(raw)
	if err != nil {
		return s, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("parse source %q: want hf://ORG/REPO@REVISION/PATH or an http(s) URL (or file:PATH for a local file)", Redact(raw))
	}
	s.URL = u
	return s, nil
}

// parseURL is url.Parse with an error that quotes the source redacted:
// url.Error quotes it whole, password included.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("parse source %q: %w", Redact(raw), err)
	}
	return u, nil
}

// parseFileSource parses a file: source. "file:///ABS" (or
// file://localhost/ABS, file:/ABS) names an absolute path; "file:REL", with
// no slashes after the colon, a path relative to the configuration
// directory, so that a configuration checked in beside its weights works
// from any checkout. "file://NAME/…" is refused: file URLs carry no host,
// and reading NAME as the first directory would surprise.
func parseFileSource(s Source) (Source, error) {
	u, err := parseURL(s.Raw)
	if err != nil {
		return s, err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return s, fmt.Errorf("parse source %q: a file URL takes no query or fragment", s.Raw)
	}
	var p string
	switch {
	case u.Opaque != "":
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return s, fmt.Errorf("parse source %q: %w", s.Raw, err)
		}
	case u.Host == "" || u.Host == "localhost":
		p = u.Path
	default:
		return s, fmt.Errorf("parse source %q: a file URL names no host; write file:///ABSOLUTE/PATH or file:RELATIVE/PATH (relative to the configuration directory)", s.Raw)
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return s, fmt.Errorf("parse source %q: names no file", s.Raw)
	}
	s.File = filepath.FromSlash(p)
	return s, nil
}

// IsCommit reports whether the revision is a full commit hash, the only kind
// of revision that cannot move.
func (s Source) IsCommit() bool { return commitHex.MatchString(s.Revision) }

// FileName is the last element of the file's path.
func (s Source) FileName() string {
	if s.File != "" {
		return filepath.Base(s.File)
	}
	p := s.Path
	if !s.Hub {
		p = s.URL.Path
	}
	return p[strings.LastIndex(p, "/")+1:]
}

// resolveURL is the hub's download URL for the file at a revision:
// {endpoint}/[TYPE/]ORG/REPO/resolve/REV/PATH.
func (s Source) resolveURL(endpoint *url.URL, rev string) *url.URL {
	u := *endpoint
	segs := []string{strings.TrimSuffix(u.Path, "/")}
	if s.RepoType != "" {
		segs = append(segs, s.RepoType)
	}
	segs = append(segs, s.Repo, "resolve", rev)
	for _, p := range strings.Split(s.Path, "/") {
		segs = append(segs, url.PathEscape(p))
	}
	u.RawPath = strings.Join(segs, "/")
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery, u.Fragment = "", ""
	return &u
}

// Redact returns a source or URL fit for messages: as written, so that the
// user recognises it, but without user info (user:password@) and with the
// query string, where signed CDN URLs carry credentials, shortened to "…".
func Redact(raw string) string {
	s, _, _ := strings.Cut(raw, "#")
	if base, query, ok := strings.Cut(s, "?"); ok && query != "" {
		s = base + "?…"
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || strings.EqualFold(scheme, "hf") {
		// No authority, or the hub's ORG/REPO@REVISION, whose @ is no
		// user info.
		return s
	}
	// User info ends at the last @ of the authority, which ends at the
	// first "/" for url.Parse. Where url.Parse fails the URL is malformed
	// anyway, and everything up to the last @ goes, in case a password
	// holds a "/".
	authority := rest
	if _, err := url.Parse(raw); err == nil {
		authority, _, _ = strings.Cut(rest, "/")
	}
	authority, _, _ = strings.Cut(authority, "?")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		s = scheme + "://" + rest[at+1:]
	}
	return s
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	c.Fragment = ""
	return c.String()
}
