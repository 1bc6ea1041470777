#!/usr/bin/env bash
# Whole-process time of `sdform apply` against `buildctl build` of the same
# Dockerfile on the same standalone BuildKit, interleaved run by run.
#
# What a user compares: the sdform process (load the config, refresh, plan,
# build, read back, write state) against the buildctl process. Both build
# without cache (no_cache = true / --no-cache) a Dockerfile that copies 200
# files and spins the CPU for about two seconds in a RUN, and export with the
# image exporter under a name, without push. sdform is made to build on
# every run with -replace. Needs the test services (ci/services.sh start,
# then `. .cache/services.env`).
#
#   bench/docker/apply-vs-buildctl.sh              # RUNS=9
#   RUNS=15 SPIN=3000000 bench/docker/apply-vs-buildctl.sh
#
# Prints each side's wall median and min, and the ratio of the medians (the
# issue's target is <= 1.05). On a shared machine the wall times carry the
# neighbours' load: read the min ratio beside the median one.
set -euo pipefail

RUNS=${RUNS:-9}
SPIN=${SPIN:-1500000}
: "${SDFORM_BUILDKIT_ADDR:?start the services and source .cache/services.env}"
: "${SDFORM_BUILDCTL:?start the services and source .cache/services.env}"
: "${SDFORM_BASE_IMAGE:?start the services and source .cache/services.env}"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin="$work/sdform"
(cd "$root" && go build -o "$bin" ./cmd/sdform)

ctx="$work/cfg/ctx"
mkdir -p "$ctx/files"
for i in $(seq -w 0 199); do echo "file $i" >"$ctx/files/f$i.txt"; done
cat >"$ctx/Dockerfile" <<EOF
FROM $SDFORM_BASE_IMAGE
COPY files /files
RUN i=0; while [ \$i -lt $SPIN ]; do i=\$((i+1)); done; echo \$i > /spun
EOF
cat >"$work/cfg/main.sdf.hcl" <<EOF
provider "docker" {
  buildkit = "$SDFORM_BUILDKIT_ADDR"
}
resource "docker_image" "bench" {
  context  = "ctx"
  tags     = ["sdform-bench/apply-vs-buildctl:sdform"]
  no_cache = true
}
EOF

sdform() { "$bin" -chdir="$work/cfg" apply -auto-approve -no-color -replace=docker_image.bench >/dev/null; }
buildctl() {
  "$SDFORM_BUILDCTL" --addr "$SDFORM_BUILDKIT_ADDR" build --frontend dockerfile.v0 \
    --local context="$ctx" --local dockerfile="$ctx" --no-cache \
    --output type=image,name=sdform-bench/apply-vs-buildctl:buildctl --progress plain >/dev/null 2>&1
}
ms() { date +%s%N; }

# Warm both paths (base image, sdform's state and stat cache).
"$bin" -chdir="$work/cfg" apply -auto-approve -no-color >/dev/null
buildctl

a=() b=()
for _ in $(seq 1 "$RUNS"); do
  s=$(ms); buildctl; e=$(ms); a+=($(((e - s) / 1000000)))
  s=$(ms); sdform; e=$(ms); b+=($(((e - s) / 1000000)))
done

python3 - "${a[*]}" "${b[*]}" "$RUNS" "$(nproc)" <<'PY'
import statistics, sys
a = [int(x) for x in sys.argv[1].split()]
b = [int(x) for x in sys.argv[2].split()]
print(f"{sys.argv[3]} interleaved runs each ({sys.argv[4]} CPUs), no-cache builds")
print(f"buildctl build : median {statistics.median(a):.0f} ms, min {min(a)} ms  {a}")
print(f"sdform apply   : median {statistics.median(b):.0f} ms, min {min(b)} ms  {b}")
print(f"ratio sdform/buildctl: median {statistics.median(b)/statistics.median(a):.3f}, min {min(b)/min(a):.3f}")
PY
