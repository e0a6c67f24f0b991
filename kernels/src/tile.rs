//! Target-MLP evaluation with points in SIMD lanes (see the crate docs, "Points in lanes").
//!
//! A tile is `S::LANES` points. Its activations live in two scratch buffers `[width, LANES]`
//! (row `i` = input `i` of every point of the tile); each layer reads one and writes the other,
//! R output rows at a time (R independent accumulators hide the FMA latency), with bias and
//! activation applied before the store.

use crate::simd::Simd;
use crate::vector_math::activate;
use crate::{Activation, Layer};

/// Output rows computed together (independent FMA chains per input).
const MR: usize = 8;

/// `R` output rows of one layer for one tile.
///
/// # Safety
/// The path of `s` is supported. `params` points at row 0 of the block (`R` rows of
/// `n_in + 1` f32 each readable); `hin` holds `n_in * LANES` readable f32, `hout`
/// `R * LANES` writable f32.
#[inline(always)]
unsafe fn rows<S: Simd, const R: usize>(
    s: S,
    params: *const f32,
    n_in: usize,
    act: Activation,
    hin: *const f32,
    hout: *mut f32,
) {
    let l = S::LANES;
    let stride = n_in + 1;
    // SAFETY: offsets stay within the ranges the caller guarantees.
    unsafe {
        let mut acc = [s.splat(0.0); R];
        for r in 0..R {
            acc[r] = s.splat(*params.add(r * stride));
        }
        for i in 0..n_in {
            let h = s.load(hin.add(i * l));
            for r in 0..R {
                // acc = W[o, i] * h_i + acc: the reference's order, one rounding per step.
                acc[r] = s.fma(s.splat(*params.add(r * stride + 1 + i)), h, acc[r]);
            }
        }
        for r in 0..R {
            s.store(hout.add(r * l), activate(s, act, acc[r]));
        }
    }
}

/// One layer over one tile: `hout[o] = act(b_o + sum_i W[o, i] hin[i])`.
///
/// # Safety
/// The path of `s` is supported; `layer` is validated (params length); `hin.len() >=
/// n_in * LANES`, `hout.len() >= n_out * LANES`.
#[inline(always)]
unsafe fn layer_tile<S: Simd>(s: S, layer: &Layer<'_>, hin: &[f32], hout: &mut [f32]) {
    let l = S::LANES;
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    debug_assert!(hin.len() >= n_in * l && hout.len() >= n_out * l);
    debug_assert_eq!(layer.params.len(), n_out * (n_in + 1));
    let p = layer.params.as_ptr();
    let (hi, ho) = (hin.as_ptr(), hout.as_mut_ptr());
    let mut o = 0;
    // SAFETY: rows o..o+R exist (o + R <= n_out) and the buffers are long enough (above).
    unsafe {
        while o + MR <= n_out {
            rows::<S, MR>(s, p.add(o * (n_in + 1)), n_in, layer.act, hi, ho.add(o * l));
            o += MR;
        }
        let (pr, hr) = (p.add(o * (n_in + 1)), ho.add(o * l));
        match n_out - o {
            0 => {}
            1 => rows::<S, 1>(s, pr, n_in, layer.act, hi, hr),
            2 => rows::<S, 2>(s, pr, n_in, layer.act, hi, hr),
            3 => rows::<S, 3>(s, pr, n_in, layer.act, hi, hr),
            4 => rows::<S, 4>(s, pr, n_in, layer.act, hi, hr),
            5 => rows::<S, 5>(s, pr, n_in, layer.act, hi, hr),
            6 => rows::<S, 6>(s, pr, n_in, layer.act, hi, hr),
            _ => rows::<S, 7>(s, pr, n_in, layer.act, hi, hr),
        }
    }
}

/// Evaluates the MLP for all points, tile by tile.
///
/// # Safety
/// The path of `s` is supported and the arguments passed `mlp::validate_mlp` (chain, params
/// lengths, `points.len() = n * d_in`, `out.len() = n * d_out`,
/// `scratch.len() >= mlp_scratch_len(layers)`).
#[inline(always)]
pub(crate) unsafe fn mlp_eval<S: Simd>(
    s: S,
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let l = S::LANES;
    let d_in = layers[0].n_in;
    let d_out = layers[layers.len() - 1].n_out;
    let widest = layers
        .iter()
        .map(|k| k.n_in.max(k.n_out))
        .max()
        .unwrap_or(0);
    // Scratch has room for MAX_TILE >= 2 * LANES points: align the buffers to 64 bytes.
    let skip = scratch.as_ptr().align_offset(64).min(l);
    let (a, b) = scratch[skip..].split_at_mut(l * widest);
    let b = &mut b[..l * widest];
    let n = points.len() / d_in;
    let mut p0 = 0;
    while p0 < n {
        let m = l.min(n - p0);
        // Transpose the tile's points into rows (structure of arrays); pad with zeros.
        for i in 0..d_in {
            let row = &mut a[i * l..(i + 1) * l];
            for (lane, v) in row.iter_mut().enumerate() {
                *v = if lane < m {
                    points[(p0 + lane) * d_in + i]
                } else {
                    0.0
                };
            }
        }
        let (mut hin, mut hout) = (&mut *a, &mut *b);
        for layer in layers {
            // SAFETY: both buffers hold widest * LANES f32; layers validated by the caller.
            unsafe { layer_tile(s, layer, hin, hout) };
            core::mem::swap(&mut hin, &mut hout);
        }
        for lane in 0..m {
            let y = &mut out[(p0 + lane) * d_out..(p0 + lane + 1) * d_out];
            for (o, v) in y.iter_mut().enumerate() {
                *v = hin[o * l + lane];
            }
        }
        p0 += l;
    }
}
