// Package dockerfile knows, before a build and without a BuildKit daemon,
// what building a Dockerfile will do: whether BuildKit accepts it, what its
// own linter says about it, whether the build args and secrets the resource
// passes fit its ARG and RUN --mount lines, which base images it needs, and
// which of its steps BuildKit will take from its cache.
//
// # BuildKit's code, not a re-implementation
//
// Parsing, linting and the expansion of ARG and ENV are BuildKit's own:
// dockerfile2llb.Dockerfile2LLB turns the Dockerfile into the LLB graph the
// daemon's frontend would build, with a resolver we supply for base image
// configs (the caller's BaseImageResolver, or a stand-in offline). Its lint
// warnings (every rule in frontend/dockerfile/linter) and its errors, with
// their Dockerfile lines, become Findings. Using its graph rather than
// instructions.Parse plus our own shell.Lex expansion is what makes the
// prediction right about which ARG and ENV values reach which RUN (global
// ARGs re-declared in a stage, ENV inherited from a base stage or image,
// SHELL, USER, WORKDIR, heredocs, ONBUILD, COPY --link, RUN --mount) without
// a second copy of those rules that would drift from BuildKit's.
//
// # Keys
//
// The marshalled ops' digests are not BuildKit's cache keys: the build
// context's source op carries a per-session attribute that every op
// downstream inherits. So each op gets a key of our own, following the
// CacheMap methods of BuildKit's solver/llbsolver/ops: a RUN is keyed by its
// ExecOp (command, environment, working directory, user, mounts, platform;
// proxy variables and selectors cleared as BuildKit clears them) and its
// parent's key; a COPY or ADD by its FileOp (destination, ownership, mode;
// only the source's base name) and the content of what it selects. Content
// is hashed like cache/contenthash does — names, file modes, link targets
// and file contents of the selected paths, after .dockerignore (BuildKit's
// own patternmatcher), never timestamps, owners (BuildKit's client sends
// them as 0) or directory modes (BuildKit updates a directory it received
// before without hashing it again) — so a change to an ignored file, or to
// a file the COPY does not select, changes nothing. ENV, ARG and
// LABEL are no ops of their own: ENV and the ARGs a stage declares are in
// each later RUN's environment and so in its key; LABEL is in neither. A
// base image is keyed by its resolved digest and platform. A local source
// that an op does not read by content — a stage FROM a named context, whose
// steps run on it — is keyed by BuildKit's build session, so those steps
// run at every build; the steps reading that stage's files by content
// (COPY --from) are still cached when the files come out the same.
//
// Where an input's content cannot be known at plan time — COPY --from or
// RUN --mount=from of a stage that will be rebuilt (its files may come out
// the same, and BuildKit would then find the COPY cached by content) — the
// step is Uncertain if some recorded build had the same step over the
// outputs that stage had then, and Run otherwise. A base image that is not
// resolved (offline, or the resolver failed) makes every step over it
// Uncertain, since its config's environment reaches every RUN. An ADD of
// a URL without --checksum is Uncertain too: BuildKit checks the URL at
// build time.
//
// What reaches only the image config (ENV, CMD, LABEL, USER…, and the
// history of the target's instructions) is digested apart
// (Result.ImageConfig), from the config dockerfile2llb builds, so that a
// caller can tell "same image" from the keys and that digest without the
// Dockerfile's text: a comment or a blank line changes neither.
//
// # History
//
// A key recorded at any earlier build counts as cached, since BuildKit keeps
// a step's cache until it is pruned (KeyHistory). Besides the steps' keys,
// a build records keys of its parts (each environment variable a RUN sees,
// the files each COPY selects, the base image, what each stage produced),
// which let the plan say why a step runs ("build arg VARIANT changed",
// "files changed: requirements.txt") and match a rebuilt stage's possible
// outputs.
//
// # Steps and vertices
//
// The steps are the ops BuildKit numbers in its progress ("[deps 2/5] RUN
// …"): RUN, COPY, ADD, and also WORKDIR, which BuildKit runs as a mkdir
// and reports cached or not like any other step. FROM is numbered but is a
// pull, not a step. Identical ops are one op, in LLB as in BuildKit's
// progress: the same RUN on the same base in two stages is one step, at
// its first line. Match and Compare pair steps with the vertices of a real
// solve by those names, so that a plan's claim can be checked against what
// BuildKit did; a test replays a recorded scenario of real builds
// (testdata/buildkit) and, with a daemon at hand, runs it again.
//
// # Lint
//
// Lint is the analysis without the prediction, for checks that must be
// cheap: every finding Analyze would report, but context sources are only
// looked up (does the path exist, does .dockerignore exclude it), never
// walked or hashed.
//
// # Context stat cache
//
// Hashing what COPY selects reads the files once; their digests are kept in
// a small file per context directory (under Input.CacheDir), keyed by path
// and stat (size, mtime, ctime, inode, mode), so an unchanged context is
// only stat'ed on the next plan. A file changed within a second of being
// hashed is not trusted (git's racily-clean rule). The stats are taken
// relative to each directory and several directories at a time, since on
// virtual machines a stat's round trip dominates a no-op plan.
//
// # Limits
//
// The prediction is only as good as the recorded history: a cache BuildKit
// pruned, or filled by builds sdform did not record, is invisible to it.
// A named context that replaces a stage is reported, not modelled. Keys are
// computed with the Dockerfile frontend of the buildkit module sdform is
// built with; a daemon whose frontend (a "# syntax=" image, an old Docker
// Engine) builds different LLB can disagree, which Compare reports.
package dockerfile
