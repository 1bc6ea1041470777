// Package comfytest is a fake ComfyUI server for tests. It answers the
// routes sdform uses the way ComfyUI 0.8.0 answered them in
// testdata/transcript-0.8.0.json (captured from a real server): the same
// status codes, JSON shapes and WebSocket message sequences, the same
// validation of submitted prompts against /object_info, and real output
// files (PNG, animated WebP) for the no-model workflow EmptyImage →
// ImageInvert → SaveAnimatedWEBP plus SaveImage.
//
// Fault knobs in Options make it slow to start or never ready, fail a node
// with a traceback, hang until /interrupt, drop WebSockets mid-run or name
// hostile output files, so the client's error paths can be tested.
//
// It is a test helper: only _test.go files and the test-only command
// cmd/comfyui-fake import it; it is never part of the sdform binary.
package comfytest
