# shellcheck shell=bash
# Installs the Debian packages oombreaker needs to build, test and demo, and nothing when
# they are all present. Sourced by scripts/test, scripts/demo and scripts/bench. lintian checks
# the .deb in tests/integration/test-deb.sh, which also loads its completion with bash-completion.
# qemu-system-x86, linux-image-amd64, busybox-static, kmod and cpio are for the VM suite
# (tests/vm): a guest with systemd as PID 1 on cgroup v2. oomd is the peer of scripts/bench.

OOMBREAKER_PACKAGES=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	libinih-dev libjansson-dev libcmocka-dev libcgroup-dev libcurl4-openssl-dev
	libmicrohttpd-dev libsystemd-dev systemd
	haproxy prometheus python3 python3-prometheus-client
	golang-go golang-github-prometheus-client-golang-dev golang-github-prometheus-common-dev
	curl jq procps psmisc socat python3-yaml
	oomd
	dpkg-dev man-db groff-base
	lintian bash-completion
	qemu-system-x86 linux-image-amd64 busybox-static kmod cpio
)

deps_missing() {
	local p missing=()
	for p in "${OOMBREAKER_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	# Node.js and npm for the nodejs preset's live test (prom-client comes from npm). A node
	# that is already there (Debian's, or a vendor build that bundles npm) is kept.
	command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
	echo "${missing[@]}"
}

deps_install() {
	local missing
	missing=$(deps_missing)
	if [ -z "$missing" ]; then
		echo "deps: all ${#OOMBREAKER_PACKAGES[@]} packages present, nothing to install"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: $missing" >&2
		echo "deps: run as root, or install them with: apt-get install $missing" >&2
		return 1
	fi
	echo "deps: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || return 1
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing || return 1
	# Debian starts packaged daemons on install; the tests start their own on loopback.
	for svc in haproxy prometheus; do
		pkill -x "$svc" 2>/dev/null || true
	done
	# oomd (scripts/bench whole runs its own on a fixture tree) would watch this host with its
	# packaged desktop config: stop the service the install may have started.
	case " $missing " in
	*" oomd "*) invoke-rc.d oomd stop >/dev/null 2>&1 || true ;;
	esac
	return 0
}
