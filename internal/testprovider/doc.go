// Package testprovider is a provider for engine tests. It owns the "test_"
// types and exercises every part of the provider contract without any
// external system:
//
//   - test_thing: a managed resource with an optional name (updated in
//     place), a ForceNew variant, build-arg-like args whose changed keys the
//     provider reports in RequiresReplace, a sensitive secret, computed id,
//     out and digest attributes, a nested "step" block list and a labelled
//     "port" block map. fail = true makes apply fail, sleep = "50ms" makes it
//     take that long (cancellable), input_file is fingerprinted and a line
//     starting with ERROR in it is reported with File/Line. It is a
//     Promoter's object: "promoted" says whether its last Promote passed,
//     and until one does it is pending (PromotionPending) and plans an
//     update "not promoted yet", as a docker image whose tags did not move.
//   - test_test: a Test resource (Verb "run") that can be told to fail.
//   - test_data: a data source.
//
// Managed objects live in a "world": one JSON file per object under
// Env.DataDir/testworld, so that two processes see the same objects and a
// test can change or delete them to simulate drift (SetAttr, DeleteObject).
// Every call is logged with start and end times (Events) so that tests can
// assert the order and overlap of a parallel walk.
package testprovider
