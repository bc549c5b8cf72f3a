#!/usr/bin/env bash
# The layers of agent/ (docs/architecture.md), made explicit:
#  1. agent/core includes only agent/core headers and libc/POSIX headers (a whitelist);
#     agent/io only core and io; agent/daemon only core, io and daemon; cli anything in agent/.
#  2. The built core library is pure: every function it calls is its own, a pure libc
#     function (memory, strings, formatting, parsing numbers) or libm, so no I/O, no clock
#     and no other library; and it has no writable globals (.data, .bss).
# The include paths in CMakeLists.txt already refuse most crossings; this says so, and also
# catches what an include path cannot (a libc I/O call, a system header like <ini.h>).
set -euo pipefail

src=${OOMBREAKER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${OOMBREAKER_BINARY_DIR:-}
errors=0

problem() {
	echo "FAIL: $*" >&2
	errors=$((errors + 1))
}

# C11 and POSIX headers the core may include (arpa/inet.h: inet_pton parses an address text).
core_system_headers=" assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h
	limits.h locale.h math.h stdalign.h stdarg.h stdbool.h stddef.h stdint.h stdio.h stdlib.h
	stdnoreturn.h string.h strings.h tgmath.h uchar.h wchar.h wctype.h sys/types.h unistd.h
	arpa/inet.h "
core_system_headers=" $(echo $core_system_headers) "

# includes FILE KIND: the names FILE includes with "..." (KIND quote) or <...> (KIND angle).
includes() {
	local re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)"'
	[ "$2" = angle ] && re='^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>'
	sed -nE "s/$re.*/\1/p" "$1"
}

# check_layer LAYER ALLOWED...: every "..." include of agent/LAYER names a header of an
# allowed layer.
check_layer() {
	local layer=$1 f h l found
	shift
	for f in "$src/agent/$layer"/*.[ch]; do
		while read -r h; do
			found=
			for l in "$@"; do
				[ -f "$src/agent/$l/$h" ] && found=$l
			done
			[ -n "$found" ] ||
				problem "agent/$layer/${f##*/} includes \"$h\", not a header of: $*"
		done < <(includes "$f" quote)
	done
}

check_layer core core
check_layer io core io
check_layer daemon core io daemon
check_layer cli core io daemon cli

for f in "$src"/agent/core/*.[ch]; do
	while read -r h; do
		[[ $core_system_headers == *" $h "* ]] ||
			problem "agent/core/${f##*/} includes <$h>, not a libc/POSIX header"
	done < <(includes "$f" angle)
done

# The check must be able to fail: a core file including an io header is caught.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
mkdir -p "$probe/agent/core" "$probe/agent/io"
printf '#include "clock.h"\n#include <ini.h>\n' >"$probe/agent/core/bad.c"
touch "$probe/agent/io/clock.h"
[ "$(src=$probe check_layer core core 2>&1 | grep -c 'bad.c includes "clock.h"')" -eq 1 ] ||
	problem "the include check does not catch agent/core including an io header"

if [ -z "$build" ] || [ ! -f "$build/liboombreaker_core.a" ]; then
	[ "$errors" -eq 0 ] || exit 1
	echo "SKIP: the include rules hold; no built liboombreaker_core.a to check the symbols of" >&2
	exit 77
fi
core=$build/liboombreaker_core.a

libm=$(cc -print-file-name=libm.so.6 2>/dev/null || true)
[ -f "$libm" ] || libm=$(ldconfig -p | awk '/libm\.so\.6 .*x86-64|libm\.so\.6 / {print $NF; exit}')
[ -f "$libm" ] || {
	echo "SKIP: cannot find libm.so.6 to check the core's symbols against" >&2
	exit 77
}

pure_libc='^(__errno_location|__assert_fail|__stack_chk_fail|__ctype_(b|tolower|toupper)_loc'
pure_libc+='|__isoc(99|23)_v?sscanf|v?sscanf|v?snprintf|v?asprintf'
pure_libc+='|inet_pton|calloc|malloc|realloc|reallocarray|free|qsort|bsearch|abs|labs|llabs|tolower|toupper'
pure_libc+='|mem(chr|rchr|cmp|cpy|pcpy|move|set|mem)|str[a-z_]*'
pure_libc+='|__(asan|ubsan|sanitizer|sancov|lsan)_[A-Za-z0-9_]*'
# _FORTIFY_SOURCE's checked variants of the same (not __printf_chk, __fprintf_chk: I/O), and
# the linker's table of a position-independent build.
pure_libc+='|__(mem[a-z]*|st[rp][a-z]*|v?sn?printf)_chk|_GLOBAL_OFFSET_TABLE_)$'

defined=$(nm --defined-only "$core" | awk 'NF == 3 {print $3}' | sort -u)
in_libm=$(nm -D --defined-only "$libm" | awk '{print $3}' | sed 's/@.*//' | sort -u)
while read -r sym; do
	grep -qxF "$sym" <<<"$defined" && continue
	grep -qxF "$sym" <<<"$in_libm" && continue
	[[ $sym =~ $pure_libc ]] && continue
	problem "the core library calls $sym: not its own, a pure libc function or libm"
done < <(nm -u "$core" | awk '$1 == "U" {print $2}' | sort -u)

# No writable globals: no object in .data or .bss, none common.
while read -r line; do
	problem "the core library has a writable global: $line"
done < <(objdump -t "$core" | awk '/[ \t]O[ \t]+(\.data|\.bss|\*COM\*)[ \t]/ {print $NF}')

# The module graph (one node per .c, an edge where one calls what another defines) has no
# cycles: a family of files (loop*, policy*, promtext*, state*) has a driver that calls its
# parts and parts that call only leaves, never back up.
libs=()
for l in core io daemon agent; do
	[ -f "$build/liboombreaker_$l.a" ] && libs+=("$build/liboombreaker_$l.a")
done
graph=$(python3 "$src/tests/tools/module-graph.py" "${libs[@]}") ||
	problem "the module graph has cycles (break each by moving what the parts share into a leaf file):
$graph"
echo "${graph##*$'\n'}"

# ...and the cycle check can fail: two objects that call each other are a cycle.
printf 'int b(int);\nint a(int x) { return x ? b(x - 1) : 0; }\n' >"$probe/a.c"
printf 'int a(int);\nint b(int x) { return x ? a(x - 1) : 1; }\n' >"$probe/b.c"
(cd "$probe" && cc -c a.c b.c && ar qc cycle.a a.o b.o)
probe_graph=$(python3 "$src/tests/tools/module-graph.py" "$probe/cycle.a" || true)
grep -qx 'cycle: a <-> b' <<<"$probe_graph" ||
	problem "the module graph check does not catch two files that call each other"

[ "$errors" -eq 0 ] || exit 1
echo "ok: layers hold; the core calls only itself, pure libc and libm, and has no globals; no module cycles"
