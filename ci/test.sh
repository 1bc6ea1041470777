#!/usr/bin/env bash
# The project's test command: every package's tests, fuzz targets' seed
# corpora included (go test runs them as ordinary tests).
#
#   ci/test.sh [go test flags]     e.g. ci/test.sh -run TestPlan -v
#
# Integration tests use the services from `ci/services.sh start`; when
# .cache/services.env exists it is sourced here, and tests whose service is
# absent skip (or fail, under SDFORM_REQUIRE_SERVICES=1, as in CI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z ${SDFORM_BUILDKIT_ADDR:-} && -f .cache/services.env ]]; then
	echo "ci/test.sh: using the services in .cache/services.env" >&2
	# shellcheck disable=SC1091
	. .cache/services.env
fi
exec go test -count=1 -timeout=60m "$@" ./...
