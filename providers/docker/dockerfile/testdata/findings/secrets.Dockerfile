FROM busybox
ARG HF_TOKEN
RUN --mount=type=secret,id=hf_token,required=true cat /run/secrets/hf_token
RUN --mount=type=secret,id=civitai echo
