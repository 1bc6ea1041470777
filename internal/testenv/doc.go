// Package testenv finds the real services that integration tests use — a
// BuildKit daemon, a Docker Engine, a registry and a busybox base image in
// each — from the environment that `ci/services.sh start` writes to
// .cache/services.env.
//
// Each helper returns the service's address, or ends the test: with Skip when
// the service is absent (its variable unset, or nothing answering there), so
// `go test ./...` passes on a laptop with nothing running; or with Fatal when
// SDFORM_REQUIRE_SERVICES=1, which CI sets, so that a green CI means the
// integration tests really ran.
//
//	func TestBuild(t *testing.T) {
//		addr := testenv.BuildKit(t)      // "unix:///tmp/…/buildkitd.sock"
//		base := testenv.BaseImage(t)     // "127.0.0.1:5000/base:busybox"
//		…
//	}
package testenv
