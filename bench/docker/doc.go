// Package dockerbench measures what sdform's docker provider adds to a
// BuildKit build: the same Dockerfile built on the same standalone BuildKit
// by `buildctl build` and by the provider's ApplyResource, interleaved, with
// the median of several runs of each compared.
//
// It runs only when asked (SDFORM_BENCH=1) and needs the test services
// (ci/services.sh): a BuildKit daemon, its buildctl and the registry's base
// image. See overhead_test.go for the exact command and the scenarios.
package dockerbench
