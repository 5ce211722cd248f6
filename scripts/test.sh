#!/usr/bin/env bash
# Sets up everything and runs the test suite, twice:
#   1. build/        gcc, -Werror, the normal build: every ctest test
#   2. build-asan/   clang with AddressSanitizer + UndefinedBehaviorSanitizer
#                    and the libFuzzer targets: every ctest test again
#                    (fuzz corpora replay under the sanitizers)
# Usage: scripts/test.sh [--quick]   (--quick: only the normal build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSTD_WERROR=ON >/dev/null
ninja -C build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 900

if [ $quick -eq 0 ]; then
	CC=clang cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVSTD_WERROR=ON \
		-DVSTD_SANITIZE=ON -DVSTD_BUILD_FUZZERS=ON -DVSTD_BUILD_BENCH=OFF >/dev/null
	ninja -C build-asan -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 900
fi
