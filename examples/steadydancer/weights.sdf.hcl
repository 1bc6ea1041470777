# The weight files the published SteadyDancer workflow loads, each a
# comfyui_model: downloaded into ./models (ComfyUI's folder layout) with
# resume and a streamed sha256, verified, and recorded, so that the next
# plan trusts a file by its stat instead of re-reading gigabytes.
#
# Pinning: every source names a hub revision from local.revisions. "main"
# follows the branch; `sdform plan` prints "revision main resolves to commit
# <40 hex>" for each file it will download, and after apply
# `sdform state show comfyui_model.diffusion` shows it as resolved_commit.
# Copy those commits into local.revisions (the check "pinned_revisions"
# warns until every one is a commit); from then on a file that changes on
# the hub is a new revision you chose, never a surprise. The sha256 of a
# file is taken from the hub (X-Linked-Etag) when not written here; writing
# it makes a replaced file an error at plan.

locals {
  revisions = {
    "Kijai/WanVideo_comfy"                 = "main"
    "Kijai/WanVideo_comfy_fp8_scaled"      = "main"
    "Comfy-Org/Wan_2.1_ComfyUI_repackaged" = "main"
    "Kijai/vitpose_comfy"                  = "main"
    "Wan-AI/Wan2.2-Animate-14B"            = "main"
  }

  # The SteadyDancer diffusion model of each variant (the workflow's
  # Note node names both repositories).
  diffusion = {
    fp8 = {
      repo = "Kijai/WanVideo_comfy_fp8_scaled"
      file = "SteadyDancer/Wan21_SteadyDancer_fp8_e4m3fn_scaled_KJ.safetensors"
    }
    fp16 = {
      repo = "Kijai/WanVideo_comfy"
      file = "SteadyDancer/Wan21_I2V_SteadyDancer_fp16.safetensors"
    }
  }
  diffusion_sha256 = {
    fp8  = null
    fp16 = null
  }

  # hf builds a source from a repository and a file in it, at the
  # repository's revision.
  hf = {
    vae          = "hf://Kijai/WanVideo_comfy@${local.revisions["Kijai/WanVideo_comfy"]}/Wan2_1_VAE_bf16.safetensors"
    text_encoder = "hf://Kijai/WanVideo_comfy@${local.revisions["Kijai/WanVideo_comfy"]}/umt5-xxl-enc-bf16.safetensors"
    clip_vision  = "hf://Comfy-Org/Wan_2.1_ComfyUI_repackaged@${local.revisions["Comfy-Org/Wan_2.1_ComfyUI_repackaged"]}/split_files/clip_vision/clip_vision_h.safetensors"
    lora         = "hf://Kijai/WanVideo_comfy@${local.revisions["Kijai/WanVideo_comfy"]}/Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors"
    vitpose      = "hf://Kijai/vitpose_comfy@${local.revisions["Kijai/vitpose_comfy"]}/onnx/vitpose_h_wholebody_model.onnx"
    vitpose_data = "hf://Kijai/vitpose_comfy@${local.revisions["Kijai/vitpose_comfy"]}/onnx/vitpose_h_wholebody_data.bin"
    yolo         = "hf://Wan-AI/Wan2.2-Animate-14B@${local.revisions["Wan-AI/Wan2.2-Animate-14B"]}/process_checkpoint/det/yolov10m.onnx"
  }
}

# WanVideoModelLoader (node 22) lists diffusion_models/; its name is the
# path below that folder, which the workflow run passes as "22.model".
resource "comfyui_model" "diffusion" {
  source = "hf://${local.diffusion[var.variant].repo}@${local.revisions[local.diffusion[var.variant].repo]}/${local.diffusion[var.variant].file}"
  sha256 = local.diffusion_sha256[var.variant]
  path   = "diffusion_models/WanVideo/${local.diffusion[var.variant].file}"
}

resource "comfyui_model" "vae" {
  source = local.hf.vae
  path   = "vae/wanvideo/Wan2_1_VAE_bf16.safetensors"
}

resource "comfyui_model" "text_encoder" {
  source = local.hf.text_encoder
  path   = "text_encoders/umt5-xxl-enc-bf16.safetensors"
}

resource "comfyui_model" "clip_vision" {
  source = local.hf.clip_vision
  path   = "clip_vision/clip_vision_h.safetensors"
}

# The Lightx2v step-distill LoRA: 4 sampling steps instead of 30+.
resource "comfyui_model" "lora" {
  source = local.hf.lora
  path   = "loras/WanVideo/Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors"
}

# Pose detection (ComfyUI-WanAnimatePreprocess loads these from
# models/detection). The huge ViTPose model is split in two files that
# must sit side by side: the .onnx graph and its external .bin data.
resource "comfyui_model" "vitpose" {
  source = local.hf.vitpose
  path   = "detection/onnx/vitpose_h_wholebody_model.onnx"
}

resource "comfyui_model" "vitpose_data" {
  source = local.hf.vitpose_data
  path   = "detection/onnx/vitpose_h_wholebody_data.bin"
}

resource "comfyui_model" "yolo" {
  source = local.hf.yolo
  path   = "detection/onnx/yolov10m.onnx"
}

check "pinned_revisions" {
  assert {
    condition     = alltrue([for rev in values(local.revisions) : length(regexall("^[0-9a-f]{40}$", rev)) > 0])
    error_message = "Some Hugging Face revisions in weights.sdf.hcl are branches, not commits: copy the commits that plan prints (\"revision main resolves to commit …\") into local.revisions."
    severity      = "warning"
  }
}
