#!/usr/bin/env bash
# Download benchmarks for issue 4 (see bench/download/README in the report):
#   1. a 2 GB file from a loopback server: sdform's engine (download+verify,
#      one pass) with 1, 2 and 8 connections (at most: see RampEvery) against `curl -o f && sha256sum f`,
#      and the server's own loopback limit (`curl -o /dev/null`);
#   2. a server capping each connection at 50 MB/s: 8 connections vs 1;
#   3. the no-op plan of a comfyui_model with a 14 GB (sparse) verified file.
# Everything runs on 127.0.0.1; the servers started here are stopped on exit
# and every big file is deleted. Knobs: SIZE_MB (2000), CAP_MB (500), REPS (2),
# PREBUILT=DIR (use DIR/server, DIR/fetch and DIR/comfyui.test, built with
# `go build`/`go test -c`, on a machine without Go).
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE_MB=${SIZE_MB:-2000}
CAP_MB=${CAP_MB:-500}
REPS=${REPS:-2}
CAP_RATE=50000000

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdform-bench.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${PREBUILT:-}" ]; then
	cp "$PREBUILT/server" "$PREBUILT/fetch" "$PREBUILT/comfyui.test" "$WORK/"
else
	go build -o "$WORK/server" ./bench/download/server
	go build -o "$WORK/fetch" ./bench/download/fetch
	go test -c -o "$WORK/comfyui.test" ./providers/comfyui/
fi
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

start_server() { # file rate addrfile
	"$WORK/server" -file "$1" -rate "$2" -addrfile "$3" &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$3" ] && return 0; sleep 0.05; done
	echo "server did not start" >&2
	exit 1
}

secs() { # command... → prints wall seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	calc "$t1 - $t0"
}

calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

echo "== setup: ${SIZE_MB} MB of random data"
head -c "$((SIZE_MB * 1000 * 1000))" /dev/urandom >"$WORK/big.bin"
BYTES=$(stat -c %s "$WORK/big.bin")
start_server "$WORK/big.bin" 0 "$WORK/addr1"
URL="http://$(cat "$WORK/addr1")/big.bin"

echo "== 1. ${SIZE_MB} MB from a loopback server ($REPS runs each; file deleted after every run)"
SHA=""
for i in $(seq "$REPS"); do
	t=$(secs curl -sf -o /dev/null "$URL")
	echo "server limit   curl -o /dev/null            run $i: ${t}s  $(calc "$BYTES / $t / 1000000") MB/s"
done
# What bounds a single-pass download+verify: one core's SHA-256 rate (sha256
# cannot be split across cores, so no verifier finishes before it), reading
# the bytes off loopback, and reading them while one core hashes them.
echo -n "floor          sha256 alone, from memory    : "
"$WORK/fetch" -sink memory -bytes "$BYTES"
echo -n "ceiling        GET, body discarded (Go)     : "
"$WORK/fetch" -url "$URL" -sink discard
echo -n "ceiling        GET + sha256, no file (Go)   : "
"$WORK/fetch" -url "$URL" -sink sha256
for i in $(seq "$REPS"); do
	t0=$(date +%s.%N)
	curl -sf -o "$WORK/curl.bin" "$URL"
	t1=$(date +%s.%N)
	SHA=$(sha256sum "$WORK/curl.bin" | cut -d' ' -f1)
	t2=$(date +%s.%N)
	rm -f "$WORK/curl.bin"
	echo "baseline       curl -o f && sha256sum f      run $i: $(calc "$t2 - $t0")s (curl $(calc "$t1 - $t0")s + sha256sum $(calc "$t2 - $t1")s)"
done
for conns in 1 2 8; do
	for i in $(seq "$REPS"); do
		echo -n "sdform engine  connections=$conns               run $i: "
		"$WORK/fetch" -url "$URL" -sha256 "$SHA" -connections "$conns" -dest "$WORK/sdform.bin"
		rm -f "$WORK/sdform.bin"
	done
done
# The same engine with parts of it turned off, to show what each is worth:
# connections opened all at once instead of as they help, no O_DIRECT
# (every byte copied into the page cache), no hand-over to the hasher (every
# byte read back), no early writeback.
for variant in "8|-ramp=-1s|all opened at once" "8|-ramp=-1s -buffered|all at once, no O_DIRECT" \
	"1|-buffered|no O_DIRECT" "8|-ramp=-1s -buffered -handover -1|all at once, no O_DIRECT, hash read back only" \
	"1|-buffered -writeback -1|no O_DIRECT, no early writeback"; do
	IFS='|' read -r conns flags what <<<"$variant"
	echo -n "sdform engine  connections=$conns, $what: "
	# shellcheck disable=SC2086 # flags are words
	"$WORK/fetch" -url "$URL" -sha256 "$SHA" -connections "$conns" $flags -dest "$WORK/sdform.bin"
	rm -f "$WORK/sdform.bin"
done

echo "== 2. ${CAP_MB} MB from a server capping each connection at 50 MB/s"
head -c "$((CAP_MB * 1000 * 1000))" "$WORK/big.bin" >"$WORK/cap.bin"
rm -f "$WORK/big.bin"
CAPSHA=$(sha256sum "$WORK/cap.bin" | cut -d' ' -f1)
start_server "$WORK/cap.bin" "$CAP_RATE" "$WORK/addr2"
CAPURL="http://$(cat "$WORK/addr2")/cap.bin"
for spec in "1|" "8|" "8|-ramp=-1s"; do
	IFS='|' read -r conns flags <<<"$spec"
	runs=$REPS
	[[ $conns == 1 ]] && runs=1 # one connection takes CAP_MB/50 s and varies little
	for i in $(seq "$runs"); do
		echo -n "capped         connections=$conns $flags run $i: "
		# shellcheck disable=SC2086 # flags are words
		"$WORK/fetch" -url "$CAPURL" -sha256 "$CAPSHA" -connections "$conns" $flags -dest "$WORK/capped.bin"
		rm -f "$WORK/capped.bin"
	done
done

echo "== 3. no-op plan of a comfyui_model with a 14 GB verified (sparse) file"
(cd providers/comfyui && "$WORK/comfyui.test" -test.run '^$' -test.bench 'BenchmarkPlanNoOp' -test.benchtime 2000x -test.benchmem | grep -E '^Benchmark')
echo "== done: load $(cut -d' ' -f1-3 /proc/loadavg)"
