#!/usr/bin/env bash
# The C sources follow .clang-format (run `clang-format -i` on what you touch).
set -euo pipefail
src=${VSTD_SOURCE_DIR:?}
command -v clang-format >/dev/null || { echo "SKIP build/format: needs clang-format (Debian package clang-format)"; [ "${VSTD_TEST_REQUIRE_ALL:-0}" = 1 ] && exit 1; exit 77; }
cd "$src"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find include lib tools tests fuzz bench vmm conformance -name '*.[ch]')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "ok: $(echo "$files" | wc -w) files formatted"
