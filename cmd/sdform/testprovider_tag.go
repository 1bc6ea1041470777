//go:build sdform_testprovider

package main

import "github.com/sdform/sdform/internal/testprovider"

// Built with -tags sdform_testprovider, the binary also knows the engine's
// test provider ("test_" types), for whole-process benchmarks and
// end-to-end scripts that need no Docker or GPU.
func init() { extraFactories["test"] = testprovider.New }
