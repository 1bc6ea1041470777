// Package docker is sdform's docker provider: docker_image resources built
// through the BuildKit client, read back from the Docker Engine's image store,
// a registry or BuildKit's content store, and promoted (tags moved) only
// after their tests pass.
//
// The builder is chosen by `provider "docker" { buildkit = … }`:
//
//   - "docker" (default): the local Docker Engine's own BuildKit, reached
//     through the Engine API's /grpc and /session hijacks as buildx's docker
//     driver does. Images land in the Engine's store (moby exporter) and are
//     read back through the Engine API; pushes go through the Engine's
//     image-push API. An ssh:// Engine address is reached as the docker CLI
//     reaches it (`ssh … HOST docker system dial-stdio`).
//   - "unix://…", "tcp://…" (TLS via ca_cert, cert, key, server_name): a
//     standalone buildkitd. Images are exported with the image exporter and
//     read back from the registry when pushed, else from BuildKit's content
//     store.
//   - "docker-container://NAME": a buildkitd inside a container of the Docker
//     Engine, reached by `buildctl dial-stdio` over the Engine's exec API (no
//     docker CLI needed).
//   - "kube-pod://POD?namespace=…&context=…&container=…" and
//     "ssh://USER@HOST[:PORT][/SOCKET]": a buildkitd in a Kubernetes pod or
//     on another host, reached through BuildKit's own connection helpers,
//     which run `kubectl exec -i POD -- buildctl dial-stdio` or
//     `ssh … HOST buildctl dial-stdio`. Like unix:// and tcp://, otherwise.
//
// Connections open lazily on first need so that plan works on a machine with
// no daemon: it then says, as warnings and plan details, what it cannot know,
// and apply fails fast naming the address it tried and how to start one.
//
// What the builder can do is detected, never assumed: the Docker Engine 20.10
// built-in BuildKit (v0.8) answers Info with Unimplemented, knows only the
// moby exporter, ignores push=true, has no named contexts and parses
// Dockerfiles with syntax 1.2 (no heredocs, no COPY --link); sdform then
// pushes through the Engine, refuses named contexts and newer syntax with a
// diagnostic, and says so in the plan.
//
// Plan asks package dockerfile which steps BuildKit will take from its cache
// (against the step keys of every recorded build, kept in the resource's
// private state) and digests those keys with what reaches only the image
// config into a fingerprint: an equal fingerprint is a no-op with no solve,
// unless a step downloads a URL without a checksum (ADD <url> without
// --checksum), whose content only a build can check.
// After a build the prediction is compared with the cached flags of
// BuildKit's status stream, and every disagreement is recorded
// (prediction_missed) and printed. An image deleted outside sdform reads as
// gone, and its rebuild is predicted with the builds recorded before, whose
// steps BuildKit still has cached. A tag sdform set that was moved or
// removed outside sdform (in the Engine, or in the registry when the image
// is pushed) is drift of that tag alone: it leaves the state, and the plan
// points it back with an update, no build.
//
// A build never moves a user's tags: the image is exported under candidate
// tags ("<repo>:<tag>-sdform-candidate-<hash of the object's address>", so
// that no two objects share one), and Promote, called by the engine after
// every test of the image passed, moves the real tags, records what each
// pointed to before and keeps that image under "<tag>-sdform-previous" (in
// the registry too when the image is pushed), so that a prune does not
// delete what Rollback moves the tags back to; the tags the configuration
// no longer lists are removed. Destroy removes the tags sdform set; while a
// container uses an image it would delete, it removes nothing and fails,
// as `docker rmi` without -f does. A pushed image's tag
// in a repository it was not pushed to gets a copy of the manifest there.
// Plan refuses two docker_image objects with one tag, as each promotion
// would take it from the other.
package docker
