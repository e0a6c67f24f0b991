//! Target-MLP evaluation with points in SIMD lanes (see the crate docs, "Points in lanes").
//!
//! A tile is `T = 2 * S::LANES` points (two registers per row: 32 points on AVX-512, 16 on
//! AVX2 and portable). Its activations live in two scratch buffers `[width, T]` (row `i` =
//! input `i` of every point of the tile); each layer reads one and writes the other, `R`
//! output rows at a time (`2 R` independent accumulators hide the FMA latency; each broadcast
//! weight feeds two FMAs), with bias and activation applied before the store (tanh step by
//! step over several registers: `vector_math::tanh_n`, or `tanh_folded_n` for
//! [`Activation::TanhFolded`]; two rows = four registers at a time, three rows at the end of
//! an odd block). `R` is 8 on AVX-512 (4 on AVX2 and portable); widths above 8 that are not a
//! multiple of 8 are split into blocks of 4-8 rows of nearly equal size instead (on AVX2 and
//! portable: widths above 4 that are not a multiple of 4, blocks of 3-5 rows).
//!
//! When the output layer has one row, the last hidden layer does not store its rows: each
//! activated block goes straight into the output row's accumulators ([`layer_tile_fused`]),
//! in row order, so the results are the same bits as layer after layer. Full tiles of 1-4
//! input dimensions are transposed by code specialized for the dimension and the tile size.
//!
//! The tanh pass ([`Simd::TANH_PASS`], AVX2): a tanh layer whose rows split into blocks of 4
//! stores its row blocks without activation, then one pass over the stored rows applies the
//! tanh two rows (four registers) at a time and hands them on as the blocks would have: back
//! in place, or into the one-row output layer. The products then run with no tanh between
//! the blocks, and the tanh chains without FMA chains waiting beside them; on Zen 3 that was
//! 2-5 % faster at widths 20, 64 and 100, and 2 % slower at width 33 (blocks of 5), which
//! keeps the tanh in the block. The same operations on the same values: the same bits.

use crate::simd::Simd;
use crate::vector_math::{activate, tanh_folded_n, tanh_n};
use crate::{Activation, Layer, MAX_TILE};

/// Registers per tile row.
const NV: usize = 2;

/// `K`: how [`rows_k`] applies the activation, fixed at compile time so each variant's
/// register allocation stays that of one activation (a run-time choice between the two tanh
/// forms inside one function made every tanh layer ~1.4x slower).
const OTHER: u8 = 0;
const TANH: u8 = 1;
const TANH_FOLDED: u8 = 2;

/// `tanh_n` (`K = TANH`) or `tanh_folded_n` (`K = TANH_FOLDED`) of `N` registers.
///
/// # Safety
/// The path of `s` is supported.
#[inline(always)]
unsafe fn tanh_k<S: Simd, const N: usize, const K: u8>(s: S, x: &mut [S::V; N]) {
    // SAFETY: forwarded contract.
    unsafe {
        if K == TANH {
            tanh_n(s, x);
        } else {
            tanh_folded_n(s, x);
        }
    }
}

/// Where [`rows_k`] puts its `R` activated rows: stored to `hout` (`FUSE = false`), or
/// multiplied into a one-row output layer that follows (`FUSE = true`, see [`layer_tile_fused`]).
#[derive(Clone, Copy)]
struct Sink<S: Simd> {
    /// `R * T` writable f32 (unused when fused).
    hout: *mut f32,
    /// The output layer's weights for these `R` rows (`R` readable f32; unused otherwise).
    fw: *const f32,
    /// The output row's `NV` accumulators (bias first, then `fw[o] * h_o` for o = 0.. in
    /// order: the reference's order).
    out: [S::V; NV],
}

/// [`rows_k`] with `K` chosen from `act`.
///
/// # Safety
/// As [`rows_k`].
#[inline(always)]
unsafe fn rows<S: Simd, const R: usize, const FUSE: bool>(
    s: S,
    params: *const f32,
    n_in: usize,
    act: Activation,
    hin: *const f32,
    sink: &mut Sink<S>,
) {
    // SAFETY: forwarded contract.
    unsafe {
        match act {
            Activation::Tanh => rows_k::<S, R, TANH, FUSE>(s, params, n_in, act, hin, sink),
            Activation::TanhFolded => {
                rows_k::<S, R, TANH_FOLDED, FUSE>(s, params, n_in, act, hin, sink)
            }
            _ => rows_k::<S, R, OTHER, FUSE>(s, params, n_in, act, hin, sink),
        }
    }
}

/// Hands one activated register (row `r` of the block, register `v`) to the sink: a store
/// to `hout`, or (`FUSE`) `out[v] = fw[r] * x + out[v]`, one rounding, as the reference does
/// for the output layer.
///
/// # Safety
/// As [`rows_k`]; `r < R`.
#[inline(always)]
unsafe fn put<S: Simd, const FUSE: bool>(s: S, sink: &mut Sink<S>, r: usize, v: usize, x: S::V) {
    let l = S::LANES;
    // SAFETY: forwarded contract (`sink` holds R rows).
    unsafe {
        if FUSE {
            sink.out[v] = s.fma(s.splat(*sink.fw.add(r)), x, sink.out[v]);
        } else {
            s.store(sink.hout.add(r * NV * l + v * l), x);
        }
    }
}

/// Rows `r..r + N / NV` of a block's accumulators through the tanh of form `K` (one call on
/// `N` registers, so their chains run interleaved), then to the sink in row order.
///
/// # Safety
/// As [`rows_k`]; `r + N / NV <= R`.
#[inline(always)]
unsafe fn tanh_put<S: Simd, const R: usize, const N: usize, const K: u8, const FUSE: bool>(
    s: S,
    acc: &[[S::V; NV]; R],
    r: usize,
    sink: &mut Sink<S>,
) {
    let mut x = [acc[r][0]; N];
    for k in 0..N {
        x[k] = acc[r + k / NV][k % NV];
    }
    // SAFETY: forwarded contract.
    unsafe {
        tanh_k::<S, N, K>(s, &mut x);
        for (k, xv) in x.into_iter().enumerate() {
            put::<S, FUSE>(s, sink, r + k / NV, k % NV, xv);
        }
    }
}

/// `R` output rows of one layer for one tile; `act` is applied as `K` says (`OTHER`: the
/// generic per-register [`activate`]), the results go to `sink` ([`put`]).
///
/// # Safety
/// The path of `s` is supported. `params` points at row 0 of the block (`R` rows of
/// `n_in + 1` f32 each readable); `hin` holds `n_in * T` readable f32; `sink` as [`Sink`]
/// says for `R` rows (`T = NV * LANES`).
#[inline(always)]
unsafe fn rows_k<S: Simd, const R: usize, const K: u8, const FUSE: bool>(
    s: S,
    params: *const f32,
    n_in: usize,
    act: Activation,
    hin: *const f32,
    sink: &mut Sink<S>,
) {
    let l = S::LANES;
    let t = NV * l;
    let stride = n_in + 1;
    // SAFETY: offsets stay within the ranges the caller guarantees.
    unsafe {
        let mut acc = [[s.splat(0.0); NV]; R];
        for r in 0..R {
            let b = s.splat(*params.add(r * stride));
            acc[r] = [b; NV];
        }
        // One pointer per row, indexed by i: `[w_r + 4 i]` addressing, no per-step arithmetic.
        let mut w = [params; R];
        for r in 0..R {
            w[r] = params.add(r * stride + 1);
        }
        for i in 0..n_in {
            let h = hin.add(i * t);
            let mut hv = [s.splat(0.0); NV];
            for v in 0..NV {
                hv[v] = s.load(h.add(v * l));
            }
            for r in 0..R {
                // acc = W[o, i] * h_i + acc: the reference's order, one rounding per step.
                let wv = s.splat(*w[r].add(i));
                for v in 0..NV {
                    acc[r][v] = s.fma(wv, hv[v], acc[r][v]);
                }
            }
        }
        if K != OTHER {
            // Rows in pairs (four registers per tanh call); with R odd (and > 1) the last
            // three rows go together, so no lone row runs its two tanh chains on its own
            // (about 3 % at width 33; a group of three taken first, while most accumulators
            // are still live, spills registers). A one-row block is the only lone row. On
            // the 16-register paths too: an AVX2 tile with one row per call was 1.5-4 %
            // slower on Zen 3 (`tile_ab`, 2026-12-07). The 5.7x slowdown once blamed on
            // spills there was `core::array::from_fn` left out of line (kernels/clippy.toml).
            let (pairs, three) = match R {
                1 => (0, false),
                _ if R % 2 == 1 => ((R - 3) / 2, true),
                _ => (R / 2, false),
            };
            for p in 0..pairs {
                tanh_put::<S, R, { 2 * NV }, K, FUSE>(s, &acc, 2 * p, sink);
            }
            if three {
                tanh_put::<S, R, { 3 * NV }, K, FUSE>(s, &acc, R - 3, sink);
            } else if R == 1 {
                tanh_put::<S, R, NV, K, FUSE>(s, &acc, 0, sink);
            }
        } else {
            for r in 0..R {
                for v in 0..NV {
                    put::<S, FUSE>(s, sink, r, v, activate(s, act, acc[r][v]));
                }
            }
        }
    }
}

/// Whether `layer` runs its tanh as a pass of its own after its products (module docs, "The
/// tanh pass") on a path with [`Simd::TANH_PASS`] (16 registers, blocks of 4 rows): a tanh
/// layer whose width is a multiple of 4. The callers test `const { S::TANH_PASS }` first, so
/// the pass is dropped before code generation on the other paths.
fn takes_tanh_pass(layer: &Layer<'_>) -> bool {
    matches!(layer.act, Activation::Tanh | Activation::TanhFolded) && layer.n_out.is_multiple_of(4)
}

/// The tanh pass over rows `0..rows` of a tanh layer (`act`) whose products are stored at
/// `h` (`[rows, T]`, `rows` even): two rows (four registers) per tanh call, handed to `sink`
/// in row order as [`rows_k`] would hand them ([`tanh_put`]): stored (`FUSE = false`; `sink`
/// may point at `h` itself, each pair is read before it is written) or multiplied into the
/// one-row output layer (`FUSE = true`).
///
/// # Safety
/// The path of `s` is supported; `h` holds `rows * T` readable f32; `sink` as [`Sink`] says
/// for `rows` rows.
#[inline(always)]
unsafe fn tanh_pass<S: Simd, const FUSE: bool>(
    s: S,
    act: Activation,
    h: *const f32,
    rows: usize,
    sink: &mut Sink<S>,
) {
    let l = S::LANES;
    let t = NV * l;
    debug_assert!(rows.is_multiple_of(2));
    let (ho, fw) = (sink.hout, sink.fw);
    for r in (0..rows).step_by(2) {
        // SAFETY: rows r and r + 1 exist in `h` and in the sink (caller).
        unsafe {
            let mut acc = [[s.splat(0.0); NV]; 2];
            for (k, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = s.load(h.add((r + k) * t + v * l));
                }
            }
            sink.hout = ho.wrapping_add(r * t);
            sink.fw = fw.wrapping_add(r);
            if act == Activation::Tanh {
                tanh_put::<S, 2, { 2 * NV }, TANH, FUSE>(s, &acc, 0, sink);
            } else {
                debug_assert_eq!(act, Activation::TanhFolded);
                tanh_put::<S, 2, { 2 * NV }, TANH_FOLDED, FUSE>(s, &acc, 0, sink);
            }
        }
    }
}

/// A tanh layer over one tile by the tanh pass: its row blocks' sums stored to `h` without
/// activation, then [`tanh_pass`] from `h` into `sink` (back to `h` itself, or `FUSE` into
/// the one-row output layer).
///
/// # Safety
/// As [`blocks`] for `layer` and `hin`; `h` holds `layer.n_out * T` writable f32 (and is
/// `sink.hout` when not `FUSE`); `sink` as [`tanh_pass`] says.
#[inline(always)]
unsafe fn by_tanh_pass<S: Simd, const FUSE: bool>(
    s: S,
    layer: &Layer<'_>,
    hin: *const f32,
    h: *mut f32,
    sink: &mut Sink<S>,
) {
    let products = Layer {
        act: Activation::Identity,
        ..*layer
    };
    let mut rows = Sink { hout: h, ..*sink };
    // SAFETY: forwarded contract.
    unsafe {
        blocks_at::<S, false>(s, &products, hin, &mut rows);
        tanh_pass::<S, FUSE>(s, layer.act, h, layer.n_out, sink);
    }
}

/// One layer over one tile: `hout[o] = act(b_o + sum_i W[o, i] hin[i])`.
///
/// # Safety
/// The path of `s` is supported; `layer` is validated (params length); `hin.len() >=
/// n_in * T`, `hout.len() >= n_out * T`.
#[inline(always)]
unsafe fn layer_tile<S: Simd>(s: S, layer: &Layer<'_>, hin: &[f32], hout: &mut [f32]) {
    let t = NV * S::LANES;
    debug_assert!(hin.len() >= layer.n_in * t && hout.len() >= layer.n_out * t);
    // SAFETY: forwarded contract; `sink.hout` holds n_out * T f32 (above).
    unsafe {
        // One pointer for every access to `hout` (the tanh pass reads and writes it in place).
        let h = hout.as_mut_ptr();
        let mut sink = Sink {
            hout: h,
            fw: core::ptr::null(),
            out: [s.splat(0.0); NV],
        };
        if const { S::TANH_PASS } && takes_tanh_pass(layer) {
            by_tanh_pass::<S, false>(s, layer, hin.as_ptr(), h, &mut sink);
        } else {
            blocks_at::<S, false>(s, layer, hin.as_ptr(), &mut sink);
        }
    }
}

/// A hidden layer and the one-row output layer `next` after it, fused: each block of hidden
/// rows goes, once activated, straight into the output row's accumulators (in row order, so
/// the same operations in the same order as two [`layer_tile`] calls: the same bits). The
/// output row's chain of `n_in` dependent FMAs then runs alongside the hidden layer's work
/// instead of alone at the end of the tile, where its latency (4 cycles per FMA on two
/// registers) left the FMA ports idle, and the hidden rows are never stored. Writes the output
/// row to `hout[..T]`.
///
/// # Safety
/// As [`layer_tile`]; `next` is validated, `next.n_in == layer.n_out`, `next.n_out == 1`,
/// `hout.len() >= layer.n_out * T` (the tanh pass stores the hidden rows there first).
#[inline(always)]
unsafe fn layer_tile_fused<S: Simd>(
    s: S,
    layer: &Layer<'_>,
    next: &Layer<'_>,
    hin: &[f32],
    hout: &mut [f32],
) {
    let l = S::LANES;
    debug_assert!(hin.len() >= layer.n_in * NV * l && hout.len() >= layer.n_out * NV * l);
    debug_assert!(next.n_in == layer.n_out && next.n_out == 1);
    debug_assert_eq!(next.params.len(), next.n_in + 1);
    // SAFETY: forwarded contract; `fw` has n_out readable f32 after the bias; `hout` holds
    // the hidden rows for the tanh pass.
    unsafe {
        // One pointer for every access to `hout`.
        let h = hout.as_mut_ptr();
        let mut sink = Sink {
            hout: core::ptr::null_mut(),
            fw: next.params.as_ptr().add(1),
            out: [s.splat(*next.params.as_ptr()); NV],
        };
        if const { S::TANH_PASS } && takes_tanh_pass(layer) {
            by_tanh_pass::<S, true>(s, layer, hin.as_ptr(), h, &mut sink);
        } else {
            blocks_at::<S, true>(s, layer, hin.as_ptr(), &mut sink);
        }
        for (v, x) in sink.out.into_iter().enumerate() {
            s.store(h.add(v * l), activate(s, next.act, x));
        }
    }
}

/// [`blocks`], inlined (the x86 paths: their instructions exist only inside the
/// `#[target_feature]` entry) or called as a function of its own (the portable path, see
/// [`Simd::INLINE_BLOCKS`]).
///
/// # Safety
/// As [`blocks`].
#[inline(always)]
unsafe fn blocks_at<S: Simd, const FUSE: bool>(
    s: S,
    layer: &Layer<'_>,
    hi: *const f32,
    sink: &mut Sink<S>,
) {
    #[inline(never)]
    unsafe fn call<S: Simd, const FUSE: bool>(
        s: S,
        layer: &Layer<'_>,
        hi: *const f32,
        sink: &mut Sink<S>,
    ) {
        // SAFETY: forwarded contract.
        unsafe { blocks::<S, FUSE>(s, layer, hi, sink) }
    }
    // SAFETY: forwarded contract.
    unsafe {
        if const { S::INLINE_BLOCKS } {
            blocks::<S, FUSE>(s, layer, hi, sink);
        } else {
            call::<S, FUSE>(s, layer, hi, sink);
        }
    }
}

/// The rows of one layer over one tile, block by block, into `sink` (advanced by each
/// block's rows).
///
/// # Safety
/// The path of `s` is supported; `layer` is validated (params length); `hin` holds `n_in * T`
/// readable f32; `sink` as [`Sink`] says for `n_out` rows.
#[inline(always)]
unsafe fn blocks<S: Simd, const FUSE: bool>(
    s: S,
    layer: &Layer<'_>,
    hi: *const f32,
    sink: &mut Sink<S>,
) {
    let t = NV * S::LANES;
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    debug_assert_eq!(layer.params.len(), n_out * (n_in + 1));
    let p = layer.params.as_ptr();
    let act = layer.act;
    let mut o = 0;
    // SAFETY: rows o..o+R exist (o + R <= n_out) and the sink holds n_out rows (caller).
    unsafe {
        let (ho, fw) = (sink.hout, sink.fw);
        // Points the sink at rows o.. (the pointers of the unused side are never read).
        let at = |sink: &mut Sink<S>, o: usize| {
            sink.hout = ho.wrapping_add(o * t);
            sink.fw = fw.wrapping_add(o);
        };
        // 8 rows = 16 accumulators fit the 32 zmm registers; AVX2's 16 ymm take 4 rows.
        // `const { .. }`: the branch is then dropped before code generation on paths with 16
        // registers, so they never instantiate the 6-8 row blocks.
        let (unit, widest) = if const { S::REGISTERS >= 32 } {
            (8, 8)
        } else {
            (4, 5)
        };
        if n_out > unit && !n_out.is_multiple_of(unit) {
            // Blocks of `unit` would leave 1 to unit - 1 rows whose few accumulators barely
            // hide the FMA latency: spread the rows evenly over ceil(n_out / widest) blocks
            // instead. With 32 registers, blocks of 4-8 (33 = 7+7+7+6+6, 20 = 7+7+6: 1-2 %
            // faster than 8+8+4 at width 20 with the folded tanh). With 16, blocks of 3-5 (5
            // rows = 10 accumulators; 33 = 5+5+5+5+5+4+4 instead of 8 x 4 + 1 ran the folded
            // 2-33-33-33-1 net 5.5 % faster on Zen 3, `tile_ab` 734-737 against 775-780 us;
            // blocks of up to 6 for every width were no faster at 20 and 64 and slower for
            // DeepONet's width 100, D eval 7.7-9.6 against 7.4-7.6 ms). Each row is still
            // computed by the same steps, so the results are the same bits.
            let blocks = n_out.div_ceil(widest);
            for k in 0..blocks {
                let r = n_out / blocks + usize::from(k < n_out % blocks);
                let pr = p.add(o * (n_in + 1));
                at(sink, o);
                if const { S::REGISTERS >= 32 } {
                    match r {
                        4 => rows::<S, 4, FUSE>(s, pr, n_in, act, hi, sink),
                        5 => rows::<S, 5, FUSE>(s, pr, n_in, act, hi, sink),
                        6 => rows::<S, 6, FUSE>(s, pr, n_in, act, hi, sink),
                        7 => rows::<S, 7, FUSE>(s, pr, n_in, act, hi, sink),
                        _ => rows::<S, 8, FUSE>(s, pr, n_in, act, hi, sink),
                    }
                } else {
                    match r {
                        4 => rows::<S, 4, FUSE>(s, pr, n_in, act, hi, sink),
                        5 => rows::<S, 5, FUSE>(s, pr, n_in, act, hi, sink),
                        _ => rows::<S, 3, FUSE>(s, pr, n_in, act, hi, sink),
                    }
                }
                o += r;
            }
            debug_assert_eq!(o, n_out);
            return;
        }
        if const { S::REGISTERS >= 32 } {
            while o + 8 <= n_out {
                at(sink, o);
                rows::<S, 8, FUSE>(s, p.add(o * (n_in + 1)), n_in, act, hi, sink);
                o += 8;
            }
        }
        while o + 4 <= n_out {
            at(sink, o);
            rows::<S, 4, FUSE>(s, p.add(o * (n_in + 1)), n_in, act, hi, sink);
            o += 4;
        }
        let pr = p.add(o * (n_in + 1));
        at(sink, o);
        match n_out - o {
            0 => {}
            1 => rows::<S, 1, FUSE>(s, pr, n_in, act, hi, sink),
            2 => rows::<S, 2, FUSE>(s, pr, n_in, act, hi, sink),
            _ => rows::<S, 3, FUSE>(s, pr, n_in, act, hi, sink),
        }
    }
}

/// Widest point dimension whose tiles are transposed one tile ahead into a stack buffer.
const SMALL_IN: usize = 4;

/// [`transpose_in`] of a full tile with `D` inputs per point and `T` points: both sizes known
/// at compile time, so the compiler turns the loop into shuffles instead of `D * T` scalar
/// moves with run-time indexing (a third of the time of a one-layer net at width 33).
#[inline(always)]
fn transpose_full<const D: usize, const T: usize>(pts: &[f32], dst: &mut [f32]) {
    let (Some(p), Some(d)) = (pts.get(..D * T), dst.get_mut(..D * T)) else {
        return;
    };
    for lane in 0..T {
        for i in 0..D {
            d[i * T + lane] = p[lane * D + i];
        }
    }
}

/// Transposes one tile's points `[m, d_in]` into rows `[d_in, t]` of `dst` (structure of
/// arrays), zero-padding lanes `m..t`. Also the AMX evaluator's (`t` = 16).
#[inline(always)]
pub(crate) fn transpose_in(pts: &[f32], d_in: usize, t: usize, dst: &mut [f32]) {
    if pts.len() == d_in * t {
        match (d_in, t) {
            (1, 32) => return transpose_full::<1, 32>(pts, dst),
            (2, 32) => return transpose_full::<2, 32>(pts, dst),
            (3, 32) => return transpose_full::<3, 32>(pts, dst),
            (4, 32) => return transpose_full::<4, 32>(pts, dst),
            (1, 16) => return transpose_full::<1, 16>(pts, dst),
            (2, 16) => return transpose_full::<2, 16>(pts, dst),
            (3, 16) => return transpose_full::<3, 16>(pts, dst),
            (4, 16) => return transpose_full::<4, 16>(pts, dst),
            _ => {}
        }
    }
    if pts.len() < d_in * t {
        dst[..d_in * t].fill(0.0);
    }
    for (lane, p) in pts.chunks_exact(d_in).enumerate() {
        for (i, &v) in p.iter().enumerate() {
            dst[i * t + lane] = v;
        }
    }
}

/// Whether layer `k` runs fused with the output layer ([`layer_tile_fused`]): it is the
/// last hidden layer and the output has one row.
fn fuses(layers: &[Layer<'_>], k: usize) -> bool {
    k + 2 == layers.len() && layers[k + 1].n_out == 1
}

/// Layer `k` of one tile from `hin` into `hout`, fused with the output layer when [`fuses`]
/// says so; returns the index of the next layer to run.
///
/// # Safety
/// As [`layer_tile`] (and [`layer_tile_fused`] when fused), for the layers run.
#[inline(always)]
unsafe fn step<S: Simd>(
    s: S,
    layers: &[Layer<'_>],
    k: usize,
    hin: &[f32],
    hout: &mut [f32],
) -> usize {
    // SAFETY: forwarded contract.
    unsafe {
        if fuses(layers, k) {
            layer_tile_fused(s, &layers[k], &layers[k + 1], hin, hout);
            k + 2
        } else {
            layer_tile(s, &layers[k], hin, hout);
            k + 1
        }
    }
}

/// Every layer of one tile, then the `m` real outputs to `y`. The tile's transposed points
/// are `input`, or (`None`) already in `a`; the layers alternate between `b` and `a`.
///
/// `step` is inlined here only: each copy carries every row-block variant of every layer
/// kind, and four copies made the AVX-512 entry so large that LLVM took minutes on it.
///
/// # Safety
/// As [`mlp_eval`]; `a` and `b` hold `widest * T` f32, `input` (if any) `d_in * T`.
#[inline(always)]
unsafe fn run_tile<S: Simd>(
    s: S,
    layers: &[Layer<'_>],
    input: Option<&[f32]>,
    a: &mut [f32],
    b: &mut [f32],
    y: &mut [f32],
) {
    let l = NV * S::LANES;
    let d_out = layers[layers.len() - 1].n_out;
    let m = y.len() / d_out;
    let (mut k, mut i) = (0, 0);
    while k < layers.len() {
        // Call i reads the input (i = 0), then b, a, b, ... and writes the other buffer.
        let (hin, hout): (&[f32], &mut [f32]) = match (i, input) {
            (0, Some(x)) => (x, &mut *b),
            _ if i % 2 == 0 => (&*a, &mut *b),
            _ => (&*b, &mut *a),
        };
        // SAFETY: the buffers hold what the layers need (above); layers validated by the caller.
        k = unsafe { step(s, layers, k, hin, hout) };
        i += 1;
    }
    let out: &[f32] = if i % 2 == 1 { b } else { a };
    // Transpose back; with one output the tile row is the output block itself.
    if d_out == 1 {
        y.copy_from_slice(&out[..m]);
    } else {
        for (lane, yp) in y.chunks_exact_mut(d_out).enumerate() {
            for (o, v) in yp.iter_mut().enumerate() {
                *v = out[o * l + lane];
            }
        }
    }
}

/// Evaluates the MLP for all points, tile by tile.
///
/// With `d_in <= SMALL_IN` (every d_y of the families), tile `j + 1` is transposed into a
/// stack buffer before tile `j` is evaluated: the vector loads of the first layer then never
/// wait for the scalar stores of the transposition to retire (a store-forwarding stall that
/// would otherwise serialize consecutive tiles).
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
    let l = NV * S::LANES;
    let d_in = layers[0].n_in;
    let d_out = layers[layers.len() - 1].n_out;
    let widest = layers
        .iter()
        .map(|k| k.n_in.max(k.n_out))
        .max()
        .unwrap_or(0);
    // Scratch holds MAX_TILE >= T points per row plus 16 f32: align the buffers to 64 bytes.
    let skip = scratch.as_ptr().align_offset(64).min(16);
    let (a, b) = scratch[skip..].split_at_mut(l * widest);
    let b = &mut b[..l * widest];
    let tiles = points.chunks(l * d_in).zip(out.chunks_mut(l * d_out));
    let small = d_in <= SMALL_IN;
    let mut x = [[0.0f32; SMALL_IN * MAX_TILE]; 2];
    if small {
        transpose_in(&points[..(l * d_in).min(points.len())], d_in, l, &mut x[0]);
    }
    for (j, (pts, y)) in tiles.enumerate() {
        let input = if small {
            let (cur, next) = x.split_at_mut(1);
            let (cur, next) = if j % 2 == 0 {
                (&mut cur[0], &mut next[0])
            } else {
                (&mut next[0], &mut cur[0])
            };
            let start = (j + 1) * l * d_in;
            if start < points.len() {
                let end = (start + l * d_in).min(points.len());
                transpose_in(&points[start..end], d_in, l, next);
            }
            Some(&cur[..])
        } else {
            transpose_in(pts, d_in, l, a);
            None
        };
        // SAFETY: `input` holds d_in * T f32 (or `a` does), both buffers widest * T; layers
        // validated by the caller.
        unsafe { run_tile(s, layers, input, a, b, y) };
    }
}
