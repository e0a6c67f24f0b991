//! Target-MLP evaluation over query points (the hot loop of every family).

use crate::gemv::check_len;
use crate::{active_path, reference, Activation, KernelError, Path};

/// One layer of a target-side MLP in kernel layout (theta layout id 1).
///
/// `params` is the packed block `[n_out, n_in + 1]` row-major: for each output row `o`,
/// `[b_o, W[o, 0], ..., W[o, n_in - 1]]`.
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// Input width (1..=[`MAX_IN`]; equal to the previous layer's `n_out`).
    pub n_in: usize,
    /// Output width (1..=[`MAX_WIDTH`]).
    pub n_out: usize,
    /// Activation applied to every output (fused into the tile kernel).
    pub act: Activation,
    /// `n_out * (n_in + 1)` f32, bias first in each row.
    pub params: &'a [f32],
}

/// Most layers one [`mlp_eval`] call takes.
pub const MAX_LAYERS: usize = 16;
/// Widest layer output.
pub const MAX_WIDTH: usize = 256;
/// Widest layer input. Layers after the first have `n_in <= MAX_WIDTH` by chaining; the first
/// layer (points of dimension `n_in`) may be wider, e.g. an unfolded NOMAD decoder input.
pub const MAX_IN: usize = 1024;
/// Most points per tile of any path: scratch is sized for this many, whichever path runs.
pub const MAX_TILE: usize = 32;

/// f32 count of the scratch [`mlp_eval`] needs for these layers: two tile buffers of
/// `MAX_TILE` points times the widest layer (inputs included), plus 16 f32 so the buffers can
/// start on a 64-byte boundary. Independent of the point count and of the path. Returns 0 for
/// an empty or invalid layer list (mlp_eval then reports why).
pub fn mlp_scratch_len(layers: &[Layer<'_>]) -> usize {
    let widest = layers
        .iter()
        .map(|l| l.n_in.max(l.n_out))
        .max()
        .unwrap_or(0);
    if widest > MAX_IN {
        return 0;
    }
    if widest == 0 {
        return 0;
    }
    2 * MAX_TILE * widest + 16
}

/// Checks the layer chain and returns `(n_in of the first layer, n_out of the last)`.
pub(crate) fn validate_layers(layers: &[Layer<'_>]) -> Result<(usize, usize), KernelError> {
    let (first, last) = match (layers.first(), layers.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(KernelError::NoLayers),
    };
    if layers.len() > MAX_LAYERS {
        return Err(KernelError::TooManyLayers {
            found: layers.len(),
            max: MAX_LAYERS,
        });
    }
    for (k, l) in layers.iter().enumerate() {
        if l.n_in == 0 || l.n_in > MAX_IN {
            return Err(KernelError::Width {
                layer: k,
                what: "n_in",
                found: l.n_in,
                max: MAX_IN,
            });
        }
        if l.n_out == 0 || l.n_out > MAX_WIDTH {
            return Err(KernelError::Width {
                layer: k,
                what: "n_out",
                found: l.n_out,
                max: MAX_WIDTH,
            });
        }
        if k > 0 && l.n_in != layers[k - 1].n_out {
            return Err(KernelError::Chain {
                layer: k,
                expected: layers[k - 1].n_out,
                found: l.n_in,
            });
        }
        check_len("params", l.n_out * (l.n_in + 1), l.params.len())?;
    }
    Ok((first.n_in, last.n_out))
}

fn validate_mlp(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &[f32],
    scratch: &[f32],
) -> Result<usize, KernelError> {
    let (d_in, d_out) = validate_layers(layers)?;
    if !points.len().is_multiple_of(d_in) {
        return Err(KernelError::Length {
            what: "points",
            expected: points.len() / d_in * d_in,
            found: points.len(),
        });
    }
    let n = points.len() / d_in;
    check_len("out", n * d_out, out.len())?;
    let needed = mlp_scratch_len(layers);
    if scratch.len() < needed {
        return Err(KernelError::TooShort {
            what: "scratch",
            needed,
            found: scratch.len(),
        });
    }
    Ok(n)
}

/// Evaluates the MLP at every point, on the [`active_path`].
///
/// `points`: `[n, layers[0].n_in]` row-major; `out`: `[n, last.n_out]` row-major; `scratch`:
/// at least [`mlp_scratch_len`] f32 (contents ignored and overwritten). Every layer computes
/// `h'_o = act(b_o + sum_i W[o, i] h_i)` with the sum in order `i = 0, 1, ...` by fused
/// multiply-adds on every path except `portable` (whose `wide` FMA is unfused where the build
/// lacks FMA), so with identity/relu/prelu activations the avx2/avx512 paths equal the scalar
/// reference bit for bit; other activations differ by the activation error (crate docs). On
/// CPUs with AMX the AVX-512 path runs tanh nets that suit the tiles on them
/// ([`mlp_uses_amx`]), within a few f32 roundings of the FMA kernel.
///
/// # Errors
/// [`KernelError`] for an empty/too deep/ill-chained layer list, a params block of the wrong
/// length, `points` not a multiple of `n_in`, `out` of the wrong length or short scratch.
pub fn mlp_eval(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    mlp_eval_on(active_path(), layers, points, out, scratch)
}

/// [`mlp_eval`] on an explicit path (tests and benchmarks compare paths with this).
///
/// # Errors
/// As [`mlp_eval`], plus [`KernelError::UnsupportedPath`] if the CPU cannot run `path`.
pub fn mlp_eval_on(
    path: Path,
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    let n = validate_mlp(layers, points, out, scratch)?;
    if !path.is_supported() {
        return Err(KernelError::UnsupportedPath(path));
    }
    if n == 0 {
        return Ok(());
    }
    match path {
        Path::Scalar => reference::mlp_eval_unchecked(layers, points, out, scratch),
        Path::Portable => crate::portable::mlp_eval(layers, points, out, scratch),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => crate::x86_64::avx2_mlp_eval(layers, points, out, scratch),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => {
            use crate::x86_64::{amx_mlp_eval, AmxRun};
            if !matches!(amx_mlp_eval(layers, points, out, false), AmxRun::Ran) {
                crate::x86_64::avx512_mlp_eval(layers, points, out, scratch);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}

/// Whether this CPU and OS can run AMX tiles: x86-64 with AMX-TILE and AMX-BF16 (Sapphire
/// Rapids and later), Linux granting the tile permission, feature `std`. Detected on the first
/// call of any AMX function (one `arch_prctl` system call).
pub fn amx_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return crate::x86_64::amx::available();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether the AVX-512 path of [`mlp_eval`] runs the nets AMX takes ([`mlp_uses_amx`]) on
/// tiles: [`amx_available`] and not switched off, by `HDON_AMX=0` in the environment (read
/// once) or [`set_amx`].
pub fn amx_enabled() -> bool {
    #[cfg(target_arch = "x86_64")]
    return crate::x86_64::amx::enabled();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Switches AMX tiles on or off for every later [`mlp_eval`] call on every thread (for
/// benchmarks and comparisons); returns [`amx_enabled`] (false where tiles are unavailable).
pub fn set_amx(on: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    return crate::x86_64::amx::set_enabled(on);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = on;
        false
    }
}

/// Whether [`mlp_eval`] runs `layers` on AMX tiles: the active path is AVX-512, AMX is
/// [`amx_enabled`], and the net is one the tiles take. That is a net whose hidden layers
/// follow tanh (plain or folded), take at least 32 inputs each, and end in a one-row output
/// layer, with points of at most 4 dimensions and bf16 weight pieces that fit the 96 KiB
/// per-thread tile buffer beside two blocks' activations (workload L's 2-64-64-64-1 takes
/// 68 KiB). Results then differ from
/// the FMA path's by a few f32 roundings (the products are exact, their sums are in the
/// tile's order); see the crate docs, "AMX tiles".
pub fn mlp_uses_amx(layers: &[Layer<'_>]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return active_path() == Path::Avx512
        && amx_enabled()
        && crate::x86_64::amx::plan(layers).is_some();
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = layers;
        false
    }
}

/// [`mlp_eval`] on AMX tiles even when switched off ([`set_amx`]): for tests and benchmarks
/// that compare the two. Arguments as for [`mlp_eval`] (`scratch` is checked but unused: the
/// tiles use their per-thread buffer).
///
/// # Errors
/// As [`mlp_eval`]; [`KernelError::Amx`] where tiles are unavailable, do not take the net
/// (see [`mlp_uses_amx`]) or a hidden layer has an infinite or NaN weight ([`mlp_eval`] runs
/// such a net on the FMA path).
pub fn mlp_eval_amx(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    validate_mlp(layers, points, out, scratch)?;
    let no_tiles = KernelError::Amx {
        reason: "this CPU, OS or build has no AMX tiles",
    };
    #[cfg(target_arch = "x86_64")]
    {
        use crate::x86_64::{amx_mlp_eval, AmxRun};
        match amx_mlp_eval(layers, points, out, true) {
            AmxRun::Ran => Ok(()),
            AmxRun::Off => Err(no_tiles),
            AmxRun::NotTaken => Err(KernelError::Amx {
                reason: "the net is not one they take (tanh hidden layers of >= 32 inputs, one output, points of <= 4 dimensions, pieces within 96 KiB)",
            }),
            AmxRun::NonFinite => Err(KernelError::Amx {
                reason: "a hidden layer has an infinite or NaN weight",
            }),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err(no_tiles)
}
