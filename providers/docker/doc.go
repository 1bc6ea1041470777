// Package docker is sdform's docker provider: docker_image resources built
// through the BuildKit client, read back from the Docker Engine's image store
// or a registry, and promoted (tags moved) only after their tests pass.
//
// The builder is chosen by `provider "docker" { buildkit = … }`:
//
//   - "docker" (default): the local Docker Engine's own BuildKit, reached
//     through the Engine API's /grpc and /session hijacks as buildx's docker
//     driver does. Images land in the Engine's store (moby exporter) and are
//     read back through the Engine API; pushes go through the Engine's
//     image-push API.
//   - "unix://…", "tcp://…" (TLS via ca_cert, cert, key, server_name): a
//     standalone buildkitd. Images are exported with the image exporter and,
//     with push = true, read back from the registry with go-containerregistry.
//   - "docker-container://NAME": a buildkitd inside a container of the Docker
//     Engine, reached by `buildctl dial-stdio` over the Engine's exec API (no
//     docker CLI needed).
//
// Connections open lazily on first need so that plan works on a machine with
// no daemon: it then says, as warnings and plan details, what it cannot know,
// and apply fails fast naming the address it tried.
//
// What the builder can do is detected, never assumed: the Docker Engine 20.10
// built-in BuildKit (v0.8) answers Info with Unimplemented, knows only the
// moby exporter, ignores push=true and has no named contexts; sdform then
// pushes through the Engine, refuses named contexts with a diagnostic, and
// says so in the plan.
//
// A build never moves a user's tags: the image is exported under candidate
// tags ("<repo>:<tag>-sdform-candidate") and Promote, called by the engine
// after every test of the image passed, moves the real tags and records the
// digests they pointed to before, for rollback.
package docker
