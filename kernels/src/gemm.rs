//! Dense layers of a batched generate: `Y = act(W X + bias)` for many vectors at once, the
//! vectors in SIMD lanes.
//!
//! [`gemm`] is the broadcast form of the same layer [`crate::gemv_batch`] computes in dot
//! form. The vectors are the columns of `X` (`[cols, n]` row-major: row `k` holds input `k` of
//! every vector), so one register holds one input of `LANES` vectors; each weight `W[o, k]` is
//! broadcast and feeds one FMA per register, and the `R x NV` accumulators (`R` rows, `NV`
//! registers of vectors) need no reduction at the end. This is what the tile evaluator does
//! with points ([`crate::mlp_eval`]); here the weights are a row-major [`crate::MatRef`] with
//! a separate bias, as the hypernetwork stores them.
//!
//! Order of operations (every path, the scalar twin included): `acc = bias[o]`, then
//! `acc = fma(W[o, k], X[k, j], acc)` for `k = 0, 1, ...`, then the activation. It does not
//! depend on `n` or on a vector's position, so a vector's outputs are the same bits whatever
//! else is in the batch; on the FMA paths (avx2, avx512) they are the scalar twin's bits for
//! identity, relu and prelu (the other activations: to the activation's stated accuracy).
//! They differ from [`crate::gemv`]'s by rounding only (different summation order).

use crate::gemv::{check_len, WeightData};
use crate::simd::Simd;
use crate::vector_math::activate;
use crate::{active_path, reference, Activation, KernelError, MatRef, Path};

/// `n`, the number of vectors of a [`gemm`], must be a multiple of this (pad `X` with any
/// finite values; the padding columns of `Y` are computed and can be ignored). It is the
/// widest register (16 f32 on AVX-512), so no path needs a partial vector.
pub const GEMM_LANES: usize = 16;

/// `Y = act(W X + bias)` for `n` vectors at once, on the [`active_path`].
///
/// `w`: f32 weights `[rows, cols]` row-major (or strided, [`crate::WeightData::F32Strided`]:
/// the same bits); `x`: `[cols, n]` row-major (vector `j` is column
/// `j`); `bias`: `[rows]` (none = zeros); `y`: `[rows, n]` row-major. `n` must be a multiple
/// of [`GEMM_LANES`]. See the module docs for the order of operations.
///
/// # Errors
/// [`KernelError::Length`] if a slice does not match the shapes, [`KernelError::Lanes`] if
/// `n` is not a multiple of [`GEMM_LANES`], [`KernelError::WeightType`] for weights other
/// than f32 (row-major or strided).
pub fn gemm(
    w: &MatRef<'_>,
    x: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    gemm_on(active_path(), w, x, n, bias, act, y)
}

/// [`gemm`] on an explicit path (tests and benchmarks compare paths with this).
///
/// # Errors
/// As [`gemm`], plus [`KernelError::UnsupportedPath`] if the CPU cannot run `path`.
pub fn gemm_on(
    path: Path,
    w: &MatRef<'_>,
    x: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    w.validate()?;
    let (wd, lda) = match w.data {
        WeightData::F32(d) => (d, w.cols),
        WeightData::F32Strided { values, lda } => (values, lda),
        _ => {
            return Err(KernelError::WeightType {
                expected: "f32",
                found: w.data.type_name(),
            })
        }
    };
    if !n.is_multiple_of(GEMM_LANES) {
        return Err(KernelError::Lanes {
            found: n,
            multiple: GEMM_LANES,
        });
    }
    let nx = w.cols.checked_mul(n).ok_or(KernelError::Overflow)?;
    let ny = w.rows.checked_mul(n).ok_or(KernelError::Overflow)?;
    check_len("x", nx, x.len())?;
    if let Some(b) = bias {
        check_len("bias", w.rows, b.len())?;
    }
    check_len("y", ny, y.len())?;
    if !path.is_supported() {
        return Err(KernelError::UnsupportedPath(path));
    }
    let g = Gemm {
        w: wd,
        rows: w.rows,
        cols: w.cols,
        lda,
        x,
        n,
        bias,
        act,
    };
    if g.rows == 0 || n == 0 {
        return Ok(());
    }
    match path {
        Path::Scalar => reference::gemm_unchecked(&g, y),
        Path::Portable => crate::portable::gemm(&g, y),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => crate::x86_64::avx2_gemm(&g, y),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => crate::x86_64::avx512_gemm(&g, y),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}

/// A validated [`gemm`] call (all but the output): `w` holds `rows` rows of `cols` f32, `lda
/// >= cols` apart, `x.len() = cols * n`, `bias` `[rows]`, `n` a multiple of [`GEMM_LANES`].
pub(crate) struct Gemm<'a> {
    pub(crate) w: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) lda: usize,
    pub(crate) x: &'a [f32],
    pub(crate) n: usize,
    pub(crate) bias: Option<&'a [f32]>,
    pub(crate) act: Activation,
}

/// [`gemm`] on the path of `s`: lane blocks of `NV` registers, widest first, each running over
/// all rows in blocks of `R`.
///
/// AVX-512 (32 registers): 64 vectors x 6 rows (24 accumulators, 4 loads of `X` and 6
/// broadcasts per 24 FMAs), then 32 x 8 and 16 x 8 for the rest of `n`. AVX2 and portable
/// (16 registers of 8): 16 vectors x 6 rows (12 accumulators).
///
/// # Safety
/// The path of `s` is supported; `g` is validated and `y.len() = rows * n`.
#[inline(always)]
pub(crate) unsafe fn gemm_simd<S: Simd>(s: S, g: &Gemm<'_>, y: &mut [f32]) {
    let l = S::LANES;
    debug_assert!(GEMM_LANES.is_multiple_of(l) && y.len() == g.rows * g.n);
    let mut j = 0;
    // SAFETY: every block stays inside columns j..j + NV * LANES <= n (n is a multiple of
    // GEMM_LANES, itself a multiple of 2 * LANES on the 8-lane paths and of LANES on AVX-512).
    unsafe {
        // `const { .. }`: each path instantiates only its own blocks.
        if const { S::REGISTERS >= 32 } {
            while j + 4 * l <= g.n {
                lane_block::<S, 4, 6>(s, g, j, y);
                j += 4 * l;
            }
            if j + 2 * l <= g.n {
                lane_block::<S, 2, 8>(s, g, j, y);
                j += 2 * l;
            }
            if j + l <= g.n {
                lane_block::<S, 1, 8>(s, g, j, y);
                j += l;
            }
        } else {
            while j + 2 * l <= g.n {
                lane_block::<S, 2, 6>(s, g, j, y);
                j += 2 * l;
            }
        }
    }
    debug_assert_eq!(j, g.n);
}

/// Columns `j..j + NV * LANES` of `Y`, all rows: blocks of `R`, then 4, 2, 1.
///
/// # Safety
/// As [`gemm_simd`], and `j + NV * LANES <= n`.
#[inline(always)]
unsafe fn lane_block<S: Simd, const NV: usize, const R: usize>(
    s: S,
    g: &Gemm<'_>,
    j: usize,
    y: &mut [f32],
) {
    let mut o = 0;
    // SAFETY: rows o..o + r exist in every call below; forwarded contract otherwise.
    unsafe {
        while o + R <= g.rows {
            rows::<S, NV, R>(s, g, o, j, y);
            o += R;
        }
        while o + 4 <= g.rows {
            rows::<S, NV, 4>(s, g, o, j, y);
            o += 4;
        }
        if o + 2 <= g.rows {
            rows::<S, NV, 2>(s, g, o, j, y);
            o += 2;
        }
        if o < g.rows {
            rows::<S, NV, 1>(s, g, o, j, y);
        }
    }
}

/// Rows `o..o + R`, columns `j..j + NV * LANES` of `Y`.
///
/// # Safety
/// As [`lane_block`], and `o + R <= rows`.
#[inline(always)]
unsafe fn rows<S: Simd, const NV: usize, const R: usize>(
    s: S,
    g: &Gemm<'_>,
    o: usize,
    j: usize,
    y: &mut [f32],
) {
    let l = S::LANES;
    let (n, cols) = (g.n, g.cols);
    debug_assert!(o + R <= g.rows && j + NV * l <= n);
    // SAFETY: row r < R of W is w[(o + r) * lda..][..cols]; X's row k holds n >= j + NV * l
    // f32 from x[k * n]; Y's row o + r likewise (lengths validated by `gemm_on`).
    unsafe {
        let mut acc = [[s.splat(0.0); NV]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            *a = [s.splat(g.bias.map_or(0.0, |b| b[o + r])); NV];
        }
        // One pointer per row, indexed by k: no per-step address arithmetic.
        let mut w = [g.w.as_ptr(); R];
        for r in 0..R {
            w[r] = g.w.as_ptr().add((o + r) * g.lda);
        }
        let x = g.x.as_ptr().add(j);
        for k in 0..cols {
            let xk = x.add(k * n);
            let mut xv = [s.splat(0.0); NV];
            for v in 0..NV {
                xv[v] = s.load(xk.add(v * l));
            }
            for r in 0..R {
                let wv = s.splat(*w[r].add(k));
                for v in 0..NV {
                    acc[r][v] = s.fma(wv, xv[v], acc[r][v]);
                }
            }
        }
        let yp = y.as_mut_ptr().add(o * n + j);
        for (r, a) in acc.iter().enumerate() {
            for (v, &av) in a.iter().enumerate() {
                s.store(yp.add(r * n + v * l), activate(s, g.act, av));
            }
        }
    }
}

/// Copies column `j` of `src` (`[rows, n]` row-major, as [`gemm`] writes its outputs) to
/// `dst[j * stride..][..rows]` for `j < count`: the vectors of a [`gemm`] back to one
/// contiguous vector each, `stride` apart, on the [`active_path`].
///
/// Works in squares of 16 rows x 16 columns; on AVX-512 a square is 16 loads of 16, a
/// transpose in registers and 16 stores of 16 (on AVX2 four 8 x 8 blocks the same way), so
/// neither side is read or written one strided element at a time (element by element, B's
/// 921 x 64 thetas took ~28 us on AVX-512; on AVX2 B's generate was 5 % slower). Pure data
/// movement: every path gives the same result.
///
/// # Errors
/// [`KernelError::Length`] / [`KernelError::TooShort`] if `src` is not `rows * n` long,
/// `count > n`, `stride < rows` or `dst` is shorter than `(count - 1) * stride + rows`.
pub fn columns_to_rows(
    src: &[f32],
    rows: usize,
    n: usize,
    count: usize,
    dst: &mut [f32],
    stride: usize,
) -> Result<(), KernelError> {
    let len = rows.checked_mul(n).ok_or(KernelError::Overflow)?;
    check_len("src", len, src.len())?;
    if count > n {
        return Err(KernelError::TooShort {
            what: "src columns",
            needed: count,
            found: n,
        });
    }
    if stride < rows {
        return Err(KernelError::TooShort {
            what: "stride",
            needed: rows,
            found: stride,
        });
    }
    if count == 0 || rows == 0 {
        return Ok(());
    }
    let needed = (count - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(rows))
        .ok_or(KernelError::Overflow)?;
    if dst.len() < needed {
        return Err(KernelError::TooShort {
            what: "dst",
            needed,
            found: dst.len(),
        });
    }
    let t = Transpose {
        src,
        rows,
        n,
        count,
        stride,
    };
    match active_path() {
        // SAFETY: validated above; the scalar square runs everywhere.
        Path::Scalar | Path::Portable => unsafe { transpose_blocks(&t, dst, square_scalar) },
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => crate::x86_64::avx2_columns_to_rows(&t, dst),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => crate::x86_64::avx512_columns_to_rows(&t, dst),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}

/// A validated [`columns_to_rows`] call.
pub(crate) struct Transpose<'a> {
    pub(crate) src: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) n: usize,
    pub(crate) count: usize,
    pub(crate) stride: usize,
}

/// Side of the squares [`transpose_blocks`] moves at once.
const SQ: usize = 16;

/// One 16 x 16 square of [`transpose_blocks`]: rows `src + r * n` to columns
/// `dst + c * stride`.
///
/// # Safety
/// `src + r * n` readable and `dst + c * stride` writable for 16 f32 each, `r, c < 16`, and
/// the instruction set of the implementation present.
pub(crate) type Square = unsafe fn(*const f32, usize, *mut f32, usize);

/// The portable [`Square`]: element by element.
///
/// # Safety
/// As [`Square`].
pub(crate) unsafe fn square_scalar(src: *const f32, n: usize, dst: *mut f32, stride: usize) {
    for r in 0..SQ {
        for c in 0..SQ {
            // SAFETY: r, c < 16 (contract).
            unsafe { *dst.add(c * stride + r) = *src.add(r * n + c) };
        }
    }
}

/// [`columns_to_rows`]: full 16 x 16 squares with `square`, the edges element by element.
///
/// # Safety
/// `t` validated by [`columns_to_rows`] (which also checked `dst`'s length); `square`'s
/// instruction set present.
#[inline(always)]
pub(crate) unsafe fn transpose_blocks(t: &Transpose<'_>, dst: &mut [f32], square: Square) {
    let (rows, n, count, stride) = (t.rows, t.n, t.count, t.stride);
    for r0 in (0..rows).step_by(SQ) {
        let h = (rows - r0).min(SQ);
        for c0 in (0..count).step_by(SQ) {
            let w = (count - c0).min(SQ);
            if h == SQ && w == SQ {
                // SAFETY: source rows r0..r0+16 hold columns c0..c0+16 (c0 + 16 <= count <=
                // n); destination rows c0..c0+16 < count hold r0 + 16 <= rows <= stride
                // values each, inside dst (length checked against (count-1)*stride + rows).
                unsafe {
                    square(
                        t.src.as_ptr().add(r0 * n + c0),
                        n,
                        dst.as_mut_ptr().add(c0 * stride + r0),
                        stride,
                    );
                }
            } else {
                for c in c0..c0 + w {
                    for r in r0..r0 + h {
                        dst[c * stride + r] = t.src[r * n + c];
                    }
                }
            }
        }
    }
}

/// Rows `r0..r0 + n_rows` of `w` as f32, row-major (`dst`: `[n_rows, cols]`): f32 copied
/// (strided: without the padding),
/// f16 and bf16 widened (exact), int8 (row-major or blocked) as `scales[o] * q[o, k]` rounded
/// once. Lets [`gemm`], which takes f32 weights, run 16-bit and int8 matrices a block of rows
/// at a time from a small buffer.
///
/// # Errors
/// [`KernelError::Length`] if `w` is inconsistent or `dst` is not `n_rows * cols` long;
/// [`KernelError::TooShort`] if `r0 + n_rows > rows`.
pub fn widen_rows(
    w: &MatRef<'_>,
    r0: usize,
    n_rows: usize,
    dst: &mut [f32],
) -> Result<(), KernelError> {
    let end = w.row_range_end(r0, n_rows)?;
    let cols = w.cols;
    check_len("dst", n_rows * cols, dst.len())?;
    let rows = r0 * cols..end * cols;
    match w.data {
        WeightData::F32(d) => dst.copy_from_slice(&d[rows]),
        WeightData::F32Strided { values, lda } => {
            for (r, o) in (r0..end).zip(dst.chunks_exact_mut(cols.max(1))) {
                o.copy_from_slice(&values[r * lda..r * lda + cols]);
            }
        }
        WeightData::F16(d) => {
            for (o, &v) in dst.iter_mut().zip(&d[rows]) {
                *o = v.to_f32();
            }
        }
        WeightData::Bf16(d) => {
            for (o, &v) in dst.iter_mut().zip(&d[rows]) {
                *o = v.to_f32();
            }
        }
        WeightData::I8 { values, scales } => {
            for ((o, q), &s) in dst
                .chunks_exact_mut(cols.max(1))
                .zip(values[rows].chunks_exact(cols.max(1)))
                .zip(&scales[r0..end])
            {
                for (ov, &qv) in o.iter_mut().zip(q) {
                    *ov = s * f32::from(qv);
                }
            }
        }
        WeightData::I8Blocked { values, scales } => {
            use crate::qblock::{I8_BLOCK_ROWS, I8_GROUP_COLS};
            // Tile (row block rb, column group g) holds W[16 rb + r, 4 g + c] at byte 4 r + c:
            // walk the tiles of each row block in storage order, 4 bytes to each row.
            let groups = cols.div_ceil(I8_GROUP_COLS);
            let tile = I8_BLOCK_ROWS * I8_GROUP_COLS;
            let full = cols / I8_GROUP_COLS;
            for rb in r0 / I8_BLOCK_ROWS..end.div_ceil(I8_BLOCK_ROWS) {
                let first = (rb * I8_BLOCK_ROWS).max(r0);
                let last = ((rb + 1) * I8_BLOCK_ROWS).min(end);
                let tiles = &values[rb * groups * tile..(rb + 1) * groups * tile];
                for r in first..last {
                    let rr = r % I8_BLOCK_ROWS;
                    let s = scales[r];
                    let o = &mut dst[(r - r0) * cols..(r - r0 + 1) * cols];
                    let (o_full, o_tail) = o.split_at_mut(full * I8_GROUP_COLS);
                    for (g, oc) in o_full.chunks_exact_mut(I8_GROUP_COLS).enumerate() {
                        let q: &[i8; 4] = tiles[g * tile + rr * I8_GROUP_COLS..][..4]
                            .try_into()
                            .expect("4 bytes");
                        for (ov, &qv) in oc.iter_mut().zip(q) {
                            *ov = s * f32::from(qv);
                        }
                    }
                    if !o_tail.is_empty() {
                        let q = &tiles[full * tile + rr * I8_GROUP_COLS..][..o_tail.len()];
                        for (ov, &qv) in o_tail.iter_mut().zip(q) {
                            *ov = s * f32::from(qv);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
