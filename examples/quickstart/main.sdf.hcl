# The quickstart: everything sdform does, on any machine with a Docker
# Engine (or a BuildKit daemon), no GPU and no network. An image is built,
# a weight file is downloaded and verified at the same time, the image is
# tested, a check runs, and the image's tag moves only when all of that
# passed. Run it with examples/quickstart/run.sh, then run it again: the
# second plan says there is nothing to do.

sdform {
  required_version = ">= 0.1"
}

variable "base_image" {
  type        = string
  default     = "busybox:latest"
  description = "Base of the image. ci/services.sh imports busybox:local into its Docker Engine, and run.sh passes it (SDF_VAR_base_image) on machines that cannot pull."
}

variable "weights_url" {
  type        = string
  default     = "http://127.0.0.1:18080/tiny-model.safetensors"
  description = "Where the weight file is downloaded from: run.sh serves ./weights there (weightserver), as a model hub would."
}

variable "buildkit" {
  type        = string
  default     = "docker"
  description = "\"docker\" builds with the Docker Engine of DOCKER_HOST; unix://…, tcp://… or docker-container://NAME name a BuildKit daemon."
}

variable "tag" {
  type        = string
  default     = "sdform-quickstart:dev"
  description = "Tag the image gets once its tests passed."
}

variable "greeting" {
  type    = string
  default = "hello from sdform"
}

provider "docker" {
  buildkit = var.buildkit
}

provider "comfyui" {
  models_dir = "models"
}

resource "docker_image" "app" {
  context = "docker"
  tags    = [var.tag]
  args = {
    BASE_IMAGE = var.base_image
    GREETING   = var.greeting
  }
  labels = {
    "org.opencontainers.image.title" = "sdform quickstart"
  }
  max_size = "100MB"
  timeout  = "10m"
}

# Downloaded while the image builds: nothing links the two. The sha256 is
# that of the committed file, so a server that sends anything else fails
# the download and leaves nothing at the path.
resource "comfyui_model" "tiny" {
  source = var.weights_url
  sha256 = filesha256("weights/tiny-model.safetensors")
  path   = "checkpoints/tiny-model.safetensors"
}

resource "docker_image_test" "smoke" {
  image = docker_image.app.id

  command "greets" {
    run = ["/app/hello.sh"]
    expect {
      stdout = ["^${var.greeting}$"]
    }
  }

  command "exit_code" {
    run = ["sh", "-c", "test -s /app/greeting.txt; exit 3"]
    expect {
      exit_code = 3
    }
  }

  file "/app/hello.sh" {
    mode    = "0755"
    content = "GREETING"
  }

  file "/app/secrets.env" {
    exists = false
  }

  metadata {
    env     = { GREETING = var.greeting }
    workdir = "/app"
    cmd     = ["/app/hello.sh"]
  }
}

check "size" {
  assert {
    condition     = docker_image.app.size < 50 * 1000 * 1000
    error_message = "The quickstart image should be a few MB; it is over 50 MB."
  }
}

output "image_id" {
  value = docker_image.app.id
}

output "model" {
  value = comfyui_model.tiny.full_path
}

output "model_sha256" {
  value = comfyui_model.tiny.sha256
}

output "tests" {
  value = docker_image_test.smoke.runner
}
