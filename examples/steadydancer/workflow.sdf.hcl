# The acceptance run: ComfyUI started from the built image (GPUs requested,
# ./models mounted read-only at /opt/ComfyUI/models), the SteadyDancer dance
# workflow submitted, and the video it writes fetched and checked. It runs
# again only when the image, a weight file, the workflow or an input below
# changed.

variable "reference_image" {
  type        = string
  default     = "steadydancer_reference.png"
  description = "The person to animate: a file of docker/inputs/, copied into ComfyUI's input folder."
}

variable "driving_video" {
  type        = string
  default     = "steadydancer_driving.mp4"
  description = "The dance to follow: a file of docker/inputs/, copied into ComfyUI's input folder."
}

resource "comfyui_workflow" "dance" {
  image    = docker_image.comfyui.id
  workflow = "workflows/steadydancer-dance.json"
  models = [
    comfyui_model.diffusion,
    comfyui_model.vae,
    comfyui_model.text_encoder,
    comfyui_model.clip_vision,
    comfyui_model.lora,
    comfyui_model.vitpose,
    comfyui_model.vitpose_data,
    comfyui_model.yolo,
  ]
  # Node ids are those of the published workflow: every file name the
  # workflow loads comes from the weights declared in weights.sdf.hcl, so
  # the variant's model is the one that runs.
  inputs = {
    "22.model"           = comfyui_model.diffusion.name
    "22.attention_mode"  = docker_image.comfyui.used_fallback ? "sdpa" : "flash_attn_2"
    "38.model_name"      = comfyui_model.vae.name
    "92.model_name"      = comfyui_model.text_encoder.name
    "59.clip_name"       = comfyui_model.clip_vision.name
    "69.lora"            = comfyui_model.lora.name
    "129.vitpose_model"  = comfyui_model.vitpose.name
    "129.yolo_model"     = comfyui_model.yolo.name
    "76.image"           = var.reference_image
    "75.video"           = var.driving_video
    "83.filename_prefix" = "steadydancer_${var.variant}"
  }
  env = {
    STEADYDANCER_VARIANT = var.variant
  }
  timeout       = "30m"
  ready_timeout = "10m"

  # VHS_VideoCombine (node 83) writes an H.264 MP4; a few seconds of 480p
  # video is well over 100 kB, an empty or broken file is not.
  expect {
    kind      = "video"
    min_count = 1
    min_bytes = 100000
  }
}

check "acceptance_inputs" {
  assert {
    condition     = fileexists("docker/inputs/${var.reference_image}") && fileexists("docker/inputs/${var.driving_video}")
    error_message = "Put the workflow's reference image and driving video in docker/inputs/ (see docker/inputs/README.md); without them the dance workflow fails when it runs."
    severity      = "warning"
  }
}
