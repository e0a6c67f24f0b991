//! Weight dtype conversion for generate-side dense weights (hyper, branch, scale, shift, pre):
//! f16, bf16 (round to nearest even) and int8 symmetric per output row
//! (`scale[o] = max_i |W[o, i]| / 127`, `q = round(W / scale)` in [-127, 127],
//! `W ~= scale[o] * q`), row-major or in the blocked layout (`int8-blocked`: the same values
//! as `int8`, stored 16 rows x 4 columns per 64 bytes for the AVX512-VNNI kernel), each with
//! the error it introduces; or f32 with rows padded to 64 bytes (`f32-padded`, exact).

use hdon_format::TensorBuf;

/// Storage dtype requested on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WeightDtype {
    /// 32-bit float (no conversion).
    F32,
    /// f32 as `f32` (same values, same results), every row padded to a multiple of 16 floats
    /// so that rows start on 64-byte boundaries: a faster f32 GEMV for rows that are not a
    /// multiple of 16 long (12 % more bytes for 100 columns).
    F32Padded,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
    /// int8, one f32 scale per output row.
    Int8,
    /// int8 as `int8` (same values, same results), stored in the blocked layout (16 rows x 4
    /// columns per 64 bytes): the fastest int8 GEMV on x86-64 CPUs with AVX512-VNNI or AVX2.
    /// Matrices wider than 1,024 columns stay row-major.
    Int8Blocked,
}

impl WeightDtype {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            WeightDtype::F32 => "f32",
            WeightDtype::F32Padded => "f32-padded",
            WeightDtype::F16 => "f16",
            WeightDtype::Bf16 => "bf16",
            WeightDtype::Int8 => "int8",
            WeightDtype::Int8Blocked => "int8-blocked",
        }
    }

    /// True when the stored values differ from the f32 ones (f16, bf16, int8): the export
    /// reports their error, and a folded hypernetwork is unfolded first.
    pub fn is_lossy(self) -> bool {
        !matches!(self, WeightDtype::F32 | WeightDtype::F32Padded)
    }
}

/// Error of one converted tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QuantError {
    /// Stored tensor name.
    pub tensor: String,
    /// Element count.
    pub elements: usize,
    /// max |w - w_q|.
    pub max_abs: f32,
    /// sqrt(sum (w - w_q)^2 / sum w^2) (0 for an all-zero tensor).
    pub rel_rms: f32,
}

/// Converts a row-major `[rows, cols]` f32 matrix to `dtype`; returns the buffer and the
/// values it stands for (dequantized), so the caller can measure or reuse them.
pub fn convert(w: &[f32], rows: usize, cols: usize, dtype: WeightDtype) -> (TensorBuf, Vec<f32>) {
    debug_assert_eq!(w.len(), rows * cols);
    match dtype {
        WeightDtype::F32 => (TensorBuf::F32(w.to_vec()), w.to_vec()),
        WeightDtype::F32Padded => (
            TensorBuf::F32Padded(hdon_format::pad_rows_f32(w, rows, cols)),
            w.to_vec(),
        ),
        WeightDtype::F16 => {
            let v: Vec<half::f16> = w.iter().map(|&x| half::f16::from_f32(x)).collect();
            let back = v.iter().map(|x| x.to_f32()).collect();
            (TensorBuf::F16(v), back)
        }
        WeightDtype::Bf16 => {
            let v: Vec<half::bf16> = w.iter().map(|&x| half::bf16::from_f32(x)).collect();
            let back = v.iter().map(|x| x.to_f32()).collect();
            (TensorBuf::Bf16(v), back)
        }
        WeightDtype::Int8Blocked => {
            let (buf, back) = convert(w, rows, cols, WeightDtype::Int8);
            match buf {
                TensorBuf::I8 { values, scales } if cols <= hdon_kernels::QMAX_COLS => {
                    let len = hdon_kernels::i8_blocked_len(rows, cols)
                        .expect("a matrix that fits in memory has a blocked length");
                    let mut blocked = vec![0i8; len];
                    hdon_kernels::pack_i8_blocked(&values, rows, cols, &mut blocked)
                        .expect("lengths from convert and i8_blocked_len");
                    (
                        TensorBuf::I8Blocked {
                            values: blocked,
                            scales,
                        },
                        back,
                    )
                }
                other => (other, back),
            }
        }
        WeightDtype::Int8 => {
            let mut values = Vec::with_capacity(w.len());
            let mut scales = Vec::with_capacity(rows);
            let mut back = Vec::with_capacity(w.len());
            for row in w.chunks(cols.max(1)).take(rows) {
                let amax = row.iter().fold(0f32, |m, &x| m.max(x.abs()));
                let scale = amax / 127.0;
                scales.push(scale);
                for &x in row {
                    let q = if scale > 0.0 {
                        (x / scale).round().clamp(-127.0, 127.0) as i8
                    } else {
                        0
                    };
                    values.push(q);
                    back.push(scale * q as f32);
                }
            }
            (TensorBuf::I8 { values, scales }, back)
        }
    }
}

/// Measures the error between `w` and its converted values `back`.
pub fn measure(tensor: &str, w: &[f32], back: &[f32]) -> QuantError {
    let mut max_abs = 0f32;
    let mut num = 0f64;
    let mut den = 0f64;
    for (&a, &b) in w.iter().zip(back) {
        let d = (a - b).abs();
        max_abs = max_abs.max(d);
        num += (d as f64) * (d as f64);
        den += (a as f64) * (a as f64);
    }
    let rel_rms = if den > 0.0 {
        (num / den).sqrt() as f32
    } else {
        0.0
    };
    QuantError {
        tensor: tensor.to_string(),
        elements: w.len(),
        max_abs,
        rel_rms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_per_row_scales_and_bounds() {
        let w = [0.5f32, -1.0, 0.25, 0.0, 0.0, 0.0, 2.0, 1.0, -0.01];
        let (buf, back) = convert(&w, 3, 3, WeightDtype::Int8);
        let TensorBuf::I8 { values, scales } = buf else {
            panic!("not int8")
        };
        assert_eq!(scales, vec![1.0 / 127.0, 0.0, 2.0 / 127.0]);
        assert_eq!(&values[..3], &[64, -127, 32]);
        assert_eq!(&values[3..6], &[0, 0, 0]);
        assert_eq!(values[6], 127);
        for (a, b) in w.iter().zip(&back) {
            assert!((a - b).abs() <= 2.0 / 127.0 / 2.0 + 1e-7, "{a} vs {b}");
        }
        let e = measure("x", &w, &back);
        assert!(e.max_abs > 0.0 && e.rel_rms < 0.01, "{e:?}");
    }

    #[test]
    fn half_types_round_trip_representable_values() {
        let w = [1.0f32, -0.5, 0.125, 3.0];
        for d in [WeightDtype::F16, WeightDtype::Bf16, WeightDtype::F32] {
            let (_, back) = convert(&w, 2, 2, d);
            assert_eq!(back, w);
            assert_eq!(measure("x", &w, &back).rel_rms, 0.0);
        }
        let (_, back) = convert(&[0.1], 1, 1, WeightDtype::Bf16);
        assert!((back[0] - 0.1).abs() < 1e-3 && back[0] != 0.1);
    }
}
