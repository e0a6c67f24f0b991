#!/usr/bin/env bash
# Checks that the x86-64 kernel entries of release binaries call no SIMD intrinsic and no
# closure. The kernels are generic `#[inline(always)]` code instantiated inside
# `#[target_feature]` entries (kernels/src/x86_64/); a helper that LLVM leaves out of line (a
# closure, `core::array::try_from_fn`) is compiled without the entry's target features, and
# every intrinsic in it then becomes a call: the AVX2 tile evaluator ran 5.7x slower that way
# (docs/PERFORMANCE.md, 2026-12-07). kernels/clippy.toml bans the known cause; this catches
# the rest in the built code.
#
# usage: benches/check_entries.sh BINARY_OR_LIBRARY...   (release builds; needs objdump)
# Prints each offending call as `entry -> callee`; exits 1 if there is one, 2 when a file has
# no x86-64 kernel symbols to check (stripped, or another architecture's build).
set -euo pipefail
case "${1:-}" in
  "") sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
command -v objdump >/dev/null || { echo "check_entries.sh: objdump not found (Debian: binutils)" >&2; exit 2; }
bad=0
for f in "$@"; do
  [ -f "$f" ] || { echo "check_entries.sh: no such file: $f" >&2; exit 2; }
  listing=$(objdump -d -C --no-show-raw-insn "$f")
  # A stripped file, or one without hdon's x86-64 kernels, passed as "no calls": nothing was
  # checked.
  if ! grep -q '^[0-9a-f]* <hdon_kernels::x86_64::' <<<"$listing"; then
    echo "check_entries.sh: $f: no hdon_kernels::x86_64 symbols (stripped, not x86-64, or no hdon kernels); nothing to check" >&2
    exit 2
  fi
  calls=$(awk '
    /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next }
    fn ~ /^hdon_kernels::x86_64::/ && /call/ && /core_arch|try_from_fn|array::from_fn|\{closure/ {
      callee = $0; sub(/^.*</, "", callee); sub(/>.*$/, "", callee)
      print fn " -> " callee
    }' <<<"$listing" | sort -u)
  if [ -n "$calls" ]; then
    echo "$f: x86-64 kernel code calls out of line (intrinsics or closures lost their target features):" >&2
    echo "$calls" >&2
    bad=1
  else
    echo "$f: no intrinsic or closure calls in the x86-64 kernels"
  fi
done
exit "$bad"
