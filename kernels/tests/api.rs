//! The public API's contracts: shapes, errors, hand-computed values, path selection.

use half::{bf16, f16};
use hdon_kernels::*;

#[test]
fn gemv_hand_example_every_dtype() {
    // W = [[1, 2, 3], [-1, 0.5, 4]], x = [1, -2, 0.5], b = [0.25, -1]
    let w = [1.0f32, 2.0, 3.0, -1.0, 0.5, 4.0];
    let x = [1.0f32, -2.0, 0.5];
    let b = [0.25f32, -1.0];
    let want = [1.0 - 4.0 + 1.5 + 0.25, -1.0 - 1.0 + 2.0 - 1.0];
    let w16: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
    let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
    // int8 with scale 0.5 per row: q = 2 w
    let q: Vec<i8> = w.iter().map(|&v| (v * 2.0) as i8).collect();
    let s = [0.5f32, 0.5];
    for data in [
        WeightData::F32(&w),
        WeightData::F16(&w16),
        WeightData::Bf16(&wb),
        WeightData::I8 {
            values: &q,
            scales: &s,
        },
    ] {
        let m = MatRef {
            rows: 2,
            cols: 3,
            data,
        };
        // int8 runs W8A16: x is quantized to x_q = round(x / x_scale) with
        // x_scale = max|x| / 32767 = 2 / 32767, so x_q = [16384, -32767, 8192] (16383.5 rounds
        // to even); the integer sums are 2*16384 - 4*32767 + 6*8192 = -49148 and
        // -2*16384 - 32767 + 8*8192 = 1, and y = f32(sum) * (0.5 * x_scale) + b.
        let want = match data {
            WeightData::I8 { .. } => {
                let xs = 2.0f32 / 32767.0;
                let y = [-49148.0f32 * (0.5 * xs) + 0.25, 1.0f32 * (0.5 * xs) - 1.0];
                for (a, e) in y.iter().zip(&want) {
                    assert!((a - e).abs() <= 1e-4, "{a} vs {e}");
                }
                y
            }
            _ => want,
        };
        for path in Path::ALL.into_iter().filter(|p| p.is_supported()) {
            let mut y = [0.0f32; 2];
            gemv_batch_on(path, &m, &x, 1, Some(&b), Activation::Identity, &mut y).unwrap();
            assert_eq!(y, want, "{path:?} {data:?}");
            gemv_batch_on(path, &m, &x, 1, Some(&b), Activation::Relu, &mut y).unwrap();
            assert_eq!(y, [0.0, 0.0]);
        }
        let mut y = [0.0f32; 2];
        gemv(&m, &x, Some(&b), Activation::Identity, &mut y).unwrap();
        assert_eq!(y, want);
    }
}

#[test]
fn gemv_batch_matches_single_calls() {
    let w: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    let m = MatRef {
        rows: 5,
        cols: 3,
        data: WeightData::F32(&w),
    };
    let x: Vec<f32> = (0..12).map(|i| i as f32 * 0.1 - 0.5).collect();
    let mut yb = [0.0f32; 20];
    gemv_batch(&m, &x, 4, None, Activation::Tanh, &mut yb).unwrap();
    for b in 0..4 {
        let mut y = [0.0f32; 5];
        gemv(&m, &x[3 * b..3 * b + 3], None, Activation::Tanh, &mut y).unwrap();
        assert_eq!(&yb[5 * b..5 * b + 5], &y);
    }
}

#[test]
fn gemv_rejects_bad_lengths() {
    let w = [0.0f32; 6];
    let m = MatRef {
        rows: 2,
        cols: 3,
        data: WeightData::F32(&w),
    };
    let mut y = [0.0f32; 2];
    assert_eq!(
        gemv(&m, &[0.0; 2], None, Activation::Identity, &mut y),
        Err(KernelError::Length {
            what: "x",
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        gemv(&m, &[0.0; 3], Some(&[0.0; 3]), Activation::Identity, &mut y),
        Err(KernelError::Length {
            what: "bias",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        gemv(&m, &[0.0; 3], None, Activation::Identity, &mut [0.0; 3]),
        Err(KernelError::Length {
            what: "y",
            expected: 2,
            found: 3
        })
    );
    let short = MatRef {
        rows: 2,
        cols: 4,
        data: WeightData::F32(&w),
    };
    assert_eq!(
        gemv(&short, &[0.0; 4], None, Activation::Identity, &mut y),
        Err(KernelError::Length {
            what: "weights",
            expected: 8,
            found: 6
        })
    );
    let q = [0i8; 6];
    let m8 = MatRef {
        rows: 2,
        cols: 3,
        data: WeightData::I8 {
            values: &q,
            scales: &[1.0],
        },
    };
    assert_eq!(
        gemv(&m8, &[0.0; 3], None, Activation::Identity, &mut y),
        Err(KernelError::Length {
            what: "scales",
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        gemv_batch(&m, &[0.0; 6], 2, None, Activation::Identity, &mut y),
        Err(KernelError::Length {
            what: "y",
            expected: 4,
            found: 2
        })
    );
}

/// 1 -> 2 -> 1 net: h = relu([x + 1, -x]), y = 0.5 + 2 h0 - h1.
fn tiny_layers() -> ([f32; 4], [f32; 3]) {
    ([1.0, 1.0, 0.0, -1.0], [0.5, 2.0, -1.0])
}

#[test]
fn mlp_hand_example_every_path() {
    let (p1, p2) = tiny_layers();
    let layers = [
        Layer {
            n_in: 1,
            n_out: 2,
            act: Activation::Relu,
            params: &p1,
        },
        Layer {
            n_in: 2,
            n_out: 1,
            act: Activation::Identity,
            params: &p2,
        },
    ];
    let xs: Vec<f32> = (0..37).map(|i| i as f32 * 0.25 - 4.0).collect();
    let want: Vec<f32> = xs
        .iter()
        .map(|&x| 0.5 + 2.0 * (x + 1.0).max(0.0) - (-x).max(0.0))
        .collect();
    let mut scratch = vec![0.0f32; mlp_scratch_len(&layers)];
    for path in Path::ALL.into_iter().filter(|p| p.is_supported()) {
        let mut out = vec![f32::NAN; xs.len()];
        mlp_eval_on(path, &layers, &xs, &mut out, &mut scratch).unwrap();
        assert_eq!(out, want, "{path:?}");
    }
    let mut out = vec![0.0; xs.len()];
    mlp_eval(&layers, &xs, &mut out, &mut scratch).unwrap();
    assert_eq!(out, want);
    // zero points is fine
    mlp_eval(&layers, &[], &mut [], &mut scratch).unwrap();
}

#[test]
fn mlp_rejects_bad_input() {
    let (p1, p2) = tiny_layers();
    let good = [
        Layer {
            n_in: 1,
            n_out: 2,
            act: Activation::Relu,
            params: &p1,
        },
        Layer {
            n_in: 2,
            n_out: 1,
            act: Activation::Identity,
            params: &p2,
        },
    ];
    let mut scratch = vec![0.0f32; mlp_scratch_len(&good)];
    let mut out = [0.0f32; 3];
    assert_eq!(
        mlp_eval(&[], &[], &mut [], &mut scratch),
        Err(KernelError::NoLayers)
    );
    let chain = [
        good[0],
        Layer {
            n_in: 3,
            n_out: 1,
            act: Activation::Identity,
            params: &[0.0; 4],
        },
    ];
    assert_eq!(
        mlp_eval(&chain, &[0.0; 3], &mut out, &mut scratch),
        Err(KernelError::Chain {
            layer: 1,
            expected: 2,
            found: 3
        })
    );
    let bad_params = [
        good[0],
        Layer {
            params: &p1,
            ..good[1]
        },
    ];
    assert_eq!(
        mlp_eval(&bad_params, &[0.0; 3], &mut out, &mut scratch),
        Err(KernelError::Length {
            what: "params",
            expected: 3,
            found: 4
        })
    );
    assert_eq!(
        mlp_eval(&good, &[0.0; 3], &mut [0.0; 2], &mut scratch),
        Err(KernelError::Length {
            what: "out",
            expected: 3,
            found: 2
        })
    );
    let needed = mlp_scratch_len(&good);
    assert_eq!(
        mlp_eval(&good, &[0.0; 3], &mut out, &mut scratch[..needed - 1]),
        Err(KernelError::TooShort {
            what: "scratch",
            needed,
            found: needed - 1
        })
    );
    let too_wide = [Layer {
        n_in: 1,
        n_out: MAX_WIDTH + 1,
        act: Activation::Relu,
        params: &[],
    }];
    assert!(matches!(
        mlp_eval(&too_wide, &[0.0], &mut [], &mut scratch),
        Err(KernelError::Width {
            layer: 0,
            what: "n_out",
            ..
        })
    ));
    let deep = [good[1]; MAX_LAYERS + 1];
    assert!(matches!(
        mlp_eval(&deep, &[], &mut [], &mut scratch),
        Err(KernelError::TooManyLayers {
            found: 17,
            max: MAX_LAYERS
        })
    ));
    let pts2 = [good[1]];
    assert!(matches!(
        mlp_eval(&pts2, &[0.0; 3], &mut [0.0; 1], &mut scratch),
        Err(KernelError::Length { what: "points", .. })
    ));
}

#[test]
fn scratch_len_independent_of_points_and_path() {
    let p = vec![0.0f32; 256 * 3];
    let layers = [Layer {
        n_in: 2,
        n_out: 256,
        act: Activation::Tanh,
        params: &p,
    }];
    assert_eq!(mlp_scratch_len(&layers), 2 * MAX_TILE * 256 + 16);
    assert_eq!(mlp_scratch_len(&[]), 0);
}

#[test]
fn errors_display_names_argument_and_lengths() {
    let e = KernelError::Length {
        what: "x",
        expected: 3,
        found: 2,
    };
    assert_eq!(e.to_string(), "x: expected length 3 (elements), found 2");
    let e = KernelError::Chain {
        layer: 1,
        expected: 2,
        found: 3,
    };
    assert!(e.to_string().contains("layer 1"));
    let _: &dyn std::error::Error = &e;
}

#[test]
fn theta_permutation_feeds_mlp_eval() {
    // A net in paper layout, permuted into kernel layout, evaluates like the paper formula.
    let sizes = [2usize, 3, 2];
    let n = theta_len(&sizes);
    let paper: Vec<f32> = (0..n).map(|i| (i as f32 * 0.61).cos()).collect();
    let mut perm = vec![0u32; n];
    theta_permutation(&sizes, &mut perm).unwrap();
    let kernel: Vec<f32> = perm.iter().map(|&k| paper[k as usize]).collect();
    let layers = [
        Layer {
            n_in: 2,
            n_out: 3,
            act: Activation::Identity,
            params: &kernel[..9],
        },
        Layer {
            n_in: 3,
            n_out: 2,
            act: Activation::Identity,
            params: &kernel[9..],
        },
    ];
    let x = [0.3f32, -0.7];
    // paper: W1 = paper[0..6] [3,2], b1 = paper[6..9], W2 = paper[9..15] [2,3], b2 = paper[15..17]
    let h: Vec<f64> = (0..3)
        .map(|o| {
            paper[6 + o] as f64
                + (0..2)
                    .map(|i| paper[o * 2 + i] as f64 * x[i] as f64)
                    .sum::<f64>()
        })
        .collect();
    let y: Vec<f64> = (0..2)
        .map(|o| {
            paper[15 + o] as f64
                + (0..3)
                    .map(|i| paper[9 + o * 3 + i] as f64 * h[i])
                    .sum::<f64>()
        })
        .collect();
    let mut out = [0.0f32; 2];
    let mut scratch = vec![0.0; mlp_scratch_len(&layers)];
    reference::mlp_eval(&layers, &x, &mut out, &mut scratch).unwrap();
    for o in 0..2 {
        assert!(
            (out[o] as f64 - y[o]).abs() < 1e-6,
            "{} vs {}",
            out[o],
            y[o]
        );
    }
}
