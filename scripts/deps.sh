#!/usr/bin/env bash
# Installs every Debian package that building, testing, the demo and the
# benchmarks use.  Idempotent and quick when everything is there.  Needs root
# (or sudo) only when something is missing.
set -euo pipefail
PACKAGES=(
	# build
	gcc g++ clang cmake ninja-build pkg-config git
	libxml2-dev libjson-c-dev zlib1g-dev libzstd-dev libssl-dev libmicrohttpd-dev
	libpam0g-dev
	# tests: Check, sanitizer and fuzzer runtimes, style
	check libsubunit-dev libclang-rt-14-dev clang-format
	# peers the tests compare against
	qemu-utils qemu-system-x86 libqcow-utils libvmdk-utils libvhdi-utils
	libxml2-utils sblim-wbemcli libvirt-clients genisoimage openssl
	# tools the tests and the demo use
	jq gnuplot-nox busybox-static cpio bzip2 gzip tar coreutils procps python3
	e2fsprogs curl fuse3 lz4 binutils
	# the monitor's tests boot Debian's cloud kernel (nested KVM under TCG when
	# the host's /dev/kvm cannot run a full guest)
	linux-image-cloud-amd64
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
