package dockerfile

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Status is what a plan expects BuildKit to do with a step.
type Status int

const (
	// Cached: the step's key was recorded at an earlier build and nothing
	// it depends on is unknown at plan time.
	Cached Status = iota
	// Run: no recorded build had this step with these inputs.
	Run
	// Uncertain: the step is cached only if something the plan cannot see
	// is unchanged (the files a rebuilt stage produces, an unresolved base
	// image, a remote URL's content).
	Uncertain
)

func (s Status) String() string {
	switch s {
	case Cached:
		return "cached"
	case Run:
		return "run"
	}
	return "uncertain"
}

// MarshalText makes Status read as a word in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Status) UnmarshalText(b []byte) error {
	switch string(b) {
	case "cached":
		*s = Cached
	case "run":
		*s = Run
	case "uncertain":
		*s = Uncertain
	default:
		return fmt.Errorf("unknown step status %q", b)
	}
	return nil
}

// Step is one Dockerfile instruction BuildKit shows as a step of its own:
// RUN, COPY, ADD, and WORKDIR (a mkdir BuildKit numbers and caches like the
// others). ENV, ARG, LABEL, USER, CMD… are not steps; they reach the keys
// of the steps they affect.
type Step struct {
	// Stage is the stage's name as BuildKit prints it ("deps", "stage-1");
	// empty in a single-stage Dockerfile.
	Stage string
	// Line is the instruction's first Dockerfile line.
	Line int
	// Instruction is short text for display ("RUN pip install -r requi…"),
	// after ARG/ENV substitution, with secret-looking values masked.
	Instruction string
	// Vertex is the name BuildKit gives the step's vertex
	// ("[deps 2/5] RUN pip install -r requirements.txt"), masked likewise.
	Vertex string
	// Key identifies the step with all its inputs; the same key at an
	// earlier build means BuildKit has the result cached.
	Key    string
	Status Status
	// CachedFrom is the time of the build the cached result comes from,
	// set only when that is not the most recent recorded build.
	CachedFrom time.Time
	// Reason says why the step runs or may run (empty when cached).
	Reason string
}

// Location is "Dockerfile:42".
func (s Step) Location(file string) string { return fmt.Sprintf("%s:%d", file, s.Line) }

// Prediction is which steps of the target BuildKit will take from its cache.
type Prediction struct {
	// File is the Dockerfile's name in messages.
	File string
	// Steps are in Dockerfile order.
	Steps                    []Step
	Cached, ToRun, Uncertain int
	// FirstChange is the earliest step that runs because of a change of
	// its own (not because a step before it runs); nil when none runs.
	FirstChange *Step
	// Summary is one line for the plan: "14 cached, 6 to run (first change:
	// Dockerfile:42 RUN pip install …)".
	Summary string
	// Unresolved are the base images the plan could not resolve.
	Unresolved []string
	// Unpinned are the remote sources steps of the target take without a
	// checksum (ADD <url> without --checksum, ADD <git URL>): BuildKit
	// fetches them at every build and runs what follows if they changed,
	// which no history tells, so those steps stay Uncertain.
	Unpinned []string
	// Keys are what to record (KeyHistory.Record) once this build has
	// succeeded, if its inputs did not change in between; Keys(ctx, in)
	// computes them afresh after the build.
	Keys []string
}

// summarize fills the counts, FirstChange and Summary.
func (p *Prediction) summarize(conditions []string, noHistory bool, latest time.Time) {
	var oldest time.Time
	older := map[time.Time]bool{}
	for i := range p.Steps {
		s := &p.Steps[i]
		switch s.Status {
		case Cached:
			p.Cached++
			if !s.CachedFrom.IsZero() {
				older[s.CachedFrom] = true
				if oldest.IsZero() || s.CachedFrom.Before(oldest) {
					oldest = s.CachedFrom
				}
			}
		case Run:
			p.ToRun++
		case Uncertain:
			p.Uncertain++
		}
	}
	if len(p.Steps) == 0 {
		p.Summary = "no build steps"
		return
	}
	var parts []string
	if p.Cached > 0 {
		part := fmt.Sprintf("%d cached", p.Cached)
		switch len(older) {
		case 0:
		case 1:
			part += fmt.Sprintf(" (from the build of %s)", oldest.Format("2006-01-02 15:04"))
		default:
			part += fmt.Sprintf(" (from builds back to %s)", oldest.Format("2006-01-02 15:04"))
		}
		parts = append(parts, part)
	}
	if p.ToRun > 0 {
		part := fmt.Sprintf("%d to run", p.ToRun)
		switch {
		case noHistory:
			part += " (no earlier build recorded)"
		case p.FirstChange != nil:
			part += fmt.Sprintf(" (first change: %s %s)", p.FirstChange.Location(p.File), p.FirstChange.Instruction)
		}
		parts = append(parts, part)
	}
	if p.Uncertain > 0 {
		cond := strings.Join(conditions, " or ")
		if p.ToRun > 0 {
			parts = append(parts, fmt.Sprintf("up to %d more if %s", p.Uncertain, cond))
		} else {
			parts = append(parts, fmt.Sprintf("up to %d to run if %s", p.Uncertain, cond))
		}
	}
	p.Summary = strings.Join(parts, ", ")
}

// cause is something the plan cannot know that decides whether a step is
// cached.
type cause struct {
	kind    causeKind
	subject string // stage name, image reference or URL
	err     error  // why an image was not resolved, when it failed
}

type causeKind int

const (
	stageContent causeKind = iota
	imageContent
	unresolvedImage
	remoteContent
)

// reason is the step's side: why it may run.
func (c cause) reason() string {
	switch c.kind {
	case stageContent:
		return fmt.Sprintf("stage %s runs and may produce different files", c.subject)
	case imageContent:
		return fmt.Sprintf("image %s changed and may hold different files", c.subject)
	case unresolvedImage:
		if c.err != nil {
			return fmt.Sprintf("base image %s not resolved (%v)", c.subject, c.err)
		}
		return fmt.Sprintf("base image %s not resolved (offline)", c.subject)
	}
	return fmt.Sprintf("content of %s is not checked at plan time", c.subject)
}

// condition is the summary's side: what would make the steps run.
func (c cause) condition() string {
	switch c.kind {
	case stageContent:
		return fmt.Sprintf("stage %s produces different files", c.subject)
	case imageContent:
		return fmt.Sprintf("image %s holds different files", c.subject)
	case unresolvedImage:
		if c.err != nil {
			return fmt.Sprintf("base image %s changed (could not be resolved)", c.subject)
		}
		return fmt.Sprintf("base image %s changed (not resolved offline)", c.subject)
	}
	return fmt.Sprintf("%s changed", c.subject)
}

func (c cause) id() string { return fmt.Sprintf("%d\x00%s", c.kind, c.subject) }

type causeSet map[string]cause

func (s causeSet) add(cs causeSet) {
	for k, c := range cs {
		s[k] = c
	}
}

func (s causeSet) sorted() []cause {
	out := make([]cause, 0, len(s))
	for _, c := range s {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}
