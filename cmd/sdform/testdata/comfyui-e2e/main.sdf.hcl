# The container end-to-end test of comfyui_workflow (issue 6): an image
# built by sdform from the Docker Engine's busybox base, holding the fake
# ComfyUI server (cmd/comfyui-fake) as a static binary, started by the
# comfyui provider, and a no-model workflow run on it. TestComfyUIContainer
# builds docker/comfyui-fake and sets the variables.

variable "docker_host" {
  type        = string
  description = "The Docker Engine that builds the image and runs the server."
}

variable "base_image" {
  type        = string
  description = "A busybox image the Engine holds (busybox:local from ci/services.sh)."
}

variable "run" {
  type        = string
  default     = "comfyui-e2e"
  description = "Labels the image, so that each test run builds its own and removes only that."
}

variable "workflow" {
  type    = string
  default = "workflows/smoke.json"
}

variable "color" {
  type        = string
  default     = "16711680"
  description = "EmptyImage's colour: an input override, converted to the node's INT."
}

provider "docker" {
  buildkit    = "docker"
  docker_host = var.docker_host
}

provider "comfyui" {
  models_dir = "models"
}

resource "docker_image" "fake" {
  context = "docker"
  args    = { BASE_IMAGE = var.base_image }
  labels  = { "dev.sdform.test" = var.run }
}

# A weight file copied from this directory: the workflow loads no model,
# but the folder it lands in is mounted into the server container, and the
# run is fingerprinted with its sha256. The sha256 is pinned to the
# source's, so that a changed source file is a planned change.
resource "comfyui_model" "tiny" {
  source = "file:weights/tiny.safetensors"
  sha256 = filesha256("weights/tiny.safetensors")
  path   = "checkpoints/tiny.safetensors"
}

resource "comfyui_workflow" "smoke" {
  image                 = docker_image.fake.id
  command               = ["/comfyui-fake", "--listen", "127.0.0.1", "--port", "{port}"]
  gpus                  = "none"
  docker_host           = var.docker_host
  container_models_path = "/models"
  models                = [comfyui_model.tiny]
  workflow              = var.workflow
  inputs                = { "1.color" = var.color }
  ready_timeout         = "30s"
  timeout               = "60s"

  expect {
    kind      = "image"
    min_count = 6
  }
}
