//! Every path the host supports against the scalar reference, over size sweeps.
//!
//! Tolerances: the tile evaluator sums each output in the reference's order with fused
//! multiply-adds, so with identity/relu/prelu the avx2 and avx512 paths must equal the
//! reference bit for bit (portable too when its build fuses; otherwise 1e-5 relative to the
//! magnitude). With smooth activations each layer adds the activation error (<= 2e-7 absolute,
//! <= 2e-6 relative); the check is `|got - want| <= 1e-4 (1 + |want|)` for weights scaled to
//! keep activations O(1) — an indexing or tail bug shows up as an O(1) error.
//! GEMV sums in a different order (SIMD partial sums): `|got - want| <= 4 (cols + 1) eps S + act`
//! with `S = sum |w x| + |b|`.

use half::{bf16, f16};
use hdon_kernels::*;

const EXACT: [Activation; 4] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Prelu(0.25),
    Activation::Prelu(-0.5),
];
const SMOOTH: [Activation; 7] = [
    Activation::Tanh,
    Activation::TanhFolded,
    Activation::Sigmoid,
    Activation::Sin,
    Activation::Gelu,
    Activation::Silu,
    Activation::Softplus,
];

fn fast_paths() -> Vec<Path> {
    Path::ALL
        .into_iter()
        .filter(|p| *p != Path::Scalar && p.is_supported())
        .collect()
}

/// xorshift64*, uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        v as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

// ---------------------------------------------------------------- mlp_eval

/// Random theta (kernel layout) for the sizes, weights ~ U(-1, 1) * 1.5 / sqrt(n_in).
fn theta(rng: &mut Rng, sizes: &[usize]) -> Vec<f32> {
    let mut t = Vec::new();
    for w in sizes.windows(2) {
        let s = 1.5 / (w[0] as f32).sqrt();
        for _ in 0..w[1] {
            t.push(rng.next() * 0.5);
            t.extend(rng.vec(w[0], s));
        }
    }
    t
}

fn layers<'a>(
    sizes: &[usize],
    theta: &'a [f32],
    act: Activation,
    last: Activation,
) -> Vec<Layer<'a>> {
    let mut off = 0;
    let k = sizes.len() - 1;
    (0..k)
        .map(|i| {
            let (n_in, n_out) = (sizes[i], sizes[i + 1]);
            let len = n_out * (n_in + 1);
            let l = Layer {
                n_in,
                n_out,
                act: if i + 1 == k { last } else { act },
                params: &theta[off..off + len],
            };
            off += len;
            l
        })
        .collect()
}

/// Evaluates on every fast path and compares with the reference.
fn check_mlp(rng: &mut Rng, sizes: &[usize], n: usize, act: Activation, last: Activation) {
    let th = theta(rng, sizes);
    let ls = layers(sizes, &th, act, last);
    let pts = rng.vec(n * sizes[0], 2.0);
    let d_out = sizes[sizes.len() - 1];
    let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
    let mut want = vec![0.0f32; n * d_out];
    reference::mlp_eval(&ls, &pts, &mut want, &mut scratch).unwrap();
    let exact = EXACT.contains(&act) && EXACT.contains(&last);
    for path in fast_paths() {
        let mut got = vec![f32::NAN; n * d_out];
        mlp_eval_on(path, &ls, &pts, &mut got, &mut scratch).unwrap();
        for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let ctx = || format!("{path:?} sizes={sizes:?} n={n} act={act:?}/{last:?} out[{k}]");
            if exact && path != Path::Portable {
                assert_eq!(g.to_bits(), w.to_bits(), "{}: {g} vs {w}", ctx());
            } else {
                let tol = if exact { 1e-5 } else { 1e-4 } * (1.0 + w.abs());
                assert!((g - w).abs() <= tol, "{}: {g} vs {w}", ctx());
            }
        }
    }
}

#[test]
fn mlp_every_input_and_output_dim_around_tile_sizes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let counts = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65];
    let mut k = 0;
    for d_y in 1..=4 {
        for d_out in 1..=8 {
            let n = counts[k % counts.len()];
            check_mlp(
                &mut rng,
                &[d_y, 20, 20, d_out],
                n,
                EXACT[k % 4],
                EXACT[(k + 1) % 4],
            );
            check_mlp(
                &mut rng,
                &[d_y, 20, 20, d_out],
                n,
                SMOOTH[k % SMOOTH.len()],
                Activation::Identity,
            );
            k += 1;
        }
    }
}

/// A tanh network rewritten by `fold_tanh` (hidden layers `TanhFolded`) computes the same
/// function on every path: against the f32 reference of the unfolded network, within the
/// smooth-activation tolerance on the fast paths and 2e-5 on the reference itself (the extra
/// roundings of the rescaled weights and shifted biases). Tanh outputs stay tanh; widths
/// around the tile row blocks, depth 2 to 6.
#[test]
fn fold_tanh_keeps_the_function() {
    let mut rng = Rng(43);
    let nets: [(&[usize], Activation); 6] = [
        (&[2, 20, 20, 20, 1], Activation::Identity),
        (&[2, 33, 33, 33, 1], Activation::Identity),
        (&[3, 9, 2], Activation::Tanh),
        (&[1, 7, 64, 5, 3], Activation::Tanh),
        (&[4, 17, 17, 17, 17, 17, 8], Activation::Identity),
        (&[2, 1, 1], Activation::Identity),
    ];
    for (sizes, last) in nets {
        let th = theta(&mut rng, sizes);
        let plain = layers(sizes, &th, Activation::Tanh, last);
        let (folded_th, acts) = folded(sizes, &th, last);
        assert_eq!(acts[acts.len() - 1], last, "the output activation is kept");
        let mut folded = layers(sizes, &folded_th, Activation::Tanh, last);
        for (l, &a) in folded.iter_mut().zip(&acts) {
            l.act = a;
        }
        let n = 77;
        let pts = rng.vec(n * sizes[0], 2.0);
        let d_out = sizes[sizes.len() - 1];
        let mut scratch = vec![0.0f32; mlp_scratch_len(&plain)];
        let mut want = vec![0.0f32; n * d_out];
        reference::mlp_eval(&plain, &pts, &mut want, &mut scratch).unwrap();
        let mut paths = fast_paths();
        paths.push(Path::Scalar);
        for path in paths {
            let mut got = vec![f32::NAN; n * d_out];
            mlp_eval_on(path, &folded, &pts, &mut got, &mut scratch).unwrap();
            let rel = if path == Path::Scalar { 2e-5 } else { 1e-4 };
            for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= rel * (1.0 + w.abs()),
                    "{path:?} {sizes:?} out[{k}]: folded {g} vs {w}"
                );
            }
        }
    }
    // Flags: only hidden tanh layers fold; a chain without one reports false.
    let mut acts = [Activation::Relu, Activation::Tanh, Activation::Tanh];
    assert!(fold_tanh_acts(&mut acts));
    assert_eq!(
        acts,
        [Activation::Relu, Activation::TanhFolded, Activation::Tanh]
    );
    let mut acts = [Activation::Relu, Activation::Tanh];
    assert!(!fold_tanh_acts(&mut acts));
    assert!(matches!(
        fold_tanh(&mut [0.0; 5], 2, true, true),
        Err(KernelError::Length { .. })
    ));
}

#[test]
fn mlp_point_counts_0_to_40() {
    let mut rng = Rng(7);
    for n in 0..=40 {
        check_mlp(
            &mut rng,
            &[2, 20, 20, 20, 1],
            n,
            Activation::Tanh,
            Activation::Identity,
        );
        check_mlp(
            &mut rng,
            &[2, 20, 20, 20, 1],
            n,
            Activation::Relu,
            Activation::Identity,
        );
    }
    check_mlp(
        &mut rng,
        &[2, 20, 20, 20, 1],
        1001,
        Activation::Tanh,
        Activation::Identity,
    );
}

#[test]
fn mlp_hidden_widths_1_to_70() {
    let mut rng = Rng(11);
    for w in 1..=70 {
        check_mlp(&mut rng, &[2, w, 3], 17, EXACT[w % 4], Activation::Identity);
        check_mlp(
            &mut rng,
            &[3, w, w % 8 + 1],
            9,
            SMOOTH[w % SMOOTH.len()],
            SMOOTH[(w + 1) % SMOOTH.len()],
        );
    }
}

/// A tanh layer's outputs are the path's own tanh (`activate_on`) of the exact sums, whatever
/// the tile does with them: activated inside each row block, in a pass of its own after the
/// products (AVX2, widths that are multiples of 4), or fused into a one-row output layer.
/// Each net is rebuilt layer by layer on the same path (one identity layer, then
/// `activate_on` over its outputs) and must give the whole net's bits. Widths with and
/// without the pass; one-row outputs (fused) and wider ones (tanh outputs too); tile tails.
#[test]
fn mlp_tanh_layers_are_the_paths_tanh_of_the_sums() {
    let mut rng = Rng(0x7A17);
    let nets: [&[usize]; 8] = [
        &[2, 20, 20, 20, 1],
        &[1, 8, 12, 3],
        &[2, 4, 1],
        &[2, 33, 33, 1],
        &[3, 64, 64, 4],
        &[2, 100, 100, 1],
        &[2, 5, 6, 7, 1],
        &[4, 16, 10, 1],
    ];
    for sizes in nets {
        for act in [Activation::Tanh, Activation::TanhFolded] {
            for last in [Activation::Identity, Activation::Tanh] {
                let th = theta(&mut rng, sizes);
                let ls = layers(sizes, &th, act, last);
                let n = 37;
                let pts = rng.vec(n * sizes[0], 2.0);
                let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
                for path in fast_paths() {
                    if mlp_uses_amx(&ls) && path == Path::Avx512 {
                        continue; // the AMX tiles' products round differently (own tests)
                    }
                    let mut whole = vec![f32::NAN; n * sizes[sizes.len() - 1]];
                    mlp_eval_on(path, &ls, &pts, &mut whole, &mut scratch).unwrap();
                    let mut h = pts.clone();
                    for l in &ls {
                        let sums = Layer {
                            act: Activation::Identity,
                            ..*l
                        };
                        let mut next = vec![f32::NAN; n * l.n_out];
                        let mut s1 = vec![0.0f32; mlp_scratch_len(&[sums])];
                        mlp_eval_on(path, &[sums], &h, &mut next, &mut s1).unwrap();
                        activate_on(path, l.act, &mut next).unwrap();
                        h = next;
                    }
                    let ctx = format!("{path:?} sizes={sizes:?} {act:?}/{last:?}");
                    assert_same_bits(&whole, &h, &ctx);
                }
            }
        }
    }
}

#[test]
fn mlp_depth_1_to_16_and_wide_layers() {
    let mut rng = Rng(13);
    for depth in 1..=MAX_LAYERS {
        let mut sizes = vec![3];
        sizes.extend(std::iter::repeat_n(9, depth - 1));
        sizes.push(2);
        check_mlp(&mut rng, &sizes, 17, Activation::Relu, Activation::Identity);
        check_mlp(
            &mut rng,
            &sizes,
            17,
            SMOOTH[depth % SMOOTH.len()],
            Activation::Identity,
        );
    }
    // Widest layers and widest first-layer input.
    check_mlp(
        &mut rng,
        &[2, 256, 256, 1],
        17,
        Activation::Prelu(0.25),
        Activation::Identity,
    );
    check_mlp(
        &mut rng,
        &[4, 255, 256, 8],
        15,
        Activation::Tanh,
        Activation::Sigmoid,
    );
    check_mlp(
        &mut rng,
        &[MAX_IN, 5, 1],
        9,
        Activation::Relu,
        Activation::Identity,
    );
    let mut deep = vec![1];
    deep.extend(std::iter::repeat_n(64, 15));
    deep.push(4);
    check_mlp(&mut rng, &deep, 33, Activation::Tanh, Activation::Identity);
}

// ---------------------------------------------------------------- gemv

/// `got` and `want` hold the same f32 bits, element by element.
fn assert_same_bits(got: &[f32], want: &[f32], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: lengths");
    for (i, (g, e)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), e.to_bits(), "{ctx} y[{i}]: {g} vs {e}");
    }
}

#[derive(Clone, Copy, Debug)]
enum Dt {
    F32,
    F16,
    Bf16,
    I8,
}

struct Weights {
    f32: Vec<f32>,
    f16: Vec<f16>,
    bf16: Vec<bf16>,
    q: Vec<i8>,
    /// `q` in the blocked layout (empty past `QMAX_COLS` columns, which it does not take).
    blocked: Vec<i8>,
    scales: Vec<f32>,
}

impl Weights {
    fn new(rng: &mut Rng, rows: usize, cols: usize) -> Weights {
        let f = rng.vec(rows * cols, 1.0);
        let q: Vec<i8> = f.iter().map(|v| (v * 127.0).round() as i8).collect();
        let scales = (0..rows).map(|r| 0.01 + r as f32 * 1e-3).collect();
        let mut blocked = Vec::new();
        if cols <= QMAX_COLS {
            blocked = vec![0i8; i8_blocked_len(rows, cols).unwrap()];
            pack_i8_blocked(&q, rows, cols, &mut blocked).unwrap();
        }
        Weights {
            f16: f.iter().map(|&v| f16::from_f32(v)).collect(),
            bf16: f.iter().map(|&v| bf16::from_f32(v)).collect(),
            f32: f,
            q,
            blocked,
            scales,
        }
    }
    /// The int8 matrix in the blocked layout (`cols <= QMAX_COLS`).
    fn blocked_mat(&self, rows: usize, cols: usize) -> MatRef<'_> {
        MatRef {
            rows,
            cols,
            data: WeightData::I8Blocked {
                values: &self.blocked,
                scales: &self.scales,
            },
        }
    }
    fn mat(&self, dt: Dt, rows: usize, cols: usize) -> MatRef<'_> {
        let data = match dt {
            Dt::F32 => WeightData::F32(&self.f32),
            Dt::F16 => WeightData::F16(&self.f16),
            Dt::Bf16 => WeightData::Bf16(&self.bf16),
            Dt::I8 => WeightData::I8 {
                values: &self.q,
                scales: &self.scales,
            },
        };
        MatRef { rows, cols, data }
    }
    /// |w[r, c]| as the kernels see it.
    fn abs(&self, dt: Dt, r: usize, c: usize, cols: usize) -> f32 {
        let i = r * cols + c;
        match dt {
            Dt::F32 => self.f32[i].abs(),
            Dt::F16 => self.f16[i].to_f32().abs(),
            Dt::Bf16 => self.bf16[i].to_f32().abs(),
            Dt::I8 => (self.q[i] as f32 * self.scales[r]).abs(),
        }
    }
}

fn check_gemv(
    rng: &mut Rng,
    dt: Dt,
    rows: usize,
    cols: usize,
    batch: usize,
    act: Activation,
    bias: bool,
) {
    let w = Weights::new(rng, rows, cols);
    let m = w.mat(dt, rows, cols);
    let x = rng.vec(batch * cols, 1.0);
    let b = rng.vec(rows, 1.0);
    let bias = bias.then_some(&b[..]);
    let mut want = vec![0.0f32; batch * rows];
    reference::gemv_batch(&m, &x, batch, bias, act, &mut want).unwrap();
    if matches!(dt, Dt::I8) && cols <= QMAX_COLS {
        return check_gemv_i8(&w, &m, &x, batch, bias, act, &want);
    }
    for path in fast_paths() {
        let mut got = vec![f32::NAN; batch * rows];
        gemv_batch_on(path, &m, &x, batch, bias, act, &mut got).unwrap();
        for bi in 0..batch {
            for r in 0..rows {
                let s: f32 = (0..cols)
                    .map(|c| w.abs(dt, r, c, cols) * x[bi * cols + c].abs())
                    .sum::<f32>()
                    + bias.map_or(0.0, |b| b[r].abs());
                let want_v = want[bi * rows + r];
                let tol =
                    4.0 * (cols + 1) as f32 * f32::EPSILON * s * 1.2 + 2e-7 + 2e-6 * want_v.abs();
                let g = got[bi * rows + r];
                assert!(
                    (g - want_v).abs() <= tol,
                    "{path:?} {dt:?} {rows}x{cols} batch={batch} {act:?} y[{bi},{r}]: {g} vs {want_v} (tol {tol:e})"
                );
            }
        }
    }
}

/// int8 (W8A16): the integer sums are exact, so every path's pre-activation equals the
/// reference bit for bit, and the output equals the path's own activation of it (exact
/// activations: the reference output itself). The reference is held against the f64 product
/// of the dequantized weights and the unquantized `x`, within the activation quantization
/// error `sum_i |w_i| x_scale / 2` plus f32 rounding.
fn check_gemv_i8(
    w: &Weights,
    m: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    want: &[f32],
) {
    let (rows, cols) = (m.rows, m.cols);
    let mut pre = vec![0.0f32; batch * rows];
    reference::gemv_batch(m, x, batch, bias, Activation::Identity, &mut pre).unwrap();
    for bi in 0..batch {
        let xb = &x[bi * cols..(bi + 1) * cols];
        let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let x_scale = f64::from(amax) / f64::from(q_range(cols));
        for r in 0..rows {
            let mut exact = bias.map_or(0.0, |b| f64::from(b[r]));
            let mut l1 = 0.0f64;
            for c in 0..cols {
                let wv = f64::from(w.q[r * cols + c]) * f64::from(w.scales[r]);
                exact += wv * f64::from(xb[c]);
                l1 += wv.abs();
            }
            let p = f64::from(pre[bi * rows + r]);
            let tol = l1 * x_scale * 0.5 * 1.001 + 4.0 * f64::from(f32::EPSILON) * (p.abs() + l1);
            assert!(
                (p - exact).abs() <= tol + 1e-30,
                "reference I8 {rows}x{cols} y[{bi},{r}]: {p} vs exact {exact} (tol {tol:e})"
            );
        }
    }
    for path in fast_paths() {
        let mut got = vec![f32::NAN; batch * rows];
        gemv_batch_on(path, m, x, batch, bias, act, &mut got).unwrap();
        let mut expect = pre.clone();
        activate_on(path, act, &mut expect).unwrap();
        for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
            assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{path:?} I8 {rows}x{cols} batch={batch} {act:?} y[{i}]: {g} vs {e}"
            );
        }
        if EXACT.contains(&act) {
            assert_eq!(got, want, "{path:?} I8 {rows}x{cols} {act:?} vs reference");
        }
    }
}

#[test]
fn gemv_i8_special_inputs() {
    let mut rng = Rng(29);
    for (rows, cols) in [(5, 3), (17, 40), (33, 100)] {
        let w = Weights::new(&mut rng, rows, cols);
        let m = w.mat(Dt::I8, rows, cols);
        let b = rng.vec(rows, 1.0);
        let mut paths = fast_paths();
        paths.push(Path::Scalar);
        for path in paths {
            for batch in [1, 5, 17] {
                let run = |x: &[f32]| {
                    let mut y = vec![0.0f32; batch * rows];
                    gemv_batch_on(path, &m, x, batch, Some(&b), Activation::Identity, &mut y)
                        .unwrap();
                    y
                };
                // All zeros: exactly the bias.
                let y = run(&vec![0.0; batch * cols]);
                for yb in y.chunks(rows) {
                    assert_eq!(yb, &b[..], "{path:?} zeros");
                }
                // A NaN or an infinity in one vector: that vector's outputs are all NaN, the
                // others are untouched.
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut x = rng.vec(batch * cols, 1.0);
                    let clean = run(&x);
                    x[cols - 1] = bad;
                    let y = run(&x);
                    assert!(y[..rows].iter().all(|v| v.is_nan()), "{path:?} {bad} in x");
                    assert_eq!(
                        y[rows..].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        clean[rows..]
                            .iter()
                            .map(|v| v.to_bits())
                            .collect::<Vec<_>>(),
                        "{path:?} other vectors"
                    );
                }
                // Tiny and subnormal inputs: finite, proportional to the input.
                for tiny in [1e-20f32, 1e-33, 1e-40, f32::from_bits(1)] {
                    let x: Vec<f32> = rng
                        .vec(batch * cols, 1.0)
                        .iter()
                        .map(|v| v * tiny)
                        .collect();
                    let mut y = vec![0.0f32; batch * rows];
                    gemv_batch_on(path, &m, &x, batch, None, Activation::Identity, &mut y).unwrap();
                    assert!(
                        y.iter().all(|v| v.is_finite()),
                        "{path:?} tiny {tiny:e}: {y:?}"
                    );
                    if tiny >= 1e-33 {
                        let big: Vec<f32> = x.iter().map(|v| v / tiny).collect();
                        let mut yb = vec![0.0f32; batch * rows];
                        gemv_batch_on(path, &m, &big, batch, None, Activation::Identity, &mut yb)
                            .unwrap();
                        for (s, l) in y.iter().zip(&yb) {
                            let tol = 1e-3 * (l.abs() + 1e-2);
                            assert!(
                                (s / tiny - l).abs() <= tol,
                                "{path:?} tiny {tiny:e}: {s} vs {l}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// int8 matrices wider than `QMAX_COLS` keep the f32 path (weights converted in registers).
#[test]
fn gemv_i8_wider_than_qmax_cols() {
    let mut rng = Rng(31);
    for cols in [QMAX_COLS, QMAX_COLS + 1, 1500] {
        check_gemv(&mut rng, Dt::I8, 3, cols, 2, Activation::Identity, true);
        check_gemv(&mut rng, Dt::I8, 9, cols, 5, Activation::Tanh, true);
    }
}

#[test]
fn gemv_rows_and_cols_1_to_70_every_dtype() {
    let mut rng = Rng(17);
    let all: Vec<Activation> = EXACT.iter().chain(&SMOOTH).copied().collect();
    let mut k = 0;
    for rows in 1..=70 {
        for cols in 1..=70 {
            // Every (rows, cols) pair for f32; the widened dtypes rotate over the pairs
            // (each still sees every row count and every column count).
            let dt = [Dt::F16, Dt::Bf16, Dt::I8][k % 3];
            check_gemv(
                &mut rng,
                Dt::F32,
                rows,
                cols,
                1,
                all[k % all.len()],
                k % 2 == 0,
            );
            check_gemv(
                &mut rng,
                dt,
                rows,
                cols,
                1,
                all[(k + 3) % all.len()],
                k % 3 == 0,
            );
            k += 1;
        }
    }
}

/// Batches 1..=9 cover blocks of 4 vectors sharing one pass over W, plus 0..=3 single
/// vectors after them; 16..=21 add a wide block of 16 (32-register paths) before them; shapes
/// cover rows not a multiple of the row block, column tails, rows shorter than one vector and
/// rows too long for a wide block's stack copy of x (> 512).
#[test]
fn gemv_batch_sizes_1_to_21_every_dtype() {
    let mut rng = Rng(23);
    for dt in [Dt::F32, Dt::F16, Dt::Bf16, Dt::I8] {
        for batch in (1..=9).chain([16, 17, 20, 21]) {
            for (rows, cols) in [
                (1, 1),
                (3, 5),
                (7, 15),
                (9, 17),
                (13, 33),
                (70, 70),
                (6, 300),
                (3, 513),
                (40, 20),
            ] {
                let act = if batch % 2 == 0 {
                    Activation::Tanh
                } else {
                    Activation::Identity
                };
                check_gemv(&mut rng, dt, rows, cols, batch, act, batch % 3 != 0);
            }
        }
    }
}

#[test]
fn gemv_every_dtype_every_activation_and_batches() {
    let mut rng = Rng(19);
    let all: Vec<Activation> = EXACT.iter().chain(&SMOOTH).copied().collect();
    for dt in [Dt::F32, Dt::F16, Dt::Bf16, Dt::I8] {
        for (i, &act) in all.iter().enumerate() {
            for (rows, cols) in [
                (1, 1),
                (7, 15),
                (8, 16),
                (9, 17),
                (33, 65),
                (70, 70),
                (5, 300),
            ] {
                check_gemv(&mut rng, dt, rows, cols, 1 + i % 3, act, true);
            }
        }
        check_gemv(&mut rng, dt, 100, 921, 2, Activation::Identity, true);
        check_gemv(&mut rng, dt, 3, 0, 1, Activation::Tanh, true);
    }
}

/// `gemv_batch` equals one `gemv` per vector bit for bit on every path and dtype, whatever the
/// vector's position in the batch (blocks of 16 and of 4 share a pass over W but keep each
/// vector's order of operations; the runtime's batched generate relies on it).
#[test]
fn gemv_batch_bit_identical_to_single_vectors() {
    let mut rng = Rng(37);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    for dt in [Dt::F32, Dt::F16, Dt::Bf16, Dt::I8] {
        for (rows, cols) in [
            (1, 1),
            (3, 5),
            (7, 15),
            (17, 33),
            (70, 70),
            (100, 100),
            (33, 512),
            (6, 1100),
        ] {
            let w = Weights::new(&mut rng, rows, cols);
            let m = w.mat(dt, rows, cols);
            let b = rng.vec(rows, 1.0);
            for batch in [1, 4, 5, 9, 16, 21, 37] {
                let x = rng.vec(batch * cols, 1.0);
                for &path in &paths {
                    let act = Activation::Tanh;
                    let mut yb = vec![0.0f32; batch * rows];
                    gemv_batch_on(path, &m, &x, batch, Some(&b), act, &mut yb).unwrap();
                    for bi in 0..batch {
                        let mut y1 = vec![0.0f32; rows];
                        let xb = &x[bi * cols..(bi + 1) * cols];
                        gemv_batch_on(path, &m, xb, 1, Some(&b), act, &mut y1).unwrap();
                        assert_eq!(
                            &yb[bi * rows..(bi + 1) * rows],
                            &y1[..],
                            "{path:?} {dt:?} {rows}x{cols} batch={batch} vector {bi}"
                        );
                    }
                }
            }
        }
    }
}

/// The blocked int8 layout (`WeightData::I8Blocked`) gives the bits of its row-major twin on
/// every path, for signed and non-negative inputs (the two AVX-512 variants), extreme inputs
/// (`x_q = +-Q`, the byte planes' end values), rows around the 16-row blocks and the 64-row
/// steps, columns around the 4-column groups, and batches.
#[test]
fn gemv_i8_blocked_equals_row_major_every_path() {
    let mut rng = Rng(41);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    let mut shapes: Vec<(usize, usize)> = (1..=70).map(|r| (r, 1 + (r * 7) % 70)).collect();
    shapes.extend((1..=70).map(|c| (1 + (c * 11) % 70, c)));
    shapes.extend([
        (16, 4),
        (64, 64),
        (65, 3),
        (128, 100),
        (921, 100),
        (5, 1024),
    ]);
    for (k, &(rows, cols)) in shapes.iter().enumerate() {
        let w = Weights::new(&mut rng, rows, cols);
        let rm = w.mat(Dt::I8, rows, cols);
        let bm = w.blocked_mat(rows, cols);
        let b = rng.vec(rows, 1.0);
        let batch = 1 + k % 5;
        let signed = rng.vec(batch * cols, 1.0);
        let nonneg: Vec<f32> = signed.iter().map(|v| v.max(0.0)).collect();
        // Alternating +-1 and 0: x_q hits +-Q exactly.
        let extreme: Vec<f32> = (0..batch * cols).map(|i| [1.0, -1.0, 0.0][i % 3]).collect();
        let act = [Activation::Identity, Activation::Relu, Activation::Tanh][k % 3];
        for x in [&signed, &nonneg, &extreme] {
            for &path in &paths {
                let mut want = vec![f32::NAN; batch * rows];
                let mut got = vec![f32::NAN; batch * rows];
                gemv_batch_on(path, &rm, x, batch, Some(&b), act, &mut want).unwrap();
                gemv_batch_on(path, &bm, x, batch, Some(&b), act, &mut got).unwrap();
                let ctx = format!("{path:?} blocked {rows}x{cols} batch={batch} {act:?}");
                assert_same_bits(&got, &want, &ctx);
            }
        }
    }
}

/// `rows` rows of `w` (`[rows, cols]`) `lda` apart, the padding columns NaN: a kernel that
/// read them would turn its outputs into NaN.
fn strided(w: &[f32], rows: usize, cols: usize, lda: usize) -> Vec<f32> {
    let mut out = vec![f32::NAN; rows * lda];
    for r in 0..rows {
        out[r * lda..r * lda + cols].copy_from_slice(&w[r * cols..(r + 1) * cols]);
    }
    out
}

/// Strided f32 (`WeightData::F32Strided`) gives the bits of the same matrix stored row-major on
/// every path, for strides of one row, the next multiple of 16 (the format's `f32-padded`),
/// odd strides, and batches that take every `gemv_batch` block (16, 4 and single vectors).
#[test]
fn gemv_f32_strided_equals_row_major_every_path() {
    let mut rng = Rng(47);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    let mut shapes: Vec<(usize, usize)> = (1..=70).map(|r| (r, 1 + (r * 7) % 70)).collect();
    shapes.extend([(100, 100), (921, 100), (33, 512), (40, 513), (6, 1100)]);
    for (k, &(rows, cols)) in shapes.iter().enumerate() {
        let w = rng.vec(rows * cols, 1.0);
        let rm = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let b = rng.vec(rows, 1.0);
        let batch = [1, 4, 5, 16, 21, 37][k % 6];
        let x = rng.vec(batch * cols, 1.0);
        let act = [Activation::Identity, Activation::Relu, Activation::Tanh][k % 3];
        for lda in [cols, cols.next_multiple_of(16), cols + 1, cols + 37] {
            let ws = strided(&w, rows, cols, lda);
            let sm = MatRef {
                rows,
                cols,
                data: WeightData::F32Strided { values: &ws, lda },
            };
            for &path in &paths {
                let mut want = vec![f32::NAN; batch * rows];
                let mut got = vec![f32::NAN; batch * rows];
                gemv_batch_on(path, &rm, &x, batch, Some(&b), act, &mut want).unwrap();
                gemv_batch_on(path, &sm, &x, batch, Some(&b), act, &mut got).unwrap();
                let ctx = format!("{path:?} strided {rows}x{cols} lda={lda} batch={batch}");
                assert_same_bits(&got, &want, &ctx);
            }
        }
    }
}

#[test]
fn f32_strided_rejects_short_stride_and_bad_length() {
    let w = vec![0.5f32; 2 * 16];
    let x = vec![1.0f32; 3];
    let mut y = vec![0.0f32; 2];
    let mat = |values, lda| MatRef {
        rows: 2,
        cols: 3,
        data: WeightData::F32Strided { values, lda },
    };
    let act = Activation::Identity;
    assert_eq!(
        gemv(&mat(&w[..4], 2), &x, None, act, &mut y),
        Err(KernelError::Stride { lda: 2, cols: 3 })
    );
    assert_eq!(
        gemv(&mat(&w[..31], 16), &x, None, act, &mut y),
        Err(KernelError::Length {
            what: "weights",
            expected: 32,
            found: 31
        })
    );
    gemv(&mat(&w, 16), &x, None, act, &mut y).unwrap();
    assert_eq!(y, [1.5, 1.5]);
    let e = KernelError::Stride { lda: 2, cols: 3 }.to_string();
    assert!(
        e.contains("2 elements apart") && e.contains("3 columns"),
        "{e}"
    );
}

#[test]
fn gemv_i8_blocked_special_inputs_and_errors() {
    let mut rng = Rng(43);
    let (rows, cols) = (20usize, 9usize);
    let w = Weights::new(&mut rng, rows, cols);
    let mut blocked = vec![0i8; i8_blocked_len(rows, cols).unwrap()];
    pack_i8_blocked(&w.q, rows, cols, &mut blocked).unwrap();
    let m = MatRef {
        rows,
        cols,
        data: WeightData::I8Blocked {
            values: &blocked,
            scales: &w.scales,
        },
    };
    let b = rng.vec(rows, 1.0);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    for &path in &paths {
        let mut y = vec![f32::NAN; rows];
        gemv_batch_on(
            path,
            &m,
            &[0.0; 9],
            1,
            Some(&b),
            Activation::Identity,
            &mut y,
        )
        .unwrap();
        assert_eq!(y, b, "{path:?}: zero input gives the bias");
        let mut x = [0.5f32; 9];
        x[4] = f32::NAN;
        gemv_batch_on(path, &m, &x, 1, Some(&b), Activation::Identity, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_nan()), "{path:?}: NaN in, NaN out");
    }
    let short = MatRef {
        data: WeightData::I8Blocked {
            values: &blocked[..blocked.len() - 1],
            scales: &w.scales,
        },
        ..m
    };
    let mut y = vec![0.0f32; rows];
    let err = gemv_batch_on(
        Path::Scalar,
        &short,
        &[0.0; 9],
        1,
        None,
        Activation::Identity,
        &mut y,
    );
    assert_eq!(
        err,
        Err(KernelError::Length {
            what: "weights",
            expected: 32 * 12,
            found: 32 * 12 - 1
        })
    );
    let wide_cols = QMAX_COLS + 1;
    let wide_vals = vec![0i8; i8_blocked_len(1, wide_cols).unwrap()];
    let wide = MatRef {
        rows: 1,
        cols: wide_cols,
        data: WeightData::I8Blocked {
            values: &wide_vals,
            scales: &[1.0],
        },
    };
    let x = vec![0.0f32; wide_cols];
    let err = gemv_batch_on(
        Path::Scalar,
        &wide,
        &x,
        1,
        None,
        Activation::Identity,
        &mut y[..1],
    );
    assert_eq!(
        err,
        Err(KernelError::BlockedTooWide {
            cols: wide_cols,
            max: QMAX_COLS
        })
    );
}

// ---------------------------------------------------------------- gemm (vectors in lanes)

/// `x` `[cols, n]` holding vectors as columns, from vectors `[n, cols]`.
fn columns(v: &[f32], n: usize, cols: usize) -> Vec<f32> {
    let mut x = vec![0.0f32; cols * n];
    for j in 0..n {
        for k in 0..cols {
            x[k * n + j] = v[j * cols + k];
        }
    }
    x
}

/// `gemm` against its scalar twin on every path, and the twin against an f64 sum: rows and
/// columns 1-70 around every row block (6, 8, 4, 2, 1) and lane block (64, 32, 16 vectors),
/// every activation, with and without bias. The FMA paths (avx2, avx512) run the twin's order
/// of operations, so identity, relu and prelu outputs are its bits; the other activations and the
/// portable path (fused only when built with FMA) are held to a tolerance.
#[test]
fn gemm_equals_its_scalar_twin() {
    let mut rng = Rng(71);
    let shapes = [
        (1, 1),
        (2, 3),
        (5, 7),
        (6, 16),
        (7, 1),
        (9, 33),
        (13, 70),
        (17, 5),
        (24, 24),
        (31, 12),
        (70, 70),
        (100, 100),
    ];
    for (idx, &(rows, cols)) in shapes.iter().enumerate() {
        let w = rng.vec(rows * cols, 1.0);
        let m = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let b = rng.vec(rows, 1.0);
        for n in [16, 32, 48, 64, 80, 112, 144] {
            let x = rng.vec(cols * n, 1.0);
            for (ai, act) in EXACT.into_iter().chain(SMOOTH).enumerate() {
                // Every activation on a few shapes, identity and relu on all.
                if (ai + idx) % 3 != 0 && !EXACT.contains(&act) {
                    continue;
                }
                let bias = (ai % 2 == 0).then_some(&b[..]);
                let mut want = vec![f32::NAN; rows * n];
                reference::gemm(&m, &x, n, bias, act, &mut want).unwrap();
                // The twin against the f64 sum of the same terms.
                for o in 0..rows {
                    for j in 0..n {
                        let (mut s, mut mag) = (bias.map_or(0.0, |b| b[o] as f64), 0.0f64);
                        mag += s.abs();
                        for k in 0..cols {
                            let t = w[o * cols + k] as f64 * x[k * n + j] as f64;
                            s += t;
                            mag += t.abs();
                        }
                        let exact = reference::activate_f64(act, s) as f32;
                        let tol = (cols + 2) as f32 * f32::EPSILON * mag as f32 * 1.5
                            + 2e-6 * exact.abs()
                            + 1e-6;
                        let got = want[o * n + j];
                        assert!(
                            (got - exact).abs() <= tol,
                            "reference {rows}x{cols} n={n} {act:?} y[{o},{j}] {got} vs {exact}"
                        );
                    }
                }
                for path in fast_paths() {
                    let mut got = vec![f32::NAN; rows * n];
                    gemm_on(path, &m, &x, n, bias, act, &mut got).unwrap();
                    let exact = matches!(path, Path::Avx2 | Path::Avx512) && EXACT.contains(&act);
                    for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
                        let ok = if exact {
                            g.to_bits() == r.to_bits()
                        } else {
                            let (o, j) = (i / n, i % n);
                            let mag: f32 = (0..cols)
                                .map(|k| (w[o * cols + k] * x[k * n + j]).abs())
                                .sum::<f32>()
                                + bias.map_or(0.0, |b| b[o].abs());
                            (g - r).abs()
                                <= 4.0 * (cols + 1) as f32 * f32::EPSILON * mag
                                    + 2e-6 * r.abs()
                                    + 2e-7
                        };
                        assert!(
                            ok,
                            "{path:?} {rows}x{cols} n={n} {act:?} bias={} y[{}, {}]: {g} vs {r}",
                            bias.is_some(),
                            i / n,
                            i % n
                        );
                    }
                }
            }
        }
    }
}

/// A vector's outputs do not depend on the batch around it: vector `v` alone (padded with
/// zeros to 16) and at every lane of a batch of 144 (lane blocks of 64, 32 and 16) gives the
/// same bits, on every path. `gemm` agrees with `gemv_batch` on the same vectors to rounding.
#[test]
fn gemm_vector_results_do_not_depend_on_the_batch() {
    let mut rng = Rng(5);
    let (rows, cols, n) = (23, 41, 144);
    let w = rng.vec(rows * cols, 1.0);
    let m = MatRef {
        rows,
        cols,
        data: WeightData::F32(&w),
    };
    let b = rng.vec(rows, 1.0);
    let vecs = rng.vec(n * cols, 1.0);
    let x = columns(&vecs, n, cols);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    for path in paths {
        let act = Activation::Tanh;
        let mut y = vec![0.0f32; rows * n];
        gemm_on(path, &m, &x, n, Some(&b), act, &mut y).unwrap();
        let mut dot = vec![0.0f32; n * rows];
        gemv_batch_on(path, &m, &vecs, n, Some(&b), act, &mut dot).unwrap();
        for j in 0..n {
            let lane = (j * 7) % 16;
            let mut one = vec![0.0f32; 16 * cols];
            for k in 0..cols {
                one[k * 16 + lane] = vecs[j * cols + k];
            }
            let mut y1 = vec![0.0f32; rows * 16];
            gemm_on(path, &m, &one, 16, Some(&b), act, &mut y1).unwrap();
            for o in 0..rows {
                let (g, a, d) = (y[o * n + j], y1[o * 16 + lane], dot[j * rows + o]);
                assert_eq!(g.to_bits(), a.to_bits(), "{path:?} vector {j} row {o}");
                assert!(
                    (g - d).abs() <= 1e-5,
                    "{path:?} vector {j} row {o}: {g} vs gemv {d}"
                );
            }
        }
    }
}

/// `gemm` and `widen_rows` on strided f32 give the bits of the row-major matrix on every path
/// (the padding, NaN here, is never read).
#[test]
fn gemm_and_widen_rows_f32_strided_equal_row_major() {
    let mut rng = Rng(73);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    for (rows, cols) in [(1, 1), (5, 7), (9, 33), (13, 70), (100, 100), (70, 3)] {
        let w = rng.vec(rows * cols, 1.0);
        let rm = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let b = rng.vec(rows, 1.0);
        for lda in [cols.next_multiple_of(16), cols + 5] {
            let ws = strided(&w, rows, cols, lda);
            let sm = MatRef {
                rows,
                cols,
                data: WeightData::F32Strided { values: &ws, lda },
            };
            for n in [16, 64, 80] {
                let x = rng.vec(cols * n, 1.0);
                for &path in &paths {
                    let mut want = vec![f32::NAN; rows * n];
                    let mut got = vec![f32::NAN; rows * n];
                    let act = Activation::Tanh;
                    gemm_on(path, &rm, &x, n, Some(&b), act, &mut want).unwrap();
                    gemm_on(path, &sm, &x, n, Some(&b), act, &mut got).unwrap();
                    let ctx = format!("{path:?} gemm strided {rows}x{cols} lda={lda} n={n}");
                    assert_same_bits(&got, &want, &ctx);
                }
            }
            for (r0, n) in [(0, rows), (rows / 2, rows - rows / 2), (rows - 1, 1)] {
                let mut dst = vec![f32::NAN; n * cols];
                widen_rows(&sm, r0, n, &mut dst).unwrap();
                assert_eq!(
                    dst,
                    w[r0 * cols..(r0 + n) * cols],
                    "widen {rows}x{cols} lda={lda}"
                );
            }
        }
    }
}

#[test]
fn gemm_rejects_bad_shapes_and_types() {
    let w = vec![0.5f32; 6];
    let m = MatRef {
        rows: 2,
        cols: 3,
        data: WeightData::F32(&w),
    };
    let x = vec![1.0f32; 3 * 16];
    let mut y = vec![0.0f32; 2 * 16];
    let act = Activation::Identity;
    assert_eq!(
        gemm(&m, &x[..3 * 15], 15, None, act, &mut y[..30]),
        Err(KernelError::Lanes {
            found: 15,
            multiple: GEMM_LANES
        })
    );
    assert_eq!(
        gemm(&m, &x[1..], 16, None, act, &mut y),
        Err(KernelError::Length {
            what: "x",
            expected: 48,
            found: 47
        })
    );
    assert_eq!(
        gemm(&m, &x, 16, Some(&[1.0]), act, &mut y),
        Err(KernelError::Length {
            what: "bias",
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        gemm(&m, &x, 16, None, act, &mut y[1..]),
        Err(KernelError::Length {
            what: "y",
            expected: 32,
            found: 31
        })
    );
    let h = vec![f16::ONE; 6];
    let mh = MatRef {
        rows: 2,
        cols: 3,
        data: WeightData::F16(&h),
    };
    let e = gemm(&mh, &x, 16, None, act, &mut y).unwrap_err();
    assert_eq!(
        e,
        KernelError::WeightType {
            expected: "f32",
            found: "f16"
        }
    );
    assert_eq!(e.to_string(), "weights are f16; this kernel takes f32");
    gemm(&m, &x, 16, Some(&[1.0, -2.0]), act, &mut y).unwrap();
    assert!(y[..16].iter().all(|&v| v == 2.5) && y[16..].iter().all(|&v| v == -0.5));
}

/// `columns_to_rows` moves every element where the index math says, on full 16 x 16 squares
/// (the AVX-512 and AVX2 register transposes, on the active path) and on edges, and touches
/// nothing else of `dst`.
#[test]
fn columns_to_rows_every_shape() {
    for (rows, n, count, extra) in [
        (1, 16, 1, 0),
        (16, 16, 16, 0),
        (17, 32, 31, 3),
        (33, 48, 48, 1),
        (921, 64, 64, 7),
        (100, 80, 77, 0),
        (5, 16, 0, 2),
    ] {
        let stride = rows + extra;
        let src: Vec<f32> = (0..rows * n).map(|i| i as f32).collect();
        let len = if count == 0 {
            0
        } else {
            (count - 1) * stride + rows
        };
        let mut dst = vec![-1.0f32; len];
        columns_to_rows(&src, rows, n, count, &mut dst, stride).unwrap();
        for (i, &v) in dst.iter().enumerate() {
            let (c, r) = (i / stride, i % stride);
            let want = if r < rows { src[r * n + c] } else { -1.0 };
            assert_eq!(
                v, want,
                "{rows}x{n} count {count}: dst[{i}] (column {c}, row {r})"
            );
        }
    }
    let src = vec![0.0f32; 32];
    let mut dst = vec![0.0f32; 40];
    assert!(matches!(
        columns_to_rows(&src, 2, 16, 17, &mut dst, 2),
        Err(KernelError::TooShort {
            what: "src columns",
            ..
        })
    ));
    assert!(matches!(
        columns_to_rows(&src, 2, 16, 16, &mut dst[..31], 2),
        Err(KernelError::TooShort {
            what: "dst",
            needed: 32,
            found: 31
        })
    ));
    assert!(matches!(
        columns_to_rows(&src, 2, 16, 16, &mut dst, 1),
        Err(KernelError::TooShort { what: "stride", .. })
    ));
}

/// `fold_tanh_lanes` gives every column the bits of `fold_tanh` on that block alone (all four
/// flag combinations; inputs counts around the four partial sums; column counts around the
/// 16-column chunks, and one column, which runs `fold_tanh`'s loop in the path's entry; row
/// counts around that loop's groups of 4 rows).
#[test]
fn fold_tanh_lanes_equals_fold_tanh_per_column() {
    let mut rng = Rng(23);
    let shapes = [
        (1, 1, 1),
        (20, 20, 1),
        (7, 33, 1),
        (9, 6, 1),
        (4, 3, 1),
        (3, 4, 16),
        (5, 5, 20),
        (20, 20, 64),
        (7, 33, 37),
    ];
    for (n_out, n_in, n) in shapes {
        let row = n_in + 1;
        let cols = rng.vec(n_out * row * n, 2.0);
        for (input_folded, output_folded) in [(false, true), (true, false), (true, true)] {
            let mut lanes = cols.clone();
            fold_tanh_lanes(&mut lanes, n_in, n, input_folded, output_folded).unwrap();
            for j in 0..n {
                let mut block: Vec<f32> = (0..n_out * row).map(|e| cols[e * n + j]).collect();
                fold_tanh(&mut block, n_in, input_folded, output_folded).unwrap();
                for (e, v) in block.iter().enumerate() {
                    assert_eq!(
                        lanes[e * n + j].to_bits(),
                        v.to_bits(),
                        "{n_out}x{n_in} n={n} ({input_folded}, {output_folded}) column {j} element {e}"
                    );
                }
            }
        }
    }
    assert!(matches!(
        fold_tanh_lanes(&mut [0.0; 7], 2, 2, true, true),
        Err(KernelError::Length { what: "params", .. })
    ));
}

/// `widen_rows` gives `reference`'s view of every weight (f16/bf16 exact, int8 `scale * q`,
/// blocked int8 through `i8_blocked_index`) for row ranges at the 16-row block edges.
#[test]
fn widen_rows_every_dtype() {
    let mut rng = Rng(3);
    for (rows, cols) in [(1, 1), (17, 5), (33, 100), (40, 7)] {
        let w = Weights::new(&mut rng, rows, cols);
        let mats = [
            (Dt::F32, w.mat(Dt::F32, rows, cols)),
            (Dt::F16, w.mat(Dt::F16, rows, cols)),
            (Dt::Bf16, w.mat(Dt::Bf16, rows, cols)),
            (Dt::I8, w.mat(Dt::I8, rows, cols)),
            (Dt::I8, w.blocked_mat(rows, cols)),
        ];
        for (dt, m) in mats {
            for (r0, n) in [(0, rows), (rows / 2, rows - rows / 2), (rows - 1, 1)] {
                let mut dst = vec![f32::NAN; n * cols];
                widen_rows(&m, r0, n, &mut dst).unwrap();
                for r in 0..n {
                    for c in 0..cols {
                        let i = (r0 + r) * cols + c;
                        let want = match dt {
                            Dt::F32 => w.f32[i],
                            Dt::F16 => w.f16[i].to_f32(),
                            Dt::Bf16 => w.bf16[i].to_f32(),
                            Dt::I8 => w.scales[r0 + r] * f32::from(w.q[i]),
                        };
                        assert_eq!(
                            dst[r * cols + c],
                            want,
                            "{dt:?} {rows}x{cols} row {}",
                            r0 + r
                        );
                    }
                }
            }
            let mut dst = vec![0.0f32; cols];
            assert!(matches!(
                widen_rows(&m, rows, 1, &mut dst),
                Err(KernelError::TooShort {
                    what: "weight rows",
                    ..
                })
            ));
        }
    }
}

/// `MatRef::row_block` (the runtime's split of one GEMV between threads) gives, on every
/// path and for every weight type and layout, the bits of those rows of the whole matrix's
/// GEMV: for one vector and for batches, for blocks that start and end anywhere (on the 16-row
/// blocks for blocked int8), empty blocks and the whole matrix.
#[test]
fn gemv_row_blocks_give_the_rows_of_the_whole_matrix() {
    let mut rng = Rng(53);
    let mut paths = fast_paths();
    paths.push(Path::Scalar);
    for (k, &(rows, cols)) in [(1, 5), (37, 19), (70, 64), (921, 100), (130, 1100)]
        .iter()
        .enumerate()
    {
        let w = Weights::new(&mut rng, rows, cols);
        let lda = cols.next_multiple_of(16) + 3;
        let padded = strided(&w.f32, rows, cols, lda);
        let mut mats = vec![
            w.mat(Dt::F32, rows, cols),
            w.mat(Dt::F16, rows, cols),
            w.mat(Dt::Bf16, rows, cols),
            w.mat(Dt::I8, rows, cols),
            MatRef {
                rows,
                cols,
                data: WeightData::F32Strided {
                    values: &padded,
                    lda,
                },
            },
        ];
        if cols <= QMAX_COLS {
            mats.push(w.blocked_mat(rows, cols));
        }
        let b = rng.vec(rows, 1.0);
        let act = [Activation::Identity, Activation::Relu, Activation::Tanh][k % 3];
        for batch in [1, 5, 17] {
            let x = rng.vec(batch * cols, 1.0);
            for m in &mats {
                let is_blocked = matches!(m.data, WeightData::I8Blocked { .. });
                // Starts: every 16-row block start, plus odd rows where the layout allows.
                let mut cuts: Vec<usize> = (0..=rows).step_by(16).collect();
                if !is_blocked {
                    cuts.extend([1, 7, rows / 2 + 1].into_iter().filter(|&c| c <= rows));
                }
                for &path in &paths {
                    let mut whole = vec![f32::NAN; batch * rows];
                    gemv_batch_on(path, m, &x, batch, Some(&b), act, &mut whole).unwrap();
                    for &r0 in &cuts {
                        for n in [0, 1, 8, 16, 33, rows - r0] {
                            let n = n.min(rows - r0);
                            let sub = m.row_block(r0, n).unwrap();
                            assert_eq!((sub.rows, sub.cols), (n, cols));
                            let mut got = vec![f32::NAN; batch * n];
                            gemv_batch_on(
                                path,
                                &sub,
                                &x,
                                batch,
                                Some(&b[r0..r0 + n]),
                                act,
                                &mut got,
                            )
                            .unwrap();
                            let want: Vec<f32> = (0..batch)
                                .flat_map(|v| whole[v * rows + r0..v * rows + r0 + n].to_vec())
                                .collect();
                            let ctx = format!(
                                "{path:?} {} {rows}x{cols} rows {r0}..{} batch={batch}",
                                m.data.type_name(),
                                r0 + n
                            );
                            assert_same_bits(&got, &want, &ctx);
                        }
                    }
                }
            }
        }
    }
}

/// `MatRef::row_block` refuses rows past the end, a blocked int8 block cut inside its 16
/// rows, and a matrix whose data does not match its shape.
#[test]
fn row_block_rejects_bad_ranges() {
    let q = vec![1i8; i8_blocked_len(40, 8).unwrap()];
    let scales = vec![0.5f32; 40];
    let blocked = MatRef {
        rows: 40,
        cols: 8,
        data: WeightData::I8Blocked {
            values: &q,
            scales: &scales,
        },
    };
    assert_eq!(
        blocked.row_block(8, 4).unwrap_err(),
        KernelError::RowBlock {
            r0: 8,
            multiple: I8_BLOCK_ROWS
        }
    );
    assert!(blocked.row_block(32, 8).is_ok());
    assert_eq!(
        blocked.row_block(32, 9).unwrap_err(),
        KernelError::TooShort {
            what: "weight rows",
            needed: 41,
            found: 40
        }
    );
    let w = vec![0.0f32; 40 * 8];
    let m = MatRef {
        rows: 40,
        cols: 8,
        data: WeightData::F32(&w),
    };
    assert!(m.row_block(3, 37).is_ok());
    assert!(matches!(
        m.row_block(usize::MAX, 2),
        Err(KernelError::Overflow)
    ));
    let short = MatRef {
        rows: 41,
        cols: 8,
        data: WeightData::F32(&w),
    };
    assert!(matches!(
        short.row_block(0, 1),
        Err(KernelError::Length {
            what: "weights",
            ..
        })
    ));
    let msg = blocked.row_block(8, 4).unwrap_err().to_string();
    assert!(
        msg.contains("from 8") && msg.contains("multiple of 16"),
        "{msg}"
    );
}

// ---------------------------------------------------------------- AMX tiles

/// Folds a tanh net's hidden layers as the runtime does (`fold_tanh`), returning the rewritten
/// theta and the activations. The net has at least one hidden layer.
fn folded(sizes: &[usize], th: &[f32], last: Activation) -> (Vec<f32>, Vec<Activation>) {
    let plain = layers(sizes, th, Activation::Tanh, last);
    let mut acts: Vec<Activation> = plain.iter().map(|l| l.act).collect();
    assert!(
        fold_tanh_acts(&mut acts),
        "{sizes:?}: no hidden tanh layer to fold"
    );
    let mut t = th.to_vec();
    let mut off = 0;
    for (k, l) in plain.iter().enumerate() {
        let len = l.params.len();
        let input_folded = k > 0 && acts[k - 1] == Activation::TanhFolded;
        fold_tanh(
            &mut t[off..off + len],
            l.n_in,
            input_folded,
            acts[k] == Activation::TanhFolded,
        )
        .unwrap();
        off += len;
    }
    (t, acts)
}

/// A tanh net (hidden layers folded as the runtime folds them, or plain) for the AMX tests.
fn tanh_net(rng: &mut Rng, sizes: &[usize], fold: bool) -> (Vec<f32>, Vec<Activation>) {
    let th = theta(rng, sizes);
    if fold {
        folded(sizes, &th, Activation::Identity)
    } else {
        let n = sizes.len() - 1;
        let mut acts = vec![Activation::Tanh; n];
        acts[n - 1] = Activation::Identity;
        (th, acts)
    }
}

fn with_acts<'a>(sizes: &[usize], th: &'a [f32], acts: &[Activation]) -> Vec<Layer<'a>> {
    let mut ls = layers(sizes, th, Activation::Tanh, Activation::Identity);
    for (l, &a) in ls.iter_mut().zip(acts) {
        l.act = a;
    }
    ls
}

/// Nets the AMX tiles take: widths around the 32-input step and 16-neuron block, one to three
/// hidden products, 1-4 point dimensions.
const AMX_NETS: [&[usize]; 7] = [
    &[2, 64, 64, 64, 1],
    &[2, 32, 32, 1],
    &[1, 33, 47, 1],
    &[3, 40, 100, 1],
    &[4, 63, 65, 1],
    &[2, 100, 32, 1],
    &[2, 48, 48, 48, 48, 1],
];

/// The tiles' split products are within a few f32 roundings of the FMA sums (module docs of
/// `x86_64/amx.rs`): against the f32 reference, `|got - want| <= 2e-6 (1 + |want|)` on every
/// net and point count (measured at most 7.4e-7 here; the FMA tile path is held to 1e-4 for
/// smooth activations), every output finite. A wrong piece, pair or block offset is an O(1)
/// error.
#[test]
fn amx_matches_the_reference() {
    if !amx_available() {
        eprintln!("AMX tiles unavailable here: amx_matches_the_reference checks nothing");
        return;
    }
    let mut rng = Rng(0xA3);
    let mut worst = 0.0f32;
    for sizes in AMX_NETS {
        for fold in [false, true] {
            let (th, acts) = tanh_net(&mut rng, sizes, fold);
            let ls = with_acts(sizes, &th, &acts);
            for n in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 1000] {
                let pts = rng.vec(n * sizes[0], 2.0);
                let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
                let mut want = vec![0.0f32; n];
                reference::mlp_eval(&ls, &pts, &mut want, &mut scratch).unwrap();
                let mut got = vec![f32::NAN; n];
                mlp_eval_amx(&ls, &pts, &mut got, &mut scratch).unwrap();
                for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    let e = (g - w).abs() / (1.0 + w.abs());
                    assert!(
                        e <= 2e-6,
                        "{sizes:?} fold={fold} n={n} out[{k}]: {g} vs {w}"
                    );
                    worst = worst.max(e);
                }
            }
        }
    }
    eprintln!("AMX vs reference: worst relative error {worst:e}");
}

/// Each point's result depends on that point alone: evaluating the points in pieces of any
/// size gives the bits of one call (what lets `eval_all_par` split a function's points
/// across threads); a NaN point gives NaN there and leaves every other point's bits; the
/// automatic dispatch of `mlp_eval` runs the tiles when `mlp_uses_amx` says so.
#[test]
fn amx_results_do_not_depend_on_the_call() {
    if !amx_available() {
        eprintln!(
            "AMX tiles unavailable here: amx_results_do_not_depend_on_the_call checks nothing"
        );
        return;
    }
    let mut rng = Rng(0xA4);
    let sizes = [2, 64, 64, 64, 1];
    let (th, acts) = tanh_net(&mut rng, &sizes, true);
    let ls = with_acts(&sizes, &th, &acts);
    let n = 301;
    let pts = rng.vec(n * 2, 2.0);
    let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
    let mut whole = vec![0.0f32; n];
    mlp_eval_amx(&ls, &pts, &mut whole, &mut scratch).unwrap();
    for piece in [1usize, 7, 16, 17, 32, 33, 100] {
        let mut got = vec![f32::NAN; n];
        for (p, y) in pts.chunks(piece * 2).zip(got.chunks_mut(piece)) {
            mlp_eval_amx(&ls, p, y, &mut scratch).unwrap();
        }
        assert_same_bits(&got, &whole, &format!("pieces of {piece}"));
    }
    let mut bad = pts.clone();
    bad[2 * 40 + 1] = f32::NAN;
    let mut got = vec![0.0f32; n];
    mlp_eval_amx(&ls, &bad, &mut got, &mut scratch).unwrap();
    assert!(got[40].is_nan(), "the NaN point: {}", got[40]);
    got[40] = whole[40];
    assert_same_bits(&got, &whole, "every other point beside a NaN one");
    if mlp_uses_amx(&ls) {
        let mut auto = vec![0.0f32; n];
        mlp_eval(&ls, &pts, &mut auto, &mut scratch).unwrap();
        assert_same_bits(&auto, &whole, "mlp_eval on the tiles");
    }
}

/// Nets the tiles do not take are refused with `KernelError::Amx` (and `mlp_uses_amx` is
/// false for them); a non-finite hidden weight is refused by the tiles, and `mlp_eval` runs
/// that net on the FMA path instead, matching the reference.
#[test]
fn amx_refuses_what_it_cannot_run() {
    let mut rng = Rng(0xA5);
    let refused: [(&[usize], Activation); 5] = [
        (&[2, 20, 20, 20, 1], Activation::Tanh),
        (&[2, 64, 64, 2], Activation::Tanh),
        (&[2, 64, 64, 1], Activation::Relu),
        (&[5, 64, 64, 1], Activation::Tanh),
        (&[2, 64, 64, 64, 64, 64, 1], Activation::Tanh),
    ];
    for (sizes, act) in refused {
        let th = theta(&mut rng, sizes);
        let ls = layers(sizes, &th, act, Activation::Identity);
        let d_out = sizes[sizes.len() - 1];
        let pts = rng.vec(3 * sizes[0], 1.0);
        let mut out = vec![0.0f32; 3 * d_out];
        let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
        assert!(!mlp_uses_amx(&ls), "{sizes:?} {act:?}");
        assert!(
            matches!(
                mlp_eval_amx(&ls, &pts, &mut out, &mut scratch),
                Err(KernelError::Amx { .. })
            ),
            "{sizes:?} {act:?}"
        );
    }
    let sizes = [2, 64, 64, 1];
    let (mut th, acts) = tanh_net(&mut rng, &sizes, false);
    th[3 * 65 + 200] = f32::INFINITY; // a weight of the hidden 64 x 64 layer
    let ls = with_acts(&sizes, &th, &acts);
    let pts = rng.vec(2 * 20, 1.0);
    let mut scratch = vec![0.0f32; mlp_scratch_len(&ls)];
    let mut got = vec![0.0f32; 20];
    if amx_available() {
        let e = mlp_eval_amx(&ls, &pts, &mut got, &mut scratch).unwrap_err();
        assert!(matches!(e, KernelError::Amx { .. }), "{e}");
    }
    let mut want = vec![0.0f32; 20];
    reference::mlp_eval(&ls, &pts, &mut want, &mut scratch).unwrap();
    mlp_eval(&ls, &pts, &mut got, &mut scratch).unwrap();
    for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()),
            "out[{k}]: {g} vs {w}"
        );
    }
}
