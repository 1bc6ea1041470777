// Package providers is the contract between sdform's engine and the things it
// manages. It holds interfaces and request/response types, nothing else: the
// engine (package planner) never imports a concrete provider, and a provider
// never imports the engine.
//
// A provider owns every resource and data type whose name starts with its
// name and an underscore: the "docker" provider owns docker_image and
// docker_image_test, "comfyui" owns comfyui_model and comfyui_workflow, "gpu"
// owns gpu_host (data) and gpu_requirement. The Registry maps type names to
// providers by that prefix.
//
// The life of a provider within one command:
//
//	p := factory()                          // no I/O
//	p.Schema()                              // types, attributes, blocks
//	p.Configure(ctx, ConfigureRequest{...}) // connections open here
//	p.ValidateResource(...)                 // offline checks, during validate and plan
//	p.ReadResource(...) / p.ReadData(...)   // refresh and data sources, during plan
//	p.PlanResource(...)                     // what would change and why
//	p.ApplyResource(...)                    // during apply only
//	p.Close()                               // connections close here, always called
//
// How the three providers map onto it:
//
//   - docker: Configure dials the builder (Docker Engine /grpc or a BuildKit
//     address) lazily, so plan works without a daemon. PlanResource parses and
//     lints the Dockerfile, predicts per-step cache hits and reports them in
//     PlanResponse.Details; the step keys travel in Private. ApplyResource
//     builds; promotion of tags after tests is the optional Promoter.
//   - comfyui: comfyui_model plans by a HEAD request (size, sha256, commit)
//     and applies by a resumable, verifying download; its stat record lives in
//     Private so the next plan trusts the file without reading it.
//     comfyui_workflow validates against the server's /object_info and runs the
//     workflow as a test (Schema.Verb "run").
//   - gpu: gpu_host is a data source read through NVML at plan time;
//     gpu_requirement is a check-like resource whose PlanResponse carries an
//     error diagnostic when the host does not meet it.
//
// Values cross the contract as cty.Value shaped by the type's Schema. Values
// not yet known (an image id before its build) are cty unknowns; a provider
// must accept unknowns in PlanResource and ValidateResource.
package providers
