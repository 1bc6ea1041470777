# The GPU check on its own: what NVML says about this machine, one
# requirement that an H100 or H200 meets and one that no single machine
# does, so that `sdform plan` shows both answers. On a machine without an
# NVIDIA driver the plan says so and fails; -var optional=true turns that
# into warnings.
#
#   CGO_ENABLED=1 go build -o .device/sdform ./cmd/sdform
#   ./.device/sdform -chdir=examples/gpu plan          fails: gpu_requirement.fails
#   ./.device/sdform -chdir=examples/gpu plan -exclude=gpu_requirement.fails

sdform {
  required_version = ">= 0.1"
}

variable "optional" {
  type        = bool
  default     = false
  description = "Plan on a machine without an NVIDIA driver or GPU, with warnings instead of errors."
}

data "gpu_host" "this" {
  optional = var.optional
}

# Holds on an H100 80GB (79.6 GiB: hence decimal "40GB", not "80GiB") or an
# H200, with any driver from CUDA 12.1 on.
resource "gpu_requirement" "holds" {
  min_count              = 1
  min_memory             = "40GB"
  min_cuda               = "12.1"
  min_compute_capability = "9.0"
  names                  = ["H100|H200"]
  optional               = var.optional
}

# Fails everywhere: no machine has sixteen GPUs of 1 TB each.
resource "gpu_requirement" "fails" {
  min_count  = 16
  min_memory = "1TB"
  optional   = var.optional
}

output "driver" {
  value = data.gpu_host.this.driver_version
}

output "cuda" {
  value = data.gpu_host.this.cuda_version
}

output "devices" {
  value = data.gpu_host.this.devices
}
