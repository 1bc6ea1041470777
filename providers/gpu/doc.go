// Package gpu is the "gpu" provider: it answers, through NVIDIA's NVML
// (github.com/NVIDIA/go-nvml), whether this machine can run the image being
// built, before anything expensive starts.
//
// It owns two types:
//
//   - data "gpu_host": the driver version, the CUDA version the driver
//     supports, the NVML version and one object per device (name, UUID,
//     memory, compute capability, PCI bus id, temperature and power where
//     the device reports them).
//   - resource "gpu_requirement": a test-like resource (Schema.Test, verb
//     "check") stating what the host must offer — a number of GPUs, memory,
//     compute capability, name patterns, a minimum CUDA version and the CUDA
//     version of an image. PlanResource evaluates it against NVML, so an
//     unmet requirement fails the plan with an error naming the device and
//     the numbers; when the image's CUDA version is only known after its
//     build, ApplyResource checks it right after the build.
//
// The CUDA rule: a driver supports every CUDA runtime up to the version
// NVML reports (nvmlSystemGetCudaDriverVersion_v2, 13000 → "13.0"), so an
// image whose CUDA major.minor is newer than that fails on this host. Patch
// levels ("12.4.1") do not matter to the driver and are ignored.
//
// NVML needs cgo (go-nvml dlopens libnvidia-ml.so.1). The binding lives in
// nvml.go behind the cgo build tag; without cgo, nocgo.go reports that NVML
// is unavailable, which the provider treats like a machine without a driver,
// so `CGO_ENABLED=0 go build ./...` still builds sdform. The rest of the
// package works on plain Host values, so its logic does not depend on cgo.
//
// A machine without a driver or without a GPU is an error, unless the block
// sets optional = true: then it is a warning, gpu_host's values are null or
// empty and gpu_requirement reports met = false, so one configuration plans
// on a laptop and checks for real on the GPU machine.
package gpu
