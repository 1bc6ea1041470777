#!/usr/bin/env bash
# Whole-process time of `sdform plan` on a configuration with nothing to do.
#
# Builds sdform with the engine's test provider compiled in (build tag
# sdform_testprovider: no Docker, GPU or network needed), writes N test_thing
# objects (default 10) into a temporary directory, applies them once, then
# times `sdform plan` there RUNS times (default 30) and prints the median.
# Uses hyperfine when installed (apt-get install hyperfine), else a bash loop
# over `date +%s%N` (also with NO_HYPERFINE=1).
#
#   bench/plan-noop.sh            # N=10 RUNS=30
#   N=200 RUNS=50 bench/plan-noop.sh
#   SDFORM_BIN=bin/sdform-test bench/plan-noop.sh   # skip the build
set -euo pipefail

N=${N:-10}
RUNS=${RUNS:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${SDFORM_BIN:-}" ]; then
  # A binary built elsewhere (go build -tags sdform_testprovider), for
  # machines without Go.
  bin=$(cd "$(dirname "$SDFORM_BIN")" && pwd)/$(basename "$SDFORM_BIN")
else
  bin="$work/sdform"
  (cd "$root" && go build -tags sdform_testprovider -o "$bin" ./cmd/sdform)
fi

cfg="$work/config"
mkdir -p "$cfg"
{
  echo 'variable "variant" {'
  echo '  default = "fp8"'
  echo '}'
  for i in $(seq 1 "$N"); do
    echo
    echo "resource \"test_thing\" \"t$i\" {"
    echo "  name    = \"thing-$i-\${var.variant}\""
    echo "  args    = { N = \"$i\" }"
    if [ "$i" -gt 1 ]; then echo "  tags    = [test_thing.t$((i - 1)).id]"; fi
    echo '}'
  done
} >"$cfg/main.sdf.hcl"

"$bin" -chdir="$cfg" apply -auto-approve -no-color >/dev/null
# The benchmark is only meaningful on a no-op plan: check that it is one.
if ! "$bin" -chdir="$cfg" plan -detailed-exitcode -no-color >/dev/null; then
  echo "plan after apply is not a no-op; the benchmark would measure something else" >&2
  exit 1
fi

echo "sdform plan, no-op, $N test_thing objects, $RUNS runs ($(nproc) CPUs)"
if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null; then
  hyperfine --warmup 3 --runs "$RUNS" --export-json "$work/h.json" \
    "$bin -chdir=$cfg plan -no-color" >&2
  python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"median {r['median']*1000:.1f} ms (mean {r['mean']*1000:.1f} ms, min {r['min']*1000:.1f} ms, max {r['max']*1000:.1f} ms)")
PY
else
  times=()
  for _ in 1 2 3; do "$bin" -chdir="$cfg" plan -no-color >/dev/null; done
  for _ in $(seq 1 "$RUNS"); do
    s=$(date +%s%N)
    "$bin" -chdir="$cfg" plan -no-color >/dev/null
    e=$(date +%s%N)
    times+=($(((e - s) / 1000)))
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  n=${#sorted[@]}
  if ((n % 2)); then med=${sorted[n / 2]}; else med=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2)); fi
  printf 'median %d.%01d ms (min %d.%01d ms, max %d.%01d ms)\n' $((med / 1000)) $((med % 1000 / 100)) \
    $((sorted[0] / 1000)) $((sorted[0] % 1000 / 100)) $((sorted[n - 1] / 1000)) $((sorted[n - 1] % 1000 / 100))
fi
