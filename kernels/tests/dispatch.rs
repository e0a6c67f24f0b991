//! Path selection. Its own test binary: forcing a path is process-global.

use hdon_kernels::*;

#[test]
fn paths_names_and_forcing() {
    for p in Path::ALL {
        assert_eq!(Path::from_name(p.name()), Some(p));
    }
    assert_eq!(Path::from_name("AVX512"), Some(Path::Avx512));
    assert_eq!(Path::from_name("neon"), None);
    assert!(Path::Scalar.is_supported() && Path::Portable.is_supported());
    assert!(active_path().is_supported());
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") && std::env::var("HDON_KERNEL").is_err() {
        assert_eq!(best_path(), Path::Avx512);
    }
    for p in Path::ALL {
        assert_eq!(force_path(p).is_ok(), p.is_supported());
    }
    force_path(best_path()).unwrap();
    assert_eq!(active_path(), best_path());
}

#[test]
fn int8_kernel_names_follow_the_cpu() {
    assert_eq!(int8_kernel(Path::Scalar), "scalar");
    assert_eq!(int8_kernel(Path::Portable), "portable");
    #[cfg(target_arch = "x86_64")]
    {
        use std::is_x86_feature_detected as has;
        assert_eq!(int8_kernel(Path::Avx2), "avx2");
        if Path::Avx512.is_supported() {
            let want = match (
                has!("avx512bw") && has!("avx512vl"),
                has!("avx512vnni"),
                has!("avx512vbmi"),
            ) {
                (true, true, true) => "avx512vnni-bytes",
                (true, true, false) => "avx512vnni",
                (true, false, _) => "avx512bw",
                (false, _, _) => "avx2",
            };
            assert_eq!(int8_kernel(Path::Avx512), want);
        }
    }
}

/// `set_amx` switches the tiles for `mlp_eval` (where they are available) and reports the
/// state; switched off, the AVX-512 path gives the FMA kernel's bits, which differ from the
/// tiles' by a few roundings. (The path is named, not forced: the test beside this one forces
/// paths.)
#[test]
fn set_amx_switches_the_tiles() {
    let sizes = [2usize, 64, 64, 1];
    let params: Vec<Vec<f32>> = sizes
        .windows(2)
        .map(|w| {
            (0..w[1] * (w[0] + 1))
                .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 0.4)
                .collect()
        })
        .collect();
    let layers: Vec<Layer<'_>> = (0..3)
        .map(|k| Layer {
            n_in: sizes[k],
            n_out: sizes[k + 1],
            act: if k < 2 {
                Activation::Tanh
            } else {
                Activation::Identity
            },
            params: &params[k],
        })
        .collect();
    let pts: Vec<f32> = (0..200).map(|i| (i as f32 * 0.173).sin() * 2.0).collect();
    let mut scratch = vec![0.0f32; mlp_scratch_len(&layers)];
    let mut eval = || {
        let mut y = vec![0.0f32; 100];
        mlp_eval_on(Path::Avx512, &layers, &pts, &mut y, &mut scratch).unwrap();
        y
    };
    if !amx_available() {
        assert!(!set_amx(true) && !amx_enabled() && !mlp_uses_amx(&layers));
        return;
    }
    assert!(!set_amx(false) && !amx_enabled() && !mlp_uses_amx(&layers));
    let fma = eval();
    assert!(set_amx(true) && amx_enabled());
    let tiles = eval();
    let mut explicit = vec![0.0f32; 100];
    let mut scratch = vec![0.0f32; mlp_scratch_len(&layers)];
    mlp_eval_amx(&layers, &pts, &mut explicit, &mut scratch).unwrap();
    assert!(tiles
        .iter()
        .zip(&explicit)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(
        tiles
            .iter()
            .zip(&fma)
            .any(|(a, b)| a.to_bits() != b.to_bits()),
        "the switch changed nothing"
    );
    for (a, b) in tiles.iter().zip(&fma) {
        assert!((a - b).abs() <= 2e-6 * (1.0 + b.abs()), "{a} vs {b}");
    }
}
