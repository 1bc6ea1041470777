#!/bin/sh
# Build-time hook for small assets that are not weights (configs, a
# tokenizer from a gated repository), run with the Hugging Face token
# mounted as a BuildKit secret at /run/secrets/hf_token when sdform has one
# (var.hf_token). Weight files go through comfyui_model, never here. It
# never prints the token.
set -eu
if [ -s /run/secrets/hf_token ]; then
	echo "fetch-extras: Hugging Face token available"
else
	echo "fetch-extras: no Hugging Face token; public assets only"
fi
