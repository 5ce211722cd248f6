#!/usr/bin/env bash
# Each public header compiles on its own, as C11 with -pedantic and as C++.
set -euo pipefail
src=${VSTD_SOURCE_DIR:?}; bld=${VSTD_BUILD_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v g++ >/dev/null || { echo "SKIP build/headers: needs g++ (Debian package g++)"; [ "${VSTD_TEST_REQUIRE_ALL:-0}" = 1 ] && exit 1; exit 77; }
n=0
for h in "$src"/include/vstd/*.h "$bld"/include/vstd/version.h; do
	name=vstd/$(basename "$h")
	printf '#include "%s"\n#include "%s"\nint main(void) { return 0; }\n' "$name" "$name" > "$tmp/t.c"
	gcc -std=c11 -pedantic -Wall -Wextra -Werror -I"$src/include" -I"$bld/include" -c "$tmp/t.c" -o "$tmp/t.o" ||
		{ echo "FAIL: $name does not compile alone as C11"; exit 1; }
	cp "$tmp/t.c" "$tmp/t.cc"
	g++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$src/include" -I"$bld/include" -c "$tmp/t.cc" -o "$tmp/t.o" ||
		{ echo "FAIL: $name does not compile alone as C++"; exit 1; }
	n=$((n + 1))
done
echo "ok: $n public headers compile alone in C11 and C++"
