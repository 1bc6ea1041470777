#!/usr/bin/env bash
# Runs the quickstart end to end: serves ./weights on 127.0.0.1 (as a model
# hub would), then `sdform plan`, `sdform apply -auto-approve`, and a second
# plan that must find nothing to do (exit 0 under -detailed-exitcode).
#
#   examples/quickstart/run.sh            from the repository root
#
# It uses the Docker Engine of ci/services.sh when .cache/services.env
# exists (start it with `ci/services.sh start`), else DOCKER_HOST or the
# default socket.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ -f .cache/services.env ]]; then
	# shellcheck disable=SC1091
	. .cache/services.env
fi
if [[ -n ${SDFORM_DOCKER_HOST:-} ]]; then
	export DOCKER_HOST=$SDFORM_DOCKER_HOST
	# That Engine cannot pull: build FROM the busybox it was given.
	export SDF_VAR_base_image=${SDF_VAR_base_image:-${SDFORM_DOCKER_BASE_IMAGE:-busybox:local}}
fi
mkdir -p .cache/bin
go build -o .cache/bin/sdform ./cmd/sdform
go build -o .cache/bin/quickstart-weightserver ./examples/quickstart/weightserver

# The weights' URL is part of the configuration: a stable port keeps the
# next run a no-op; when 18080 is taken, any free port will do (the next
# plan then only records the new URL).
addr_file=$(mktemp)
.cache/bin/quickstart-weightserver -addr "${QUICKSTART_WEIGHTS_ADDR:-127.0.0.1:18080}" -any-port \
	-addr-file "$addr_file" -dir examples/quickstart/weights &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$addr_file"' EXIT
for ((i = 0; i < 100; i++)); do
	[[ -s $addr_file ]] && break
	kill -0 "$server" 2>/dev/null || { echo "run.sh: the weight server did not start" >&2; exit 1; }
	sleep 0.1
done
[[ -s $addr_file ]] || { echo "run.sh: the weight server did not start within 10 s" >&2; exit 1; }
export SDF_VAR_weights_url="http://$(cat "$addr_file")/tiny-model.safetensors"

sdform() { .cache/bin/sdform -chdir=examples/quickstart "$@"; }
echo "=== sdform plan"
sdform plan
echo "=== sdform apply -auto-approve"
sdform apply -auto-approve
echo "=== sdform plan -detailed-exitcode (0: nothing left to do)"
sdform plan -detailed-exitcode
