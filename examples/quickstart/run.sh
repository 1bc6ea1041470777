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
addr=${QUICKSTART_WEIGHTS_ADDR:-127.0.0.1:18080}
export SDF_VAR_weights_url="http://$addr/tiny-model.safetensors"

mkdir -p .cache/bin
go build -o .cache/bin/sdform ./cmd/sdform
go build -o .cache/bin/quickstart-weightserver ./examples/quickstart/weightserver

.cache/bin/quickstart-weightserver -addr "$addr" -dir examples/quickstart/weights &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for ((i = 0; i < 50; i++)); do
	if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
		break
	fi
	sleep 0.1
done

sdform() { .cache/bin/sdform -chdir=examples/quickstart "$@"; }
echo "=== sdform plan"
sdform plan
echo "=== sdform apply -auto-approve"
sdform apply -auto-approve
echo "=== sdform plan -detailed-exitcode (0: nothing left to do)"
sdform plan -detailed-exitcode
