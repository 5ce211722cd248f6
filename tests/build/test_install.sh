#!/usr/bin/env bash
# Install the build into a temporary prefix, then build a tiny program against
# the INSTALLED package twice: with CMake (find_package(vstd) -> vstd::vstd)
# and with pkg-config (vstd.pc), and run both.
set -euo pipefail
src=${VSTD_SOURCE_DIR:?}; bld=${VSTD_BUILD_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$bld" --prefix "$prefix" >/dev/null
san=""
if grep -q '^VSTD_SANITIZE:BOOL=ON' "$bld/CMakeCache.txt"; then
	san="-fsanitize=address,undefined"
fi
cat > "$tmp/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vstd/vstd.h>
int main(int argc, char **argv)
{
	vstd_disk_create_opts co = VSTD_DISK_CREATE_OPTS_INIT;
	vstd_disk *d = NULL;
	co.format = "raw";
	co.size = 1 << 20;
	if (vstd_disk_create(argv[1], &co) < 0 || vstd_disk_open(&d, argv[1], NULL) < 0) {
		fprintf(stderr, "%s\n", vstd_error_last()->message);
		return 1;
	}
	printf("vstd %s %s %llu\n", vstd_version(NULL, NULL, NULL), vstd_disk_format(d),
	       (unsigned long long)vstd_disk_size(d));
	vstd_disk_close(d);
	return 0;
}
C
mkdir -p "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<C
cmake_minimum_required(VERSION 3.25)
project(hello C)
find_package(vstd REQUIRED)
add_executable(hello $tmp/hello.c)
target_link_libraries(hello PRIVATE vstd::vstd)
target_compile_options(hello PRIVATE $san)
target_link_options(hello PRIVATE $san)
C
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
out=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/cm/build/hello" "$tmp/a.raw")
echo "cmake consumer: $out"
[[ "$out" == "vstd "*" raw 1048576" ]] || { echo "FAIL: unexpected output"; exit 1; }
libdir=$(dirname "$(find "$prefix" -name vstd.pc | head -1)")
export PKG_CONFIG_PATH=$libdir
# shellcheck disable=SC2046
gcc $san "$tmp/hello.c" -o "$tmp/hello-pc" $(pkg-config --cflags --libs vstd)
out=$(LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/hello-pc" "$tmp/b.raw")
echo "pkg-config consumer: $out"
[[ "$out" == "vstd "*" raw 1048576" ]] || { echo "FAIL: unexpected output"; exit 1; }
# the static library, with vstd.pc's private requirements linked as shared libraries
deps=$(pkg-config --print-requires-private vstd | awk '{print $1}')
# shellcheck disable=SC2046,SC2086
gcc $san "$tmp/hello.c" -o "$tmp/hello-static" -DVSTD_STATIC $(pkg-config --cflags vstd) \
	"$(dirname "$libdir")/libvstd.a" $(pkg-config --libs $deps) -lpthread -lm
out=$("$tmp/hello-static" "$tmp/c.raw")
echo "static consumer: $out"
[[ "$out" == "vstd "*" raw 1048576" ]] || { echo "FAIL: unexpected output"; exit 1; }
# only the API is exported from the shared library
bad=$(nm -D --defined-only "$(dirname "$libdir")/libvstd.so" | awk '$2 ~ /[TDB]/ {print $3}' | grep -v '^vstd_' | grep -v '^_' || true)
[ -z "$bad" ] || { echo "FAIL: libvstd.so exports non-API symbols: $bad"; exit 1; }
echo "ok: installed package works with CMake, pkg-config and static linking"
