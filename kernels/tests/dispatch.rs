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
