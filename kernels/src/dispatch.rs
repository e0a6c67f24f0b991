//! Which implementation runs: detected once, cached in an atomic, overridable for tests.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::KernelError;

/// An implementation of every kernel of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// [`crate::reference`]: plain scalar Rust, correctly rounded activations. The twin that
    /// every other path is tested against; slow.
    Scalar,
    /// `wide` SIMD (NEON on aarch64, SSE/AVX on x86 as compiled); the path on targets without
    /// a native one (e.g. `thumbv7em-none-eabihf`, where `wide` falls back to scalar lanes).
    Portable,
    /// x86-64 `core::arch` AVX2 + FMA + F16C (8 lanes).
    Avx2,
    /// x86-64 `core::arch` AVX-512F + AVX-512DQ (16 lanes).
    Avx512,
}

impl Path {
    /// Every path, slowest first.
    pub const ALL: [Path; 4] = [Path::Scalar, Path::Portable, Path::Avx2, Path::Avx512];

    /// The name used by `HDON_KERNEL` and printed by `hdon bench`: `scalar`, `portable`,
    /// `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Portable => "portable",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    /// Parses a [`Path::name`] (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Path> {
        Path::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this CPU and build can run the path. Scalar and portable always can.
    pub fn is_supported(self) -> bool {
        match self {
            Path::Scalar | Path::Portable => true,
            Path::Avx2 => has_avx2_fma(),
            Path::Avx512 => has_avx512(),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Path::Scalar => 1,
            Path::Portable => 2,
            Path::Avx2 => 3,
            Path::Avx512 => 4,
        }
    }

    fn from_u8(v: u8) -> Option<Path> {
        match v {
            1 => Some(Path::Scalar),
            2 => Some(Path::Portable),
            3 => Some(Path::Avx2),
            4 => Some(Path::Avx512),
            _ => None,
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
}
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_avx2_fma() -> bool {
    cfg!(target_feature = "avx2") && cfg!(target_feature = "fma") && cfg!(target_feature = "f16c")
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx2_fma() -> bool {
    false
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_avx512() -> bool {
    // DQ for `vreduceps` (tanh); every AVX-512 CPU but Xeon Phi has it.
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq")
}
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_avx512() -> bool {
    cfg!(target_feature = "avx512f") && cfg!(target_feature = "avx512dq")
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

/// 0 = not chosen yet; otherwise `Path::to_u8`.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The fastest path this CPU supports.
pub fn best_path() -> Path {
    if has_avx512() {
        Path::Avx512
    } else if has_avx2_fma() {
        Path::Avx2
    } else {
        Path::Portable
    }
}

/// The path every kernel call uses. Chosen on the first call and cached: with feature `std`,
/// `HDON_KERNEL=scalar|portable|avx2|avx512` forces a path (a name this CPU cannot run, or an
/// unknown name, is reported once on stderr and the best path is used); otherwise the best
/// path the CPU supports (run-time detection with `std`, `cfg!(target_feature)` without).
pub fn active_path() -> Path {
    if let Some(p) = Path::from_u8(ACTIVE.load(Ordering::Relaxed)) {
        return p;
    }
    let p = initial_path();
    // A concurrent force_path may have won; keep whatever is stored first.
    match ACTIVE.compare_exchange(0, p.to_u8(), Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => p,
        Err(v) => Path::from_u8(v).unwrap_or(p),
    }
}

#[cfg(feature = "std")]
fn initial_path() -> Path {
    match std::env::var("HDON_KERNEL") {
        Ok(name) if !name.trim().is_empty() => match Path::from_name(&name) {
            Some(p) if p.is_supported() => p,
            Some(p) => {
                let best = best_path();
                std::eprintln!(
                    "hdon-kernels: HDON_KERNEL={} is not supported by this CPU; using {}",
                    p.name(),
                    best.name()
                );
                best
            }
            None => {
                let best = best_path();
                std::eprintln!(
                    "hdon-kernels: HDON_KERNEL={name:?} is not one of scalar, portable, avx2, avx512; using {}",
                    best.name()
                );
                best
            }
        },
        _ => best_path(),
    }
}

#[cfg(not(feature = "std"))]
fn initial_path() -> Path {
    best_path()
}

/// Makes every later kernel call (all threads) use `p`. For tests and benchmarks.
///
/// # Errors
/// [`KernelError::UnsupportedPath`] if the CPU or build cannot run `p`; the active path is
/// then unchanged.
pub fn force_path(p: Path) -> Result<(), KernelError> {
    if !p.is_supported() {
        return Err(KernelError::UnsupportedPath(p));
    }
    ACTIVE.store(p.to_u8(), Ordering::Relaxed);
    Ok(())
}
