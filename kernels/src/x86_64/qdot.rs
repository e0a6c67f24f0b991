//! x86-64 integer row sums for the int8 W8A16 GEMV (`qgemv.rs`): int8 weights widened to i16
//! in registers (`vpmovsxbw`), multiplied by the i16 quantized input and summed exactly in
//! i32 lanes (`vpdpwssd` with AVX512-VNNI, `vpmaddwd` + `vpaddd` otherwise), then 16 (zmm) or
//! 8 (ymm) row accumulators reduced together by a transpose-and-add tree.
//!
//! Every function here is a small `unsafe` wrapper over intrinsics; the contract is
//! [`QRows::rows`]: the CPU supports the token's features, the rows exist, and
//! `cols <= QMAX_COLS` (the quantized vector buffers are `QBUF` i16, zero from `cols` to the
//! next multiple of 32, so full-width loads of `x_q` at the row tail stay inside them and read
//! zeros). Weight rows are never read
//! past their end: the zmm kernels use masked (fault-suppressing) loads for the tail, the ymm
//! kernels a zero-padded stack copy.

use core::arch::x86_64::*;

use crate::qgemv::{QRows, QVec, QBUF};
use crate::vector_math::activate_slice;
use crate::Activation;

use super::avx2::Avx2;
use super::avx512::Avx512;

/// AVX-512BW/VL row sums; `VNNI` selects `vpdpwssd` over `vpmaddwd` + `vpaddd`.
#[derive(Clone, Copy)]
pub(crate) struct Zmm<const VNNI: bool>;

/// AVX2 row sums (`vpmaddwd` + `vpaddd`).
#[derive(Clone, Copy)]
pub(crate) struct Ymm;

/// `acc + sum over pairs of w * x` (i16 pairs into i32 lanes, exact).
#[inline(always)]
unsafe fn dp512<const VNNI: bool>(acc: __m512i, w: __m512i, x: __m512i) -> __m512i {
    // SAFETY: the caller's CPU has AVX-512BW (and VNNI when VNNI).
    unsafe {
        if VNNI {
            _mm512_dpwssd_epi32(acc, w, x)
        } else {
            _mm512_add_epi32(acc, _mm512_madd_epi16(w, x))
        }
    }
}

/// 16 vectors of 16 i32 lanes to one vector whose lane `j` is the sum of `v[j]`'s lanes:
/// 15 add and 30 shuffle instructions instead of 16 horizontal reductions.
#[inline(always)]
unsafe fn reduce16(v: &[__m512i; 16]) -> __m512i {
    // SAFETY: AVX-512F.
    unsafe {
        // Per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3].
        let mut t = [_mm512_setzero_si512(); 8];
        for (i, o) in t.iter_mut().enumerate() {
            *o = {
                let (a, b) = (v[2 * i], v[2 * i + 1]);
                _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b))
            };
        }
        // Per 128-bit lane: the partial sums of rows 4i..4i+4, in order.
        let mut u = [_mm512_setzero_si512(); 4];
        for (i, o) in u.iter_mut().enumerate() {
            *o = {
                let (c, d) = (t[2 * i], t[2 * i + 1]);
                _mm512_add_epi32(_mm512_unpacklo_epi64(c, d), _mm512_unpackhi_epi64(c, d))
            };
        }
        /// Sums 128-bit blocks pairwise: `[a0+a1, a2+a3, b0+b1, b2+b3]`.
        #[inline(always)]
        unsafe fn half(a: __m512i, b: __m512i) -> __m512i {
            // SAFETY: AVX-512F (the caller's contract).
            unsafe {
                _mm512_add_epi32(
                    _mm512_shuffle_i32x4::<0b10_00_10_00>(a, b),
                    _mm512_shuffle_i32x4::<0b11_01_11_01>(a, b),
                )
            }
        }
        half(half(u[0], u[1]), half(u[2], u[3]))
    }
}

impl<const VNNI: bool> QRows for Zmm<VNNI> {
    const BLOCK4: bool = true;

    /// `16 / B` rows by `B` vectors = 16 accumulators; 32 columns per step.
    #[inline(always)]
    unsafe fn rows<const B: usize>(
        self,
        values: &[i8],
        cols: usize,
        r0: usize,
        n: usize,
        xs: [&QVec; B],
        sums: &mut [[i32; 16]; B],
    ) {
        let r_blk = 16 / B;
        debug_assert!(r_blk * B == 16 && n <= 16 && cols <= QBUF);
        debug_assert!(values.len() >= (r0 + n) * cols);
        let wp = values.as_ptr();
        // SAFETY: row pointers point at existing rows (rows past `n` repeat the last real one;
        // their sums are discarded); weight loads are full 32-byte loads inside a row
        // (c + 32 <= cols) or masked to the row's last `cols - c` bytes; `x_q` loads read
        // 32 i16 at c < cols <= QBUF, c a multiple of 32, inside the buffer.
        unsafe {
            let mut sub = 0;
            while sub < n {
                let m = (n - sub).min(r_blk);
                let mut wr = [wp; 16];
                for (k, p) in wr.iter_mut().enumerate().take(r_blk) {
                    *p = wp.add((r0 + sub + k.min(m - 1)) * cols);
                }
                let mut acc = [_mm512_setzero_si512(); 16];
                let mut c = 0;
                while c + 32 <= cols {
                    let mut xv = [_mm512_setzero_si512(); B];
                    for b in 0..B {
                        xv[b] = _mm512_loadu_si512(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm512_cvtepi8_epi16(_mm256_loadu_si256(wr[k].add(c).cast()));
                        for b in 0..B {
                            acc[k * B + b] = dp512::<VNNI>(acc[k * B + b], w, xv[b]);
                        }
                    }
                    c += 32;
                }
                if c < cols {
                    let mask: __mmask32 = (1u32 << (cols - c)) - 1;
                    let mut xv = [_mm512_setzero_si512(); B];
                    for b in 0..B {
                        xv[b] = _mm512_loadu_si512(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, wr[k].add(c)));
                        for b in 0..B {
                            acc[k * B + b] = dp512::<VNNI>(acc[k * B + b], w, xv[b]);
                        }
                    }
                }
                let mut out = [0i32; 16];
                _mm512_storeu_si512(out.as_mut_ptr().cast(), reduce16(&acc));
                for k in 0..m {
                    for b in 0..B {
                        sums[b][sub + k] = out[k * B + b];
                    }
                }
                sub += r_blk;
            }
        }
    }
}

/// 8 vectors of 8 i32 lanes to one vector whose lane `j` is the sum of `v[j]`'s lanes.
#[inline(always)]
unsafe fn reduce8(v: &[__m256i; 8]) -> __m256i {
    // SAFETY: AVX2.
    unsafe {
        let h0 = _mm256_hadd_epi32(v[0], v[1]);
        let h1 = _mm256_hadd_epi32(v[2], v[3]);
        let h2 = _mm256_hadd_epi32(v[4], v[5]);
        let h3 = _mm256_hadd_epi32(v[6], v[7]);
        // Per 128-bit lane: partial sums of rows 0..4 (g0) and 4..8 (g1).
        let g0 = _mm256_hadd_epi32(h0, h1);
        let g1 = _mm256_hadd_epi32(h2, h3);
        _mm256_add_epi32(
            _mm256_permute2x128_si256::<0x20>(g0, g1),
            _mm256_permute2x128_si256::<0x31>(g0, g1),
        )
    }
}

impl QRows for Ymm {
    const BLOCK4: bool = true;

    /// `8 / B` rows by `B` vectors (B = 4: 2 rows) = 8 accumulators; 16 columns per step.
    #[inline(always)]
    unsafe fn rows<const B: usize>(
        self,
        values: &[i8],
        cols: usize,
        r0: usize,
        n: usize,
        xs: [&QVec; B],
        sums: &mut [[i32; 16]; B],
    ) {
        let r_blk = 8 / B;
        debug_assert!(r_blk * B == 8 && n <= 16 && cols <= QBUF);
        debug_assert!(values.len() >= (r0 + n) * cols);
        let wp = values.as_ptr();
        // SAFETY: as for `Zmm`, with the row tail copied into a zeroed 16-byte stack buffer.
        unsafe {
            let mut sub = 0;
            while sub < n {
                let m = (n - sub).min(r_blk);
                let mut wr = [wp; 8];
                for (k, p) in wr.iter_mut().enumerate().take(r_blk) {
                    *p = wp.add((r0 + sub + k.min(m - 1)) * cols);
                }
                let mut acc = [_mm256_setzero_si256(); 8];
                let mut c = 0;
                while c + 16 <= cols {
                    let mut xv = [_mm256_setzero_si256(); B];
                    for b in 0..B {
                        xv[b] = _mm256_loadu_si256(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(wr[k].add(c).cast()));
                        for b in 0..B {
                            acc[k * B + b] =
                                _mm256_add_epi32(acc[k * B + b], _mm256_madd_epi16(w, xv[b]));
                        }
                    }
                    c += 16;
                }
                if c < cols {
                    let t = cols - c;
                    let mut xv = [_mm256_setzero_si256(); B];
                    for b in 0..B {
                        xv[b] = _mm256_loadu_si256(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let mut wb = [0i8; 16];
                        core::ptr::copy_nonoverlapping(wr[k].add(c), wb.as_mut_ptr(), t);
                        let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(wb.as_ptr().cast()));
                        for b in 0..B {
                            acc[k * B + b] =
                                _mm256_add_epi32(acc[k * B + b], _mm256_madd_epi16(w, xv[b]));
                        }
                    }
                }
                let mut out = [0i32; 8];
                _mm256_storeu_si256(out.as_mut_ptr().cast(), reduce8(&acc));
                for k in 0..m {
                    for b in 0..B {
                        sums[b][sub + k] = out[k * B + b];
                    }
                }
                sub += r_blk;
            }
        }
    }
}

macro_rules! q_entry {
    ($name:ident, $features:literal, $rows:expr, $token:expr) => {
        /// # Safety
        /// The CPU supports the features; lengths validated by `gemv::validate_gemv`;
        /// `cols <= QMAX_COLS`.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $features)]
        unsafe fn $name(
            values: &[i8],
            scales: &[f32],
            rows: usize,
            cols: usize,
            x: &[f32],
            batch: usize,
            bias: Option<&[f32]>,
            act: Activation,
            y: &mut [f32],
        ) {
            let y = &mut y[..batch * rows];
            // SAFETY: forwarded contract.
            unsafe {
                crate::qgemv::gemv_batch_with($rows, values, scales, rows, cols, x, batch, bias, y);
                activate_slice($token, act, y);
            }
        }
    };
}

q_entry!(
    entry_vnni,
    "avx512f,avx512dq,avx512bw,avx512vl,avx512vnni",
    Zmm::<true>,
    Avx512
);
q_entry!(
    entry_bw,
    "avx512f,avx512dq,avx512bw,avx512vl",
    Zmm::<false>,
    Avx512
);
q_entry!(
    entry_avx2_on512,
    "avx512f,avx512dq,avx2,fma,f16c",
    Ymm,
    Avx512
);
q_entry!(entry_avx2, "avx2,fma,f16c", Ymm, Avx2);

#[cfg(feature = "std")]
fn has(f: &str) -> bool {
    match f {
        "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
        "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
        "avx512vnni" => std::is_x86_feature_detected!("avx512vnni"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        _ => false,
    }
}
#[cfg(not(feature = "std"))]
fn has(f: &str) -> bool {
    match f {
        "avx512bw" => cfg!(target_feature = "avx512bw"),
        "avx512vl" => cfg!(target_feature = "avx512vl"),
        "avx512vnni" => cfg!(target_feature = "avx512vnni"),
        "avx2" => cfg!(target_feature = "avx2"),
        _ => false,
    }
}

/// Which integer kernel the AVX-512 path uses on this CPU: `"avx512vnni"`, `"avx512bw"`,
/// `"avx2"` (AVX-512F without BW) or `"portable"`.
fn avx512_int_kernel() -> &'static str {
    if has("avx512bw") && has("avx512vl") {
        if has("avx512vnni") {
            "avx512vnni"
        } else {
            "avx512bw"
        }
    } else if has("avx2") {
        "avx2"
    } else {
        "portable"
    }
}

/// The AVX-512 path's int8 GEMV (activation included). The caller checked
/// `Path::Avx512.is_supported()`, validated the lengths and `cols <= QMAX_COLS`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn avx512_qgemv_batch(
    values: &[i8],
    scales: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    debug_assert!(crate::Path::Avx512.is_supported() && cols <= QBUF);
    // SAFETY: each entry is called only when its features were detected (the AVX-512F/DQ part
    // by the caller); the rest of the contract is the caller's.
    unsafe {
        match avx512_int_kernel() {
            "avx512vnni" => entry_vnni(values, scales, rows, cols, x, batch, bias, act, y),
            "avx512bw" => entry_bw(values, scales, rows, cols, x, batch, bias, act, y),
            "avx2" => entry_avx2_on512(values, scales, rows, cols, x, batch, bias, act, y),
            _ => {
                let y = &mut y[..batch * rows];
                crate::qgemv::gemv_batch_with(
                    crate::qgemv::PortableRows,
                    values,
                    scales,
                    rows,
                    cols,
                    x,
                    batch,
                    bias,
                    y,
                );
                crate::x86_64::avx512_activate_slice(act, y);
            }
        }
    }
}

/// The AVX2 path's int8 GEMV (activation included). The caller checked
/// `Path::Avx2.is_supported()`, validated the lengths and `cols <= QMAX_COLS`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn avx2_qgemv_batch(
    values: &[i8],
    scales: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    debug_assert!(crate::Path::Avx2.is_supported() && cols <= QBUF);
    // SAFETY: AVX2 + FMA + F16C were detected by the caller; the rest is the caller's.
    unsafe { entry_avx2(values, scales, rows, cols, x, batch, bias, act, y) }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{vec, vec::Vec};

    use super::*;
    use crate::qgemv::{gemv_batch_generic, QMAX_COLS};
    use crate::Path;

    /// Every x86 integer kernel this CPU can run, not only the one dispatch picks, equals the
    /// scalar reference bit for bit (identity activation).
    #[test]
    fn every_int_kernel_matches_reference() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        type Entry = unsafe fn(
            &[i8],
            &[f32],
            usize,
            usize,
            &[f32],
            usize,
            Option<&[f32]>,
            Activation,
            &mut [f32],
        );
        let avx512 = has("avx512bw") && has("avx512vl") && Path::Avx512.is_supported();
        let mut entries: Vec<(&str, Entry)> = Vec::new();
        if avx512 && has("avx512vnni") {
            entries.push(("vnni", entry_vnni));
        }
        if avx512 {
            entries.push(("bw", entry_bw));
        }
        if Path::Avx512.is_supported() && Path::Avx2.is_supported() {
            entries.push(("avx2_on512", entry_avx2_on512));
        }
        if Path::Avx2.is_supported() {
            entries.push(("avx2", entry_avx2));
        }
        let shapes = [
            (1, 1),
            (16, 32),
            (17, 33),
            (5, 15),
            (40, 100),
            (3, 1000),
            (2, QMAX_COLS),
        ];
        for (rows, cols) in shapes {
            for batch in [1, 3, 4, 9] {
                let values: Vec<i8> = (0..rows * cols).map(|_| next() as i8).collect();
                let scales: Vec<f32> = (0..rows).map(|r| 0.01 + r as f32 * 1e-3).collect();
                let x: Vec<f32> = (0..batch * cols)
                    .map(|_| (next() % 20001) as f32 / 10000.0 - 1.0)
                    .collect();
                let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.1).collect();
                let mut want = vec![0.0f32; batch * rows];
                let a = Activation::Identity;
                let args = (rows, cols, batch);
                gemv_batch_generic(
                    Path::Scalar,
                    &values,
                    &scales,
                    rows,
                    cols,
                    &x,
                    batch,
                    Some(&bias),
                    a,
                    &mut want,
                );
                for (name, e) in &entries {
                    let mut y = vec![f32::NAN; batch * rows];
                    // SAFETY: the entry's features were detected above; lengths match.
                    unsafe {
                        e(
                            &values,
                            &scales,
                            rows,
                            cols,
                            &x,
                            batch,
                            Some(&bias),
                            a,
                            &mut y,
                        )
                    };
                    assert_eq!(y, want, "{name} {args:?}");
                }
            }
        }
    }
}
