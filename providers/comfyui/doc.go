// Package comfyui is sdform's ComfyUI provider. It owns the resource types
// whose names start with "comfyui_":
//
//   - comfyui_model (model.go): one weight file in ComfyUI's models folder,
//     downloaded from Hugging Face or an http(s) URL, or copied from a local
//     file (file:///ABS, or file:PATH relative to the configuration
//     directory), by package download and keyed by its sha256. The stat
//     record of the verified file lives in the resource's private data, so
//     the next plan trusts the file without reading it. A file belongs to
//     one object: a second one at the same file fails to plan
//     (model_owner.go).
//   - comfyui_workflow (workflow.go, the client in package workflow): a
//     workflow run against a ComfyUI server, started from an image in the
//     Docker Engine or reached at a URL, recorded as a test of the image and
//     weights it used with the fingerprint of everything it read, so that it
//     runs again only when one of them changed, or when the output files it
//     recorded (the evidence that it passed) were deleted or modified. A
//     run's outputs replace the recorded ones only when it passes
//     (workflow_outputs.go).
//
// The ComfyUI containers (server.go) are shared: the runs of one apply, and
// the applies of other sdform processes on the host, that ask for the same
// image id and settings use one container. Locks in a folder of the
// host (server_lock.go) say who still uses which container, so that no run
// removes or stops one that another run is using or starting. A container
// an apply killed before it could stop it left is removed by the next apply
// that runs its workflow, or by its destroy; plan warns of it.
//
// Variant selection is plain HCL, maps and conditionals on a variable:
//
//	locals {
//	  files  = { fp8 = "model_fp8_scaled.safetensors", fp16 = "model_fp16.safetensors" }
//	}
//	resource "comfyui_model" "steadydancer" {
//	  source = "hf://Kijai/WanVideo_comfy@<commit>/SteadyDancer/${local.files[var.variant]}"
//	  path   = "diffusion_models/WanVideo/SteadyDancer/${local.files[var.variant]}"
//	}
//
// The workflow then names the file as ComfyUI lists it:
// comfyui_model.steadydancer.name ("WanVideo/SteadyDancer/model_fp8_scaled.safetensors").
//
// Each type is a small value behind the resourceType interface in
// provider.go; the Provider only configures shared settings and dispatches.
//
// When a comfyui_model plan touches the network: never when the recorded
// file is still there with the same stat (size, mtime, ctime, inode,
// device) and the config asks for the same source, sha256 and size; then
// the plan is a stat(2) and no more. Anything else — a missing or changed
// file, a new source, sha256 or size — needs one HEAD request to say what
// will be downloaded. Consequently a branch revision (hf://…@main/…) is not
// re-checked while its file stays intact: pin a commit, or use -replace, to
// pick up a moved branch.
package comfyui
