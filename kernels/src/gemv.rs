//! Dense layers of the generate step: `y = act(W x + b)`, W in f32, f16, bf16 or int8.

use half::{bf16, f16};

use crate::{active_path, reference, Activation, KernelError, Path};

/// The stored elements of a weight matrix. Lengths are element counts.
#[derive(Clone, Copy, Debug)]
pub enum WeightData<'a> {
    /// `rows * cols` f32.
    F32(&'a [f32]),
    /// f32 rows `lda` elements apart (`lda >= cols`, BLAS's leading dimension): `W[o, i]` is
    /// `values[o * lda + i]`, and columns `cols..lda` of each row are padding that no kernel
    /// reads. With `lda` a multiple of 16 and `values` 64-byte aligned (what the format's
    /// `f32-padded` tensors give), every row starts on a cache line, so the GEMV's loads
    /// split lines only at a row's last, overlapping vector (a 921x100 GEMV: 1.3x faster than
    /// rows of 400 bytes back to back). Every kernel computes the bits of [`WeightData::F32`]
    /// with the same elements: the padding changes where rows start, not the arithmetic.
    F32Strided {
        /// `rows * lda` f32.
        values: &'a [f32],
        /// Elements from one row's start to the next.
        lda: usize,
    },
    /// `rows * cols` IEEE half; widened to f32 in registers.
    F16(&'a [f16]),
    /// `rows * cols` bfloat16; widened to f32 in registers.
    Bf16(&'a [bf16]),
    /// Symmetric per-row int8: `w[o, i] = scales[o] * values[o * cols + i]`, values in
    /// [-127, 127] (`-128` is accepted and means -128 * scale).
    ///
    /// Numerics (W8A16): for `cols <= `[`crate::QMAX_COLS`] the GEMV quantizes each input
    /// vector to i16 (`x_scale = max|x| / Q`, `Q = `[`crate::q_range`]`(cols)`, 32767 up to
    /// 512 columns), sums `values * x_q` exactly in i32 and returns
    /// `f32(sum) * (scales[o] * x_scale) + bias[o]`: bit-identical on every path. The input
    /// rounding adds at most `sum_i |w[o, i]| * x_scale / 2` to an output, about 250 times
    /// less than the weight rounding. A NaN or infinity in `x` makes that vector's outputs
    /// NaN; an all-zero `x` gives the bias. Wider matrices convert the weights to f32 in
    /// registers and keep `x` in f32.
    I8 {
        /// `rows * cols` quantized values.
        values: &'a [i8],
        /// `rows` f32 scales, one per output row.
        scales: &'a [f32],
    },
    /// int8 as [`WeightData::I8`] (same values, scales and W8A16 numerics: the same output
    /// bits), stored in the blocked layout of [`crate::i8_blocked_index`]: 16 rows x 4 columns
    /// per 64 bytes, zero-padded to [`crate::i8_blocked_len`]. On AVX512-VNNI a lane of
    /// `vpdpbusd` is a whole row, so the GEMV needs no per-row reduction; built by
    /// [`crate::pack_i8_blocked`]. Only for `cols <= `[`crate::QMAX_COLS`].
    I8Blocked {
        /// [`crate::i8_blocked_len`]`(rows, cols)` quantized values, blocked.
        values: &'a [i8],
        /// `rows` f32 scales, one per output row.
        scales: &'a [f32],
    },
}

impl WeightData<'_> {
    /// The element type's name: `"f32"`, `"f16"`, `"bf16"`, `"int8"` or `"int8 blocked"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            WeightData::F32(_) => "f32",
            WeightData::F32Strided { .. } => "f32 strided",
            WeightData::F16(_) => "f16",
            WeightData::Bf16(_) => "bf16",
            WeightData::I8 { .. } => "int8",
            WeightData::I8Blocked { .. } => "int8 blocked",
        }
    }
}

/// A borrowed row-major matrix `[rows, cols]` = `[out, in]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// Output count (rows).
    pub rows: usize,
    /// Input count (columns).
    pub cols: usize,
    /// The elements, row-major.
    pub data: WeightData<'a>,
}

impl<'a> MatRef<'a> {
    /// Checks that the data lengths match `rows` and `cols`.
    ///
    /// # Errors
    /// [`KernelError::Length`] naming `"weights"` / `"scales"`, [`KernelError::Overflow`],
    /// [`KernelError::BlockedTooWide`], or [`KernelError::Stride`] (`lda < cols`).
    pub fn validate(&self) -> Result<(), KernelError> {
        let n = self
            .rows
            .checked_mul(self.cols)
            .ok_or(KernelError::Overflow)?;
        let (expected, found) = match self.data {
            WeightData::F32(d) => (n, d.len()),
            WeightData::F32Strided { values, lda } => {
                if lda < self.cols {
                    return Err(KernelError::Stride {
                        lda,
                        cols: self.cols,
                    });
                }
                let len = self.rows.checked_mul(lda);
                (len.ok_or(KernelError::Overflow)?, values.len())
            }
            WeightData::F16(d) => (n, d.len()),
            WeightData::Bf16(d) => (n, d.len()),
            WeightData::I8 { values, scales } => {
                check_len("scales", self.rows, scales.len())?;
                (n, values.len())
            }
            WeightData::I8Blocked { values, scales } => {
                if self.cols > crate::QMAX_COLS {
                    return Err(KernelError::BlockedTooWide {
                        cols: self.cols,
                        max: crate::QMAX_COLS,
                    });
                }
                check_len("scales", self.rows, scales.len())?;
                let len = crate::i8_blocked_len(self.rows, self.cols);
                (len.ok_or(KernelError::Overflow)?, values.len())
            }
        };
        check_len("weights", expected, found)
    }

    /// The int8 matrices that run W8A16 (integer sums, see [`WeightData::I8`]): row-major with
    /// `cols <= QMAX_COLS`, and every blocked one (validated: `cols <= QMAX_COLS`).
    pub(crate) fn int8_w8a16(&self) -> Option<crate::qgemv::QMat<'_>> {
        use crate::qgemv::Int8Layout;
        let (layout, values, scales) = match self.data {
            WeightData::I8 { values, scales } if self.cols <= crate::QMAX_COLS => {
                (Int8Layout::Rows, values, scales)
            }
            WeightData::I8Blocked { values, scales } => (Int8Layout::Blocked, values, scales),
            _ => return None,
        };
        Some(crate::qgemv::QMat {
            layout,
            values,
            scales,
            rows: self.rows,
            cols: self.cols,
        })
    }

    /// Rows `r0..r0 + n` as a matrix of their own (the same element type and layout), for
    /// splitting one GEMV's rows between threads: every kernel computes a row from its own
    /// weights, `x` and bias only, so [`gemv`] on the block gives the bits of those rows of
    /// [`gemv`] on the whole matrix. A blocked int8 matrix splits only at its 16-row blocks
    /// (`r0` a multiple of [`crate::I8_BLOCK_ROWS`]; `n` anything up to the end).
    ///
    /// # Errors
    /// As [`MatRef::validate`]; [`KernelError::TooShort`] (`"weight rows"`) if `r0 + n`
    /// exceeds `rows`; [`KernelError::RowBlock`] for a blocked int8 `r0` inside a block.
    pub fn row_block(&self, r0: usize, n: usize) -> Result<MatRef<'a>, KernelError> {
        let end = self.row_range_end(r0, n)?;
        let cols = self.cols;
        // Validated above: every range below is inside its slice.
        let data = match self.data {
            WeightData::F32(d) => WeightData::F32(&d[r0 * cols..end * cols]),
            WeightData::F32Strided { values, lda } => WeightData::F32Strided {
                values: &values[r0 * lda..end * lda],
                lda,
            },
            WeightData::F16(d) => WeightData::F16(&d[r0 * cols..end * cols]),
            WeightData::Bf16(d) => WeightData::Bf16(&d[r0 * cols..end * cols]),
            WeightData::I8 { values, scales } => WeightData::I8 {
                values: &values[r0 * cols..end * cols],
                scales: &scales[r0..end],
            },
            WeightData::I8Blocked { values, scales } => {
                if !r0.is_multiple_of(crate::I8_BLOCK_ROWS) {
                    return Err(KernelError::RowBlock {
                        r0,
                        multiple: crate::I8_BLOCK_ROWS,
                    });
                }
                // Blocks of 16 rows are contiguous (`i8_blocked_index`), the last zero-padded.
                let start = crate::i8_blocked_index(r0, 0, cols);
                let len = crate::i8_blocked_len(n, cols).ok_or(KernelError::Overflow)?;
                WeightData::I8Blocked {
                    values: &values[start..start + len],
                    scales: &scales[r0..end],
                }
            }
        };
        Ok(MatRef {
            rows: n,
            cols,
            data,
        })
    }

    /// Validates the matrix and rows `r0..r0 + n` of it; returns `r0 + n`.
    ///
    /// # Errors
    /// As [`MatRef::validate`]; [`KernelError::TooShort`] (`"weight rows"`) if `r0 + n`
    /// exceeds `rows`, [`KernelError::Overflow`] if it overflows.
    pub(crate) fn row_range_end(&self, r0: usize, n: usize) -> Result<usize, KernelError> {
        self.validate()?;
        let end = r0.checked_add(n).ok_or(KernelError::Overflow)?;
        if end > self.rows {
            return Err(KernelError::TooShort {
                what: "weight rows",
                needed: end,
                found: self.rows,
            });
        }
        Ok(end)
    }

    /// Bytes of weight data one pass over the matrix reads (values plus int8 scales; a strided
    /// f32 matrix counts its padding, which shares the rows' cache lines).
    pub fn bytes(&self) -> usize {
        let n = self.rows * self.cols;
        match self.data {
            WeightData::F32(_) => 4 * n,
            WeightData::F32Strided { lda, .. } => 4 * self.rows * lda,
            WeightData::F16(_) | WeightData::Bf16(_) => 2 * n,
            WeightData::I8 { .. } => n + 4 * self.rows,
            WeightData::I8Blocked { values, .. } => values.len() + 4 * self.rows,
        }
    }
}

pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), KernelError> {
    if expected == found {
        Ok(())
    } else {
        Err(KernelError::Length {
            what,
            expected,
            found,
        })
    }
}

fn validate_gemv(
    w: &MatRef<'_>,
    x_len: usize,
    batch: usize,
    bias: Option<&[f32]>,
    y_len: usize,
) -> Result<(), KernelError> {
    w.validate()?;
    let nx = batch.checked_mul(w.cols).ok_or(KernelError::Overflow)?;
    let ny = batch.checked_mul(w.rows).ok_or(KernelError::Overflow)?;
    check_len("x", nx, x_len)?;
    if let Some(b) = bias {
        check_len("bias", w.rows, b.len())?;
    }
    check_len("y", ny, y_len)
}

/// `y = act(W x + bias)` for one vector, on the [`active_path`].
///
/// `x`: `[cols]`, `bias`: `[rows]` (none = zeros), `y`: `[rows]`. For f32/f16/bf16 the
/// summation order differs between paths (SIMD partial sums), so paths agree to rounding, not
/// bit for bit. For int8 with `cols <= `[`crate::QMAX_COLS`] (W8A16, see [`WeightData::I8`]),
/// `y[o] = act(f32(sum_i values[o, i] * x_q[i]) * (scales[o] * x_scale) + bias[o])` with the
/// integer sum exact, so the pre-activation is bit-identical on every path.
///
/// # Errors
/// [`KernelError::Length`] if a slice does not match `rows`/`cols`.
pub fn gemv(
    w: &MatRef<'_>,
    x: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    gemv_batch_on(active_path(), w, x, 1, bias, act, y)
}

/// `Y[b] = act(W X[b] + bias)` for `batch` vectors at once, on the [`active_path`].
///
/// `x`: `[batch, cols]` row-major, `y`: `[batch, rows]` row-major. On the SIMD paths, blocks of
/// 4 vectors share one pass over W (each weight vector loaded once feeds 4 FMAs or integer
/// dot products), the last `batch % 4` go one at a time; the scalar reference goes one at a
/// time. Each vector keeps its own order of operations, so every vector's result is
/// bit-identical to [`gemv`] on it with the same path.
///
/// # Errors
/// [`KernelError::Length`] if a slice does not match `batch`/`rows`/`cols`.
pub fn gemv_batch(
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    gemv_batch_on(active_path(), w, x, batch, bias, act, y)
}

/// [`gemv_batch`] on an explicit path (tests and benchmarks compare paths with this).
///
/// # Errors
/// As [`gemv_batch`], plus [`KernelError::UnsupportedPath`] if the CPU cannot run `path`.
pub fn gemv_batch_on(
    path: Path,
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    validate_gemv(w, x.len(), batch, bias, y.len())?;
    if !path.is_supported() {
        return Err(KernelError::UnsupportedPath(path));
    }
    if w.rows == 0 || batch == 0 {
        return Ok(());
    }
    if let Some(m) = w.int8_w8a16() {
        match path {
            Path::Scalar | Path::Portable => {
                crate::qgemv::gemv_batch_generic(path, m, x, batch, bias, act, y)
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => crate::x86_64::avx2_qgemv_batch(m, x, batch, bias, act, y),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => crate::x86_64::avx512_qgemv_batch(m, x, batch, bias, act, y),
            #[cfg(not(target_arch = "x86_64"))]
            Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
        }
        return Ok(());
    }
    match path {
        Path::Scalar => reference::gemv_batch_unchecked(w, x, batch, bias, act, y),
        Path::Portable => crate::portable::gemv_batch(w, x, batch, bias, act, y),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => crate::x86_64::avx2_gemv_batch(w, x, batch, bias, act, y),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => crate::x86_64::avx512_gemv_batch(w, x, batch, bias, act, y),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}
