# SteadyDancer (image-to-video dance generation) on ComfyUI, for RunPod.
#
# What this replaces: check the GPU and CUDA, check disk, lint the
# Dockerfile, build, download weights, start ComfyUI, run the dance
# workflow, look for a video, tag the image, roll back by hand when
# something breaks. `sdform plan` says which of those would run and why;
# `sdform apply` runs only those, the build and the downloads in parallel.
#
#   sdform plan                          fp8 weights, flash-attn
#   sdform plan -var variant=fp16        the fp16 weights instead
#   sdform plan -var allow_no_gpu=true   on a machine without a GPU (CI)
#
# Files: variables.sdf.hcl (inputs), weights.sdf.hcl (the weight files),
# tests.sdf.hcl (what the image must pass before its tag moves), this file
# (the machine, the image, outputs).

sdform {
  required_version = ">= 0.1"
}

provider "docker" {
  buildkit = var.buildkit
  # The checklist's "> 20 GB free": a CUDA devel base, PyTorch, flash-attn
  # and the build cache need about 60 GB where the builder keeps its data.
  min_free_disk = "60GB"
}

provider "comfyui" {
  models_dir = local.models_dir
  token      = var.hf_token
}

locals {
  # Where the comfyui_model resources download to (ComfyUI's models folder
  # layout), mounted into the workflow's container, or baked.
  models_dir = "models"

  # GPU memory each variant needs with the workflow's block swapping.
  # Decimal units on purpose: a "24 GB" card reports a little less than
  # 24 GiB, and an H100 80GB reports 79.6 GiB, so "80GiB" would reject it.
  min_gpu_memory = {
    fp8  = "24GB"
    fp16 = "40GB"
  }
}

# The machine this runs on: NVML facts (driver, CUDA, devices, memory).
data "gpu_host" "local" {
  optional = var.allow_no_gpu
}

# The checklist's first line, checked at plan time: CUDA 12.1 or newer and
# enough GPU memory; and, right after the build, that the driver supports
# the CUDA the image was built for (the most common RunPod failure).
resource "gpu_requirement" "runpod" {
  min_cuda   = "12.1"
  min_memory = local.min_gpu_memory[var.variant]
  image_cuda = docker_image.comfyui.cuda_version
  optional   = var.allow_no_gpu
}

resource "docker_image" "comfyui" {
  context    = "docker"
  dockerfile = "docker/Dockerfile"
  tags       = ["${var.image_repo}:${var.variant}"]
  push       = var.push
  args = {
    BAKE_STEADYDANCER    = tostring(var.bake_weights)
    STEADYDANCER_VARIANT = var.variant
    ENABLE_FLASH_ATTN    = tostring(var.flash_attn)
  }
  # With bake_weights the image copies ./models in through the named build
  # context "weights" (docker/Dockerfile, stage bake-true). The image names
  # the folder, not the comfyui_model resources, so that the build runs
  # while the weights download: a reference would make it wait for all of
  # them, every time. A bake that meets a download still running
  # (NAME.partial) fails in the bake stage, saying so; see the README.
  contexts = { for name, dir in { weights = local.models_dir } : name => dir if var.bake_weights }
  # A BuildKit secret mount (docker/hooks/fetch-extras.sh reads it), never
  # a build argument: it stays out of the image and its history.
  secrets = { hf_token = var.hf_token }
  labels = {
    "org.opencontainers.image.title" = "SteadyDancer on ComfyUI"
    "steadydancer.variant"           = var.variant
  }

  # flash-attn is compiled from source and is the step most likely to fail
  # (compiler, RAM, CUDA arch). When the first build fails it is retried
  # once without it; docker_image.comfyui.used_fallback records which one
  # succeeded and the workflow run picks its attention mode from it.
  fallback {
    args = { ENABLE_FLASH_ATTN = "false" }
  }

  max_size = "50GB"
  timeout  = "90m"
}

check "size" {
  assert {
    condition     = docker_image.comfyui.size < 50 * 1000 * 1000 * 1000
    error_message = "The image is over the 50 GB RunPod budget."
  }
}

output "image" {
  description = "Image ID of the build that passed every test."
  value       = docker_image.comfyui.id
}

output "tag" {
  value = docker_image.comfyui.tags[0]
}

output "attention" {
  description = "The attention backend the image has: flash-attn, or SDPA after the fallback build."
  value       = docker_image.comfyui.used_fallback ? "sdpa (fallback build)" : "flash_attn_2"
}

output "gpu" {
  value = data.gpu_host.local.devices
}

output "video" {
  description = "The video the dance workflow produced, fetched from the server."
  value       = comfyui_workflow.dance.outputs
}
