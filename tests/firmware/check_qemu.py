"""Checks the bare-metal image's outputs, as printed under qemu-system-arm, against `hdon run` on
the host with the same inputs (sensors i/15 for i in 0..16, points k/7 for k in 0..8, as
src/main.rs). Run by .ci/test after QEMU, and by runtime/capi/examples/firmware_check.sh for
the C image (--bits-only: its lines carry the bits and an approximate decimal):

    python3 tests/firmware/check_qemu.py QEMU_OUTPUT HDON_BINARY WORK_DIR [--bits-only]

QEMU_OUTPUT is what the image printed (the semihosting console); WORK_DIR receives the inputs
and the host's output. Exits non-zero, saying why, on a missing or malformed line, a
difference from the host's best path over the tolerance, or any difference from the host's
portable path.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

MODEL = Path(__file__).resolve().parents[2] / "runtime" / "examples" / "model.hdon"
N_SENSORS = 16
N_POINTS = 8
# Tolerance on max |qemu - host| as a fraction of max |host output|. The image runs the
# portable kernels, whose `wide` vectors are plain scalar code on thumbv7em; the host runs its
# best path (AVX2+FMA on the CI machine), which orders and fuses the sums differently.
# Measured (AVX2+FMA host): max |diff| 2.1e-6 with max |output| 2.85, i.e. 7.2e-7 of it; up to
# 85 ulp on the outputs near zero (cancellation), so no per-point relative or ulp bound.
# 1e-5 is ~14x the measured difference; a wrong kernel or input is off by far more.
# The host's portable path (HDON_KERNEL=portable) runs the image's operations in the same order
# and `wide`'s SSE code rounds as its scalar fallback on thumbv7em does: the outputs must be the
# same bits.
TOL = 1e-5

LINE = re.compile(
    r"^out\[(\d+)\] y=(\S+) bits=0x([0-9a-f]{8}) value=(\S+)\s*$", re.MULTILINE
)
# --bits-only (the C image, runtime/capi/examples/firmware.c): lines "out[k] bits=0x... (~v)",
# without exact decimals of the point and the value.
BITS_LINE = re.compile(r"^out\[(\d+)\]() bits=0x([0-9a-f]{8}) \(~\S+\)()\s*$", re.MULTILINE)


def fail(msg):
    print(f"error: firmware under qemu: {msg}", file=sys.stderr)
    sys.exit(1)


def f32_from_bits(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def main():
    args = sys.argv[1:]
    bits_only = "--bits-only" in args
    args = [a for a in args if a != "--bits-only"]
    if len(args) != 3:
        fail("usage: check_qemu.py QEMU_OUTPUT HDON_BINARY WORK_DIR [--bits-only]")
    qemu_out, hdon, work = Path(args[0]), args[1], Path(args[2])
    text = qemu_out.read_text(errors="replace")
    if "hdon-firmware: status 0 (ok)" not in text:
        fail(f"no 'status 0 (ok)' line in {qemu_out}")
    rows = (BITS_LINE if bits_only else LINE).findall(text)
    if [int(r[0]) for r in rows] != list(range(N_POINTS)):
        fail(f"expected lines out[0]..out[{N_POINTS - 1}] in {qemu_out}, found {len(rows)}")

    sensors = np.arange(N_SENSORS, dtype=np.float32) / np.float32(N_SENSORS - 1)
    points = np.arange(N_POINTS, dtype=np.float32) / np.float32(N_POINTS - 1)
    got = f32_from_bits([int(r[2], 16) for r in rows])
    # The image's own points and decimals must be the same f32s as the inputs and the bits.
    if not bits_only and not np.array_equal(np.array([float(r[1]) for r in rows], dtype=np.float32), points):
        fail("the image's points are not k/7")
    if not bits_only and not np.array_equal(np.array([float(r[3]) for r in rows], dtype=np.float32), got):
        fail("a printed decimal is not its printed bit pattern")

    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "sensors.npy", sensors)
    np.save(work / "points.npy", points)
    out = work / "host.npy"
    subprocess.run(
        [hdon, "run", str(MODEL), "--sensors", str(work / "sensors.npy"),
         "--points", str(work / "points.npy"), "-o", str(out)],
        check=True,
    )
    host = np.load(out).reshape(-1)
    if host.shape != (N_POINTS,):
        fail(f"hdon run wrote {host.size} values, expected {N_POINTS}")
    # The host's portable path: the image's kernels compiled for x86-64.
    subprocess.run(
        [hdon, "run", str(MODEL), "--sensors", str(work / "sensors.npy"),
         "--points", str(work / "points.npy"), "-o", str(work / "host-portable.npy")],
        check=True, env={**os.environ, "HDON_KERNEL": "portable"}, stdout=subprocess.DEVNULL,
    )
    portable = np.load(work / "host-portable.npy").reshape(-1)

    diff = np.abs(got.astype(np.float64) - host.astype(np.float64))
    scale = float(np.max(np.abs(host)))
    ulps = np.abs(got.view(np.int32).astype(np.int64) - host.view(np.int32).astype(np.int64))
    for k in range(N_POINTS):
        print(f"  y={points[k]:.6f}  qemu {got[k]: .8e}  host {host[k]: .8e}  "
              f"|diff| {diff[k]:.2e}  ({ulps[k]} ulp)")
    worst = float(np.max(diff))
    print(f"max |diff| {worst:.3e}, / max |host output| ({scale:.4g}): {worst / scale:.3e} "
          f"(tolerance {TOL:g}); bit-identical at {int(np.sum(ulps == 0))} of {N_POINTS} points")
    same = int(np.sum(portable.view(np.uint32) == got.view(np.uint32)))
    print(f"host portable path (HDON_KERNEL=portable): bit-identical at {same} of {N_POINTS} points "
          "(required: all)")
    if not worst <= TOL * scale:
        fail(f"max |diff| {worst:.3e} > {TOL:g} x max |output| {scale:.4g}")
    if same != N_POINTS:
        fail(f"the host's portable path differs from the image at {N_POINTS - same} points")


if __name__ == "__main__":
    main()
