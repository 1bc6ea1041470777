#!/bin/sh
# RunPod entry point: ComfyUI on all interfaces, port 8188 (or $COMFYUI_PORT),
# with any extra arguments from $COMFYUI_ARGS. sdform's workflow runs start
# their own command on 127.0.0.1 instead.
set -eu
cd /opt/ComfyUI
# shellcheck disable=SC2086
exec python main.py --listen 0.0.0.0 --port "${COMFYUI_PORT:-8188}" ${COMFYUI_ARGS:-}
