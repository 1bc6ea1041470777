# Inputs of the SteadyDancer configuration. Set them with -var, a
# *.sdfvars file (-var-file), a *.auto.sdfvars file in this folder, or
# SDF_VAR_<name> in the environment, highest precedence first.

variable "variant" {
  type        = string
  default     = "fp8"
  description = "Weights of the SteadyDancer diffusion model: fp8 (about 15 GB, 24 GB GPUs) or fp16 (about 33 GB, 48 GB and up)."
  validation {
    condition     = contains(["fp8", "fp16"], var.variant)
    error_message = "variant must be \"fp8\" or \"fp16\"."
  }
}

variable "hf_token" {
  type        = string
  sensitive   = true
  default     = null
  description = "Hugging Face token for gated repositories; HF_TOKEN in the environment is used when unset. Never printed, stored hashed."
}

variable "image_repo" {
  type        = string
  default     = "runpod/steadydancer"
  description = "Repository the image is tagged (and, with push, pushed) under; the tag is the variant."
}

variable "push" {
  type        = bool
  default     = false
  description = "Push the image to the registry its tag names once every test passed."
}

variable "buildkit" {
  type        = string
  default     = "docker"
  description = "Where to build: \"docker\" (the local Docker Engine's BuildKit), unix://…, tcp://… or docker-container://NAME."
}

variable "bake_weights" {
  type        = bool
  default     = false
  description = "Copy the weights into the image (BAKE_STEADYDANCER=true) instead of mounting them at run time. Adds the weights' size to the image; needs a BuildKit with named contexts."
}

variable "flash_attn" {
  type        = bool
  default     = true
  description = "Try flash-attn first; the build falls back to SDPA/xformers (ENABLE_FLASH_ATTN=false) when it fails."
}

variable "allow_no_gpu" {
  type        = bool
  default     = false
  description = "Plan on a machine without an NVIDIA GPU (CI, laptops): GPU requirements become warnings. Apply still needs a GPU for the workflow run."
}
