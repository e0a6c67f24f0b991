#!/usr/bin/env bash
# Builds the no_std C library (hdon-capi without std) for a Cortex-M4F, links firmware.c with
# it, runs the image on QEMU's mps2-an386 board and checks its outputs with the Rust image's
# check, tests/firmware/check_qemu.py: bit for bit against the host's portable kernels
# (`HDON_KERNEL=portable hdon run`, the same operations in the same order: the Cortex-M4F build
# has no SIMD, and `wide`'s fallback and the host's SSE code round alike), and within 1e-5 of
# the largest |output| of the host's best path. Then the error path: the same image with one byte of the model changed must report
# hdon_model_open's checksum failure and exit with status 1. Last, the -DHDON_SYSTICK build
# (instruction counts under QEMU's -icount) builds, runs and prints its counts.
#   runtime/capi/examples/firmware_check.sh HDON_BINARY [WORK_DIR]
# Needs: rustup target thumbv7em-none-eabihf; Debian's gcc-arm-none-eabi and qemu-system-arm;
# python3 with numpy. `.ci/test` runs it.
set -euo pipefail
hdon=${1:?usage: firmware_check.sh HDON_BINARY [WORK_DIR]}
work=${2:-$(mktemp -d -t hdon-firmware-c.XXXXXX)}
cd "$(dirname "$0")/../../.."
for tool in arm-none-eabi-gcc qemu-system-arm; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is missing: apt-get install gcc-arm-none-eabi qemu-system-arm (.ci/run installs them)" >&2
    exit 1
  fi
done
mkdir -p "$work"
model=runtime/examples/model.hdon

# (cargo warns that it drops the cdylib crate type: a bare-metal target has no shared libraries.)
cargo build -q -p hdon-capi --release --target thumbv7em-none-eabihf \
  --no-default-features --features panic-handler
lib="${CARGO_TARGET_DIR:-target}/thumbv7em-none-eabihf/release/libhdon.a"

# link MODEL ELF [CFLAGS...]: firmware.c with MODEL in its image.
link() {
  arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 \
    -ffreestanding -nostdlib -Wall -Wextra -Werror -I runtime/capi \
    -DHDON_MODEL_PATH="\"$1\"" "${@:3}" -T runtime/capi/examples/mps2-an386.ld \
    -Wl,--gc-sections -Wl,-z,noexecstack \
    runtime/capi/examples/firmware.c "$lib" -lgcc -o "$2"
}
# run ELF OUT [QEMU OPTIONS...]: the image on the board, its semihosting console into OUT; its
# exit status.
run() {
  rm -f "$2"
  timeout 60 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
    -chardev "file,id=console,path=$2" -semihosting-config enable=on,target=native,chardev=console \
    "${@:3}" -kernel "$1"
}

link "$model" "$work/firmware.elf"
run "$work/firmware.elf" "$work/qemu.txt"
arm-none-eabi-size "$work/firmware.elf" | tail -1 | awk '{printf "image: %d bytes of code and read-only data (the model: %d), %d of RAM\n", $1, '"$(stat -c %s "$model")"', $2 + $3}'

# The same comparison as the Rust image's (bits equal to the host's portable kernels, within
# 1e-5 of the largest |output| of its best path).
python3 tests/firmware/check_qemu.py "$work/qemu.txt" "$hdon" "$work" --bits-only

# The error path on the board: a model with one byte changed fails its checksum.
python3 - "$model" "$work/corrupt.hdon" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
link "$work/corrupt.hdon" "$work/corrupt.elf"
if run "$work/corrupt.elf" "$work/corrupt.txt"; then
  echo "firmware_check: the image with a corrupt model exited with status 0:" >&2
  cat "$work/corrupt.txt" >&2
  exit 1
fi
if ! grep -q "hdon_model_open failed: model file is malformed, corrupt" "$work/corrupt.txt"; then
  echo "firmware_check: the image with a corrupt model did not report it:" >&2
  cat "$work/corrupt.txt" >&2
  exit 1
fi
echo "corrupt model on the board: $(cat "$work/corrupt.txt")"

# The instruction counts of EMBEDDING.md (-DHDON_SYSTICK under -icount): they build and print.
link "$model" "$work/systick.elf" -DHDON_SYSTICK
run "$work/systick.elf" "$work/systick.txt" -icount shift=0
grep "^systick: " "$work/systick.txt" || {
  echo "firmware_check: the -DHDON_SYSTICK image printed no systick line:" >&2
  cat "$work/systick.txt" >&2
  exit 1
}
