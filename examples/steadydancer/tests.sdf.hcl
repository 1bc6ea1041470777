# What the image must pass before its tag moves to the new build (in the
# same apply; until then it carries a candidate tag, and a failure leaves
# the previous image and its tag untouched). The checklist's "verify that
# mmcv/mmpose/dwpose import, that flash-attn or its fallback is in place,
# that ENV and ARGs are right", as tests that re-run only when the image
# changes.

resource "docker_image_test" "imports" {
  image = docker_image.comfyui.id

  # OpenMMLab, with the compiled CUDA ops: a plain `import mmcv` succeeds
  # even for a build without them, mmcv.ops does not.
  command "openmmlab" {
    run = ["python", "-c", "import mmcv, mmdet, mmpose; from mmcv.ops import nms, RoIAlign; print('mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmpose', mmpose.__version__)"]
    expect {
      stdout = ["^mmcv 2\\.1\\.0 mmdet 3\\.2\\.0 mmpose 1\\.3\\.2"]
    }
  }

  # The pose path the workflow takes: ViTPose and YOLO through ONNX Runtime
  # on CUDA (ComfyUI-WanAnimatePreprocess).
  command "pose_onnx" {
    run = ["python", "-c", "import onnxruntime as ort; print(' '.join(ort.get_available_providers()))"]
    expect {
      stdout = ["CUDAExecutionProvider"]
    }
  }

  # Which attention backend the image really has: flash-attn, or, after
  # the fallback build, xformers and PyTorch SDPA. Recorded in the test's
  # results either way; it must be the one the build says it made.
  command "attention" {
    run = ["python", "-c", "import importlib.util as u; print('attention:', 'flash_attn' if u.find_spec('flash_attn') else ('xformers' if u.find_spec('xformers') else 'sdpa'))"]
    expect {
      stdout = [docker_image.comfyui.used_fallback ? "^attention: (xformers|sdpa)$" : "^attention: flash_attn$"]
    }
  }

  command "torch" {
    run = ["python", "-c", "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"]
    expect {
      stdout = ["^torch 2\\.7\\.1\\+cu126 cuda 12\\.6"]
    }
  }

  # ComfyUI and the four custom node packs the workflow needs.
  file "/opt/ComfyUI/main.py" {}
  file "/opt/ComfyUI/custom_nodes/ComfyUI-WanVideoWrapper/nodes.py" {}
  file "/opt/ComfyUI/custom_nodes/ComfyUI-KJNodes/nodes" {}
  file "/opt/ComfyUI/custom_nodes/ComfyUI-VideoHelperSuite/videohelpersuite" {}
  file "/opt/ComfyUI/custom_nodes/ComfyUI-WanAnimatePreprocess/nodes.py" {}
  file "/opt/steadydancer/start.sh" {
    mode = "0755"
  }

  # The build arguments reached the image, and no weight file was baked in
  # by accident (they weigh tens of GB).
  metadata {
    env = {
      STEADYDANCER_VARIANT = var.variant
      PIP_CONSTRAINT       = "/opt/venv/constraints.txt"
    }
    labels = {
      "steadydancer.variant" = var.variant
    }
    exposed_ports = ["8188"]
    workdir       = "/opt/ComfyUI"
  }
}

resource "docker_image_test" "weights_not_baked" {
  image = docker_image.comfyui.id
  command "models_empty" {
    run = ["sh", "-c", "find /opt/ComfyUI/models -type f \\( -name '*.safetensors' -o -name '*.onnx' \\) | wc -l"]
    expect {
      stdout = [var.bake_weights ? "^[1-9][0-9]*$" : "^0$"]
    }
  }
}
