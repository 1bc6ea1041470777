# The flash-attn case from the checklist: the image tries to build
# flash-attn; where that fails (no nvcc, a torch it was not built for), the
# build is retried once without it and the image uses PyTorch's SDPA
# attention instead. A test then records which backend the image really
# has, and the image's tag moves only once that test passed.
#
#   sdform plan
#   sdform apply
#   sdform state show docker_image_test.attention
#
# The variables let the same configuration run against any builder; the
# defaults build with the local Docker Engine on a busybox base.

variable "buildkit" {
  type        = string
  default     = "docker"
  description = "Builder: \"docker\" (the Docker Engine's BuildKit) or a BuildKit address such as unix:///run/buildkit/buildkitd.sock."
}

variable "docker_host" {
  type        = string
  default     = null
  description = "Docker Engine address; DOCKER_HOST when unset."
}

variable "base_image" {
  type        = string
  default     = "busybox:local"
  description = "Base image with a shell."
}

variable "tag" {
  type    = string
  default = "sdform-example/flash-attn:latest"
}

variable "push" {
  type        = bool
  default     = false
  description = "Push the tag (needed on a standalone BuildKit for the tag to wait for the test)."
}

provider "docker" {
  buildkit    = var.buildkit
  docker_host = var.docker_host
}

resource "docker_image" "app" {
  tags = [var.tag]
  push = var.push
  args = {
    BASE_IMAGE        = var.base_image
    ENABLE_FLASH_ATTN = "true"
  }
  # Retried once with these arguments when the first build fails.
  fallback {
    args = { ENABLE_FLASH_ATTN = "false" }
  }
}

resource "docker_image_test" "attention" {
  image = docker_image.app.id

  command "backend" {
    run = ["cat", "/etc/attention-backend"]
    expect {
      stdout = ["^(flash_attn|sdpa)$"]
    }
  }

  file "/etc/attention-backend" {
    mode    = "0644"
    content = "^(flash_attn|sdpa)$"
  }

  metadata {
    env = { ATTENTION_BACKEND_FILE = "/etc/attention-backend" }
  }
}

output "attention_backend" {
  description = "The attention backend the image really has, as its test read it."
  value       = docker_image_test.attention.stdout["backend"]
}

output "used_fallback" {
  value = docker_image.app.used_fallback
}
