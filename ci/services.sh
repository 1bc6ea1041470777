#!/usr/bin/env bash
# Start and stop the real services sdform's integration tests use: a BuildKit
# daemon, a Docker Engine, a registry on 127.0.0.1:5000 and a busybox base
# image in both. See ../shared/ci-services.md for why each is had this way.
#
#   ci/services.sh start    build what is missing (cached in .cache/), start
#                           everything on a fresh temp dir, write
#                           .cache/services.env and .cache/services.pids
#   ci/services.sh stop     stop exactly the recorded PIDs, remove the temp dir
#   ci/services.sh status   say what is running
#
# The registry listens on 127.0.0.1:5000 unless SDFORM_SERVICES_REGISTRY_ADDR
# says otherwise. BuildKit also listens on a free 127.0.0.1 port with mutual
# TLS (certificates made here, in the temp dir's tls/).
#
# After start:  . .cache/services.env
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache
BIN=$CACHE/bin
ENV_FILE=$CACHE/services.env
PIDS_FILE=$CACHE/services.pids

BUILDKIT_VERSION=v0.34.2 # the client module's version in go.mod
REGISTRY_VERSION=v3.1.2
CRANE_VERSION=v0.22.1
# Another checkout's services may hold 5000: SDFORM_SERVICES_REGISTRY_ADDR
# moves this one (tests follow SDFORM_REGISTRY; 127.0.0.0/8 is insecure
# for Docker and BuildKit pushes with registry.insecure=true on any port).
REGISTRY_ADDR=${SDFORM_SERVICES_REGISTRY_ADDR:-127.0.0.1:5000}
BASE_IMAGE=$REGISTRY_ADDR/base:busybox
DOCKER_BASE_IMAGE=busybox:local
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for PID TRIES COMMAND...: retry COMMAND every 0.25 s, at most TRIES
# times, giving up at once if the daemon PID has exited.
wait_for() {
	local pid=$1 tries=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}

# alive NAME PID: PID is running and is the program we started as NAME, so a
# recycled PID is never mistaken for ours.
alive() {
	local name=$1 pid=$2 exe
	kill -0 "$pid" 2>/dev/null || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ $(basename "${exe% (deleted)}") == "$name" ]]
}

# --- installing (cached) ----------------------------------------------------

install_packages() {
	local missing=()
	command -v dockerd >/dev/null || missing+=(docker.io)
	command -v runc >/dev/null || missing+=(runc)
	[[ -x /bin/busybox ]] && dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
	command -v curl >/dev/null || missing+=(curl)
	command -v openssl >/dev/null || missing+=(openssl)
	if ((${#missing[@]})); then
		log "apt-get install ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# BuildKit's go.mod has exclude directives, so `go install …@version` is
# refused: build a copy of the module the Go module cache already holds.
build_buildkit() {
	if [[ -x $BIN/buildkitd && -x $BIN/buildctl ]] &&
		"$BIN/buildkitd" --version 2>/dev/null | grep -q " $BUILDKIT_VERSION\b" &&
		"$BIN/buildctl" --version 2>/dev/null | grep -q " $BUILDKIT_VERSION\b"; then
		return
	fi
	log "building buildkitd and buildctl $BUILDKIT_VERSION (about a minute)"
	local dir src
	dir=$(cd "$ROOT" && go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $dir ]] || die "go mod download github.com/moby/buildkit@$BUILDKIT_VERSION gave no directory"
	src=$(mktemp -d "${TMPDIR:-/tmp}/sdform-buildkit-src.XXXXXX")
	cp -r "$dir/." "$src"
	chmod -R u+w "$src"
	mkdir -p "$BIN"
	(cd "$src" && go build -mod=mod -buildvcs=false \
		-ldflags "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" \
		-o "$BIN/" ./cmd/buildkitd ./cmd/buildctl)
	rm -rf "$src"
}

# go_install BINARY MODULE_PATH PACKAGE@VERSION: go install unless the cached
# binary was built from that module version.
go_install() {
	local bin=$1 mod=$2 pkg=$3 version=${3##*@}
	if [[ -x $BIN/$bin ]] && go version -m "$BIN/$bin" 2>/dev/null | grep -qE "^\s+mod\s+$mod\s+$version\s"; then
		return
	fi
	log "go install $pkg"
	mkdir -p "$BIN"
	(cd "$ROOT" && GOBIN=$BIN go install -buildvcs=false "$pkg")
}

# --- starting ---------------------------------------------------------------

# spawn NAME LOG COMMAND...: start a daemon in its own session (so that a
# signal to the caller's process group does not reach it), record its PID.
spawn() {
	local name=$1 logfile=$2
	shift 2
	setsid "$@" >"$logfile" 2>&1 </dev/null &
	SPAWNED=$!
	echo "$name $SPAWNED" >>"$PIDS_FILE"
	log "$name started (PID $SPAWNED, log $logfile)"
}

start_registry() {
	if (exec 3<>"/dev/tcp/${REGISTRY_ADDR%:*}/${REGISTRY_ADDR##*:}") 2>/dev/null; then
		die "something already listens on $REGISTRY_ADDR: stop it (ci/services.sh stop, if it is another checkout's) or set SDFORM_SERVICES_REGISTRY_ADDR"
	fi
	cat >"$TMP/registry.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $TMP/registry
		  delete:
		    enabled: true
		http:
		  addr: $REGISTRY_ADDR
	EOF
	spawn registry "$TMP/registry.log" "$BIN/registry" serve "$TMP/registry.yml"
	wait_for "$SPAWNED" 120 curl -fsS --max-time 1 "http://$REGISTRY_ADDR/v2/" ||
		die "registry did not answer on $REGISTRY_ADDR (it exited, or 30 s passed); see $TMP/registry.log"
}

# free_port prints a TCP port on 127.0.0.1 that nothing answers on.
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found on 127.0.0.1"
}

# make_tls DIR: a CA of its own, a server certificate for 127.0.0.1 and a
# client certificate, for BuildKit's mutual TLS on tcp://. Valid two days.
make_tls() {
	local d=$1 who
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=sdform-ci-ca -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=sdform-ci-$who" \
			-keyout "$d/$who-key.pem" -out "$d/$who.csr" 2>/dev/null
		openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -days 2 \
			-set_serial "0x$(openssl rand -hex 8)" -out "$d/$who.pem" -extfile <(
				if [[ $who == server ]]; then
					printf 'subjectAltName=IP:127.0.0.1,DNS:buildkitd\nextendedKeyUsage=serverAuth\n'
				else
					printf 'extendedKeyUsage=clientAuth\n'
				fi
			) 2>/dev/null
		rm -f "$d/$who.csr"
	done
	chmod 600 "$d"/*-key.pem
}

start_buildkitd() {
	# Host networking: no CNI here, and tests talk to 127.0.0.1 only. The
	# containerd worker stays off so that a system containerd is never used.
	# The same daemon also listens on a tcp:// port with mutual TLS (TLS
	# applies to tcp:// only; the unix socket stays plain).
	make_tls "$TMP/tls"
	BUILDKIT_TLS_ADDR=tcp://127.0.0.1:$(free_port)
	spawn buildkitd "$TMP/buildkitd.log" "$BIN/buildkitd" \
		--addr "unix://$TMP/buildkitd.sock" --addr "$BUILDKIT_TLS_ADDR" \
		--tlscacert "$TMP/tls/ca.pem" --tlscert "$TMP/tls/server.pem" --tlskey "$TMP/tls/server-key.pem" \
		--root "$TMP/bkroot" \
		--oci-worker=true --oci-worker-net=host --oci-worker-snapshotter=overlayfs \
		--containerd-worker=false
	wait_for "$SPAWNED" 240 "$BIN/buildctl" --addr "unix://$TMP/buildkitd.sock" debug workers ||
		die "buildkitd did not answer (it exited, or 60 s passed); see $TMP/buildkitd.log"
	wait_for "$SPAWNED" 40 "$BIN/buildctl" --addr "$BUILDKIT_TLS_ADDR" --tlscacert "$TMP/tls/ca.pem" \
		--tlscert "$TMP/tls/client.pem" --tlskey "$TMP/tls/client-key.pem" debug workers ||
		die "buildkitd did not answer with TLS on $BUILDKIT_TLS_ADDR; see $TMP/buildkitd.log"
}

start_dockerd() {
	echo '{}' >"$TMP/daemon.json" # keep /etc/docker/daemon.json out of it
	spawn dockerd "$TMP/dockerd.log" dockerd \
		--host "unix://$TMP/docker.sock" --config-file "$TMP/daemon.json" \
		--data-root "$TMP/docker" --exec-root "$TMP/docker-exec" --pidfile "$TMP/docker.pid" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false --log-level=warn
	wait_for "$SPAWNED" 240 curl -fsS --max-time 1 --unix-socket "$TMP/docker.sock" http://localhost/_ping ||
		die "dockerd did not answer (it exited, or 60 s passed); see $TMP/dockerd.log"
}

# make_base_image lays out Debian's static busybox as a root filesystem and
# puts it in the registry (for BuildKit) and in dockerd (for the Engine path).
# The tar is made reproducibly, so the base image digest is the same on
# every start and BuildKit cache keys built on it stay valid.
make_base_image() {
	local rootfs=$TMP/busybox-rootfs tar=$TMP/busybox-rootfs.tar applet
	mkdir -p "$rootfs"/{bin,etc,root,tmp,proc,sys,dev,usr/bin,var/tmp}
	chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
	cp /bin/busybox "$rootfs/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
	done
	ln -sf ../../bin/busybox "$rootfs/usr/bin/env"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$tar" .

	"$BIN/crane" append --insecure -f "$tar" -t "$BASE_IMAGE" >/dev/null 2>>"$TMP/crane.log" ||
		die "crane append to $BASE_IMAGE failed; see $TMP/crane.log"
	# Without a platform BuildKit's exporters fail with "missing architecture".
	"$BIN/crane" mutate --insecure "$BASE_IMAGE" --set-platform linux/amd64 \
		-e "PATH=$DEFAULT_PATH" --cmd /bin/sh -t "$BASE_IMAGE" >/dev/null 2>>"$TMP/crane.log" ||
		die "crane mutate $BASE_IMAGE failed; see $TMP/crane.log"
	log "pushed $BASE_IMAGE ($("$BIN/crane" digest --insecure "$BASE_IMAGE"))"

	# The Engine API's import, not the docker CLI: /usr/local/bin/docker is a
	# newer client that shadows Debian's.
	local out
	out=$(curl -fsS --max-time 60 --unix-socket "$TMP/docker.sock" -X POST \
		-H 'Content-Type: application/x-tar' --data-binary "@$tar" \
		"http://localhost/images/create?fromSrc=-&repo=${DOCKER_BASE_IMAGE%%:*}&tag=${DOCKER_BASE_IMAGE##*:}&changes=ENV%20PATH%3D${DEFAULT_PATH//\//%2F}&changes=CMD%20%5B%22%2Fbin%2Fsh%22%5D") ||
		die "import $DOCKER_BASE_IMAGE into dockerd failed"
	grep -q '"status":"sha256:' <<<"$out" || die "import $DOCKER_BASE_IMAGE into dockerd: $out"
	log "imported $DOCKER_BASE_IMAGE into dockerd"
}

running() {
	[[ -s $PIDS_FILE && -s $ENV_FILE ]] || return 1
	local name pid
	while read -r name pid; do
		[[ $name == dir ]] || alive "$name" "$pid" || return 1
	done <"$PIDS_FILE"
	(
		# shellcheck disable=SC1090
		. "$ENV_FILE"
		curl -fsS --max-time 1 "http://$SDFORM_REGISTRY/v2/" &&
			curl -fsS --max-time 1 --unix-socket "${SDFORM_DOCKER_HOST#unix://}" http://localhost/_ping &&
			"$BIN/buildctl" --addr "$SDFORM_BUILDKIT_ADDR" debug workers &&
			"$BIN/buildctl" --addr "$SDFORM_BUILDKIT_TLS_ADDR" --tlscacert "$SDFORM_BUILDKIT_TLS_DIR/ca.pem" \
				--tlscert "$SDFORM_BUILDKIT_TLS_DIR/client.pem" --tlskey "$SDFORM_BUILDKIT_TLS_DIR/client-key.pem" debug workers
	) >/dev/null 2>&1
}

start() {
	if running; then
		log "already running; . $ENV_FILE"
		return 0
	fi
	if [[ -e $PIDS_FILE ]]; then
		log "a previous start is half-running or gone; stopping what it recorded"
		stop
	fi
	local t0=$SECONDS
	command -v go >/dev/null || die "go is not on PATH"
	install_packages
	build_buildkit
	go_install registry github.com/distribution/distribution/v3 "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
	go_install crane github.com/google/go-containerregistry "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
	log "binaries ready after $((SECONDS - t0)) s"

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/sdform-services.XXXXXX")
	chmod 700 "$TMP"
	mkdir -p "$CACHE"
	echo "dir $TMP" >"$PIDS_FILE"
	rm -f "$ENV_FILE"
	# A failure half-way leaves nothing running.
	trap 'log "start failed; stopping what was started"; stop' EXIT
	start_registry
	start_buildkitd
	start_dockerd
	make_base_image

	cat >"$ENV_FILE.tmp" <<-EOF
		export SDFORM_SERVICES_DIR=$TMP
		export SDFORM_BUILDKIT_ADDR=unix://$TMP/buildkitd.sock
		export SDFORM_BUILDKIT_TLS_ADDR=$BUILDKIT_TLS_ADDR
		export SDFORM_BUILDKIT_TLS_DIR=$TMP/tls
		export SDFORM_BUILDCTL=$BIN/buildctl
		export SDFORM_DOCKER_HOST=unix://$TMP/docker.sock
		export SDFORM_REGISTRY=$REGISTRY_ADDR
		export SDFORM_BASE_IMAGE=$BASE_IMAGE
		export SDFORM_DOCKER_BASE_IMAGE=$DOCKER_BASE_IMAGE
	EOF
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	trap - EXIT
	log "all services up in $((SECONDS - t0)) s; . $ENV_FILE"
}

# --- stopping ---------------------------------------------------------------

# stop_pid NAME PID: TERM, wait up to 20 s, then KILL.
stop_pid() {
	local name=$1 pid=$2 i
	alive "$name" "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 80; i++)); do
		alive "$name" "$pid" || { log "$name (PID $pid) stopped"; return 0; }
		sleep 0.25
	done
	log "$name (PID $pid) did not stop in 20 s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		alive "$name" "$pid" || return 0
		sleep 0.25
	done
}

stop() {
	[[ -s $PIDS_FILE ]] || { log "nothing recorded in $PIDS_FILE; nothing to stop"; rm -f "$ENV_FILE"; return 0; }
	local dir="" name pid k
	local -a names=() pids=()
	while read -r name pid; do
		if [[ $name == dir ]]; then
			dir=$pid
		else
			names+=("$name")
			pids+=("$pid")
		fi
	done <"$PIDS_FILE"
	# Reverse start order: dockerd and buildkitd before the registry.
	for ((k = ${#names[@]} - 1; k >= 0; k--)); do
		stop_pid "${names[k]}" "${pids[k]}"
	done
	if [[ -n $dir && -d $dir ]]; then
		# dockerd runs its own containerd; if dockerd was killed before it
		# could stop it, its PID file in our exec-root names it.
		local cpid
		cpid=$(cat "$dir/docker-exec/containerd/containerd.pid" 2>/dev/null || true)
		[[ -n $cpid ]] && stop_pid containerd "$cpid"
		# Remove only our own temp dir, and nothing through a mount left in it.
		case $dir in /*/sdform-services.*) ;; *) die "refusing to remove $dir: not a services temp dir" ;; esac
		local m
		awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		if awk -v d="$dir/" 'index($2, d) == 1 {found=1} END {exit !found}' /proc/self/mounts; then
			log "mounts remain under $dir; leaving it in place"
		else
			rm -rf "$dir"
		fi
	fi
	rm -f "$PIDS_FILE" "$ENV_FILE"
	log "stopped"
}

status() {
	if running; then
		cat "$ENV_FILE"
		return 0
	fi
	log "not running"
	return 1
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
