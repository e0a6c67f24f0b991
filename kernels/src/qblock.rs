//! int8 GEMV on the blocked layout ([`WeightData::I8Blocked`](crate::WeightData)): the same
//! W8A16 numerics as row-major int8 (`qgemv.rs`), with the weights stored so that one 64-byte
//! load holds 16 rows x 4 columns.
//!
//! **Layout ("i8 blocked 16x4").** For a matrix `[rows, cols]`, rows are cut into blocks of
//! [`I8_BLOCK_ROWS`] = 16 and columns into groups of [`I8_GROUP_COLS`] = 4; block `rb`, group
//! `g` is 64 bytes at `(rb * groups + g) * 64` (`groups = ceil(cols / 4)`), and inside it
//! `W[16 rb + r, 4 g + c]` is byte `4 r + c`. Rows past `rows` and columns past `cols` are
//! zero. Length: [`i8_blocked_len`] `= ceil(rows / 16) * 16 * ceil(cols / 4) * 4`;
//! [`i8_blocked_index`] is the map, [`pack_i8_blocked`] applies it.
//!
//! **Why.** Row-major rows put one row's columns across the lanes of a register, so every
//! block of rows ends in a cross-lane reduction (on 100-column rows as costly as the dot
//! products themselves). Here a lane is a row: `vpdpbusd` adds 4 columns of 16 rows per
//! instruction into 16 i32 lanes that are already the row sums, with the 4 input bytes
//! broadcast. No reduction, no row tail, one aligned load per 16 x 4 weights.
//!
//! **Numerics.** Identical to row-major int8: `x` is quantized by the same [`quantize`] (same
//! `Q = q_range(cols)`, same `x_q`), the integer sums are exact, and the epilogue is the same
//! f32 expression, so a blocked matrix gives the same bits as its row-major twin on every path.
//! Blocked matrices must have `cols <= QMAX_COLS` (the W8A16 range).

use crate::qgemv::{add_bias, epilogue, quantize, QVec};

/// Rows per block of the blocked int8 layout (one i32 lane each in a 512-bit register).
pub const I8_BLOCK_ROWS: usize = 16;
/// Columns per group of the blocked int8 layout (the 4 bytes `vpdpbusd` sums per lane).
pub const I8_GROUP_COLS: usize = 4;
/// Bytes of one block x group tile.
const TILE: usize = I8_BLOCK_ROWS * I8_GROUP_COLS;
/// Row blocks summed together (8-12 independent accumulators: enough to cover the
/// `vpdpbusd` latency on two ports).
pub(crate) const BLOCKS_AT_ONCE: usize = 4;

/// The integer kernel that blocked int8 GEMVs run on `path`, for reports (`hdon bench`):
/// `"scalar"`, `"portable"`, `"avx2"` (`vpmovsxbw` + `vpmaddwd` on 4 x 4 quarters of a tile),
/// or on the AVX-512 path `"avx512vnni-blocked"` (AVX512-VNNI + VBMI, `QBlocks` on `vpdpbusd`),
/// `"avx2"` without them (the AVX2 kernel), and `"avx512-portable"` on CPUs without AVX2.
pub fn int8_blocked_kernel(path: crate::Path) -> &'static str {
    match path {
        crate::Path::Scalar => "scalar",
        crate::Path::Portable => "portable",
        #[cfg(target_arch = "x86_64")]
        crate::Path::Avx2 => "avx2",
        #[cfg(target_arch = "x86_64")]
        crate::Path::Avx512 => crate::x86_64::avx512_blocked_kernel(),
        #[cfg(not(target_arch = "x86_64"))]
        crate::Path::Avx2 | crate::Path::Avx512 => "unsupported",
    }
}

/// Length in bytes of a `[rows, cols]` matrix in the blocked int8 layout (`None` on overflow).
pub const fn i8_blocked_len(rows: usize, cols: usize) -> Option<usize> {
    let r = match rows.checked_next_multiple_of(I8_BLOCK_ROWS) {
        Some(r) => r,
        None => return None,
    };
    let c = match cols.checked_next_multiple_of(I8_GROUP_COLS) {
        Some(c) => c,
        None => return None,
    };
    r.checked_mul(c)
}

/// Position of `W[r, c]` of a matrix with `cols` columns in the blocked int8 layout.
#[inline(always)]
pub const fn i8_blocked_index(r: usize, c: usize, cols: usize) -> usize {
    let groups = cols.div_ceil(I8_GROUP_COLS);
    ((r / I8_BLOCK_ROWS) * groups + c / I8_GROUP_COLS) * TILE
        + (r % I8_BLOCK_ROWS) * I8_GROUP_COLS
        + c % I8_GROUP_COLS
}

/// Writes the row-major int8 matrix `values` (`[rows, cols]`) into `out` in the blocked layout
/// (padding zeroed). The export tool and the tests share this one definition.
///
/// # Errors
/// [`KernelError::Length`](crate::KernelError) if `values` is not `rows * cols` long or `out`
/// not [`i8_blocked_len`]; [`KernelError::Overflow`](crate::KernelError) if the sizes overflow.
pub fn pack_i8_blocked(
    values: &[i8],
    rows: usize,
    cols: usize,
    out: &mut [i8],
) -> Result<(), crate::KernelError> {
    let n = rows.checked_mul(cols).ok_or(crate::KernelError::Overflow)?;
    crate::gemv::check_len("values", n, values.len())?;
    let len = i8_blocked_len(rows, cols).ok_or(crate::KernelError::Overflow)?;
    crate::gemv::check_len("out", len, out.len())?;
    out.fill(0);
    for (r, row) in values.chunks_exact(cols.max(1)).enumerate().take(rows) {
        for (c, &v) in row.iter().enumerate() {
            out[i8_blocked_index(r, c, cols)] = v;
        }
    }
    Ok(())
}

/// The integer row sums of up to [`BLOCKS_AT_ONCE`] row blocks for one quantized vector, one
/// implementation per path (a zero-sized token); all exact, so they agree bit for bit.
pub(crate) trait QBlocks: Copy {
    /// Called once per quantized vector before its [`QBlocks::sums`] calls (the AVX-512
    /// kernel splits `x_q` into byte planes); nothing by default.
    #[inline(always)]
    fn prepare(self, _qv: &mut QVec, _cols: usize) {}

    /// `sums[16 k + r]` = row `16 (rb0 + k) + r` of the blocked `values` (`groups` column
    /// groups) dotted with `qv.q`, for `k < nb`.
    ///
    /// # Safety
    /// The CPU supports the implementation's instruction set; blocks `rb0..rb0 + nb` exist in
    /// `values`; `1 <= nb <= BLOCKS_AT_ONCE`; `4 * groups <= QBUF`; `prepare` ran on `qv`.
    unsafe fn sums(
        self,
        values: &[i8],
        groups: usize,
        rb0: usize,
        nb: usize,
        qv: &QVec,
        sums: &mut [i32; BLOCKS_AT_ONCE * I8_BLOCK_ROWS],
    );
}

/// The scalar path's row sums: each row gathered through [`i8_blocked_index`] and summed in
/// i64 in column order (the twin every other implementation is tested against).
#[derive(Clone, Copy)]
pub(crate) struct ScalarBlocks;

impl QBlocks for ScalarBlocks {
    #[inline(always)]
    unsafe fn sums(
        self,
        values: &[i8],
        groups: usize,
        rb0: usize,
        nb: usize,
        qv: &QVec,
        sums: &mut [i32; BLOCKS_AT_ONCE * I8_BLOCK_ROWS],
    ) {
        let cols = groups * I8_GROUP_COLS;
        for (k, s) in sums.iter_mut().enumerate().take(nb * I8_BLOCK_ROWS) {
            let r = rb0 * I8_BLOCK_ROWS + k;
            let t: i64 = (0..cols)
                .map(|c| i64::from(values[i8_blocked_index(r, c, cols)]) * i64::from(qv.q[c]))
                .sum();
            *s = t as i32;
        }
    }
}

/// The portable row sums: 16 i32 lanes per block, 4 columns per step (the compiler vectorizes
/// the lanes for the target): the blocked layout's plain fallback, and the twin of the x86
/// kernels (`x86_64/qdot.rs`: `ZmmBlocks` on AVX512-VNNI, `YmmBlocks` on AVX2).
#[derive(Clone, Copy)]
pub(crate) struct PortableBlocks;

impl QBlocks for PortableBlocks {
    #[inline(always)]
    unsafe fn sums(
        self,
        values: &[i8],
        groups: usize,
        rb0: usize,
        nb: usize,
        qv: &QVec,
        sums: &mut [i32; BLOCKS_AT_ONCE * I8_BLOCK_ROWS],
    ) {
        for k in 0..nb {
            let block = &values[(rb0 + k) * groups * TILE..(rb0 + k + 1) * groups * TILE];
            let mut acc = [0i32; I8_BLOCK_ROWS];
            for (tile, xg) in block
                .chunks_exact(TILE)
                .zip(qv.q.chunks_exact(I8_GROUP_COLS))
            {
                for (a, w) in acc.iter_mut().zip(tile.chunks_exact(I8_GROUP_COLS)) {
                    for c in 0..I8_GROUP_COLS {
                        *a += i32::from(w[c]) * i32::from(xg[c]);
                    }
                }
            }
            sums[k * I8_BLOCK_ROWS..(k + 1) * I8_BLOCK_ROWS].copy_from_slice(&acc);
        }
    }
}

/// `y = W x + bias` (no activation) for `batch` vectors of a blocked int8 matrix
/// (`cols <= QMAX_COLS`), one vector at a time, [`BLOCKS_AT_ONCE`] row blocks per step.
///
/// # Safety
/// As [`QBlocks::sums`] for `k`; lengths validated by `gemv::validate_gemv`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn gemv_batch_blocked_with<K: QBlocks>(
    k: K,
    values: &[i8],
    scales: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let groups = cols.div_ceil(I8_GROUP_COLS);
    let blocks = rows.div_ceil(I8_BLOCK_ROWS);
    let mut qv = QVec::new();
    for b in 0..batch {
        quantize(&x[b * cols..(b + 1) * cols], &mut qv);
        k.prepare(&mut qv, cols);
        let mut rb = 0;
        while rb < blocks {
            let nb = (blocks - rb).min(BLOCKS_AT_ONCE);
            let mut sums = [0i32; BLOCKS_AT_ONCE * I8_BLOCK_ROWS];
            // The contract of every `QBlocks::sums`, checked here once for all of them.
            debug_assert!((1..=BLOCKS_AT_ONCE).contains(&nb));
            debug_assert!(values.len() >= (rb + nb) * groups * I8_BLOCK_ROWS * I8_GROUP_COLS);
            // SAFETY: forwarded contract; blocks rb..rb + nb exist (validated length).
            unsafe { k.sums(values, groups, rb, nb, &qv, &mut sums) };
            let r0 = rb * I8_BLOCK_ROWS;
            let n = (rows - r0).min(nb * I8_BLOCK_ROWS);
            let yb = &mut y[b * rows + r0..b * rows + r0 + n];
            epilogue(&sums[..n], &scales[r0..r0 + n], qv.scale, yb);
            rb += nb;
        }
    }
    add_bias(bias, rows, batch, y);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;

    #[test]
    fn index_is_a_bijection_onto_the_unpadded_positions() {
        for (rows, cols) in [(1usize, 1usize), (16, 4), (17, 5), (33, 100), (5, 64)] {
            let len = i8_blocked_len(rows, cols).unwrap();
            assert_eq!(len % TILE, 0);
            let mut seen = vec![false; len];
            for r in 0..rows {
                for c in 0..cols {
                    let i = i8_blocked_index(r, c, cols);
                    assert!(!seen[i], "{rows}x{cols}: ({r}, {c}) collides");
                    seen[i] = true;
                }
            }
            assert_eq!(seen.iter().filter(|&&s| s).count(), rows * cols);
        }
        // The documented position: block 1, group 2, row 3, column 1 of a 10-column matrix.
        assert_eq!(i8_blocked_index(19, 9, 10), (3 + 2) * 64 + 3 * 4 + 1);
    }

    #[test]
    fn pack_places_values_and_zeroes_padding() {
        let (rows, cols) = (18usize, 7usize);
        let values: std::vec::Vec<i8> = (0..rows * cols).map(|i| (i % 251) as i8).collect();
        let mut out = vec![99i8; i8_blocked_len(rows, cols).unwrap()];
        pack_i8_blocked(&values, rows, cols, &mut out).unwrap();
        let mut expect_nonpad = 0;
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(out[i8_blocked_index(r, c, cols)], values[r * cols + c]);
                expect_nonpad += usize::from(values[r * cols + c] != 0);
            }
        }
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), expect_nonpad);
        let err = pack_i8_blocked(&values, rows, cols, &mut out[1..]).unwrap_err();
        assert!(matches!(
            err,
            crate::KernelError::Length { what: "out", .. }
        ));
    }
}
