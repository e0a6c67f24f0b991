//! [`Target`]: the target net of one input function, ready to evaluate at query points.

use hdon_kernels::{mlp_eval, Layer, MAX_LAYERS};

use crate::model::{eval_layers, Model};
use crate::{Error, NonFinite};

/// The target net of one input function: what `generate` left in the workspace (theta,
/// coefficients, folded first/last layers) plus the file's static layers, and the eval tile
/// scratch. Evaluate it at any number of point sets with [`Target::eval`]; allocation-free.
#[derive(Debug)]
pub struct Target<'w> {
    pub(crate) layers: [Layer<'w>; MAX_LAYERS],
    pub(crate) n_layers: usize,
    pub(crate) scratch: &'w mut [f32],
    pub(crate) d_y: usize,
    pub(crate) d_out: usize,
    pub(crate) nonfinite: NonFinite,
}

impl<'w> Target<'w> {
    /// Wraps a generated state region; `scratch` is the rest of this function's workspace.
    pub(crate) fn new(
        model: &'w Model<'_>,
        state: &'w [f32],
        scratch: &'w mut [f32],
    ) -> Result<Self, Error> {
        let layers = eval_layers(model, state)?;
        Ok(Target {
            layers,
            n_layers: model.plan.n_target,
            scratch,
            d_y: model.plan.d_y,
            d_out: model.plan.d_out,
            nonfinite: model.opts.nonfinite,
        })
    }

    /// Query point dimension `d_y`.
    pub fn d_y(&self) -> usize {
        self.d_y
    }

    /// Output components per point `d_out`.
    pub fn d_out(&self) -> usize {
        self.d_out
    }

    /// The target layers in kernel layout (packed blocks `[n_out, n_in + 1]`), normalization
    /// folded in: what [`Target::eval`] passes to `hdon_kernels::mlp_eval`. For the
    /// HyperDeepONet families the hidden tanh layers are in folded form
    /// (`Activation::TanhFolded`, parameters rewritten by `hdon_kernels::fold_tanh`): the
    /// same function, two vector operations fewer per activation.
    pub fn layers(&self) -> &[Layer<'w>] {
        self.layers.get(..self.n_layers).unwrap_or(&[])
    }

    /// Checks `points`/`out` and returns the point count `n`.
    pub(crate) fn check(&self, points: &[f32], out: &[f32]) -> Result<usize, Error> {
        let n = self.check_shapes(points, out)?;
        self.check_finite(points, 0)?;
        Ok(n)
    }

    /// With [`NonFinite::Reject`]: the first NaN or infinite value of `points` as
    /// [`Error::NonFinitePoint`], its index offset by `base` (the slice's start in the caller's
    /// points).
    pub(crate) fn check_finite(&self, points: &[f32], base: usize) -> Result<(), Error> {
        if self.nonfinite == NonFinite::Reject {
            if let Some(i) = first_non_finite(points) {
                return Err(Error::NonFinitePoint { index: base + i });
            }
        }
        Ok(())
    }

    /// Checks the lengths of `points`/`out` (not their values); returns the point count `n`.
    pub(crate) fn check_shapes(&self, points: &[f32], out: &[f32]) -> Result<usize, Error> {
        if self.d_y == 0 || !points.len().is_multiple_of(self.d_y) {
            return Err(Error::PointDim {
                d_y: self.d_y,
                found: points.len(),
            });
        }
        let n = points.len() / self.d_y;
        let needed = n.saturating_mul(self.d_out);
        if out.len() < needed {
            return Err(Error::OutputLen {
                needed,
                found: out.len(),
            });
        }
        Ok(n)
    }

    /// Evaluates the target net at `n` query points.
    ///
    /// `points`: `[n, d_y]` row-major, physical coordinates (point normalization is applied
    /// inside). `out`: at least `n * d_out` f32; `out[..n * d_out]` receives `[n, d_out]`
    /// row-major in physical units (de-normalized); the rest is untouched. Any `n`, including
    /// 0. Allocates nothing.
    ///
    /// # Errors
    /// [`Error::PointDim`], [`Error::OutputLen`], [`Error::NonFinitePoint`] (with
    /// [`NonFinite::Reject`]).
    pub fn eval(&mut self, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let n = self.check(points, out)?;
        if n == 0 {
            return Ok(());
        }
        let out = out.get_mut(..n * self.d_out).ok_or(Error::OutputLen {
            needed: n * self.d_out,
            found: 0,
        })?;
        let layers = self.layers.get(..self.n_layers).unwrap_or(&[]);
        mlp_eval(layers, points, out, self.scratch)?;
        Ok(())
    }
}

/// Values [`first_non_finite`] tests per step.
const FINITE_CHUNK: usize = 64;

/// Index of the first NaN or infinite value of `v` (as `v.iter().position(|x|
/// !x.is_finite())`). Each chunk of 64 values is tested without a branch per value, which the
/// compiler vectorizes: the scan of one value per iteration was 5 % of a perf profile of
/// workload B (64 functions x 1,000 points). Only a failing chunk is searched value by value.
pub(crate) fn first_non_finite(v: &[f32]) -> Option<usize> {
    for (c, chunk) in v.chunks(FINITE_CHUNK).enumerate() {
        // A value is NaN or infinite iff its exponent bits are all ones; adding one to that
        // field then carries into bit 31, so OR-ing the sums flags any such value in bit 31.
        let flags = chunk.iter().fold(0u32, |acc, x| {
            acc | ((x.to_bits() & 0x7f80_0000) + 0x0080_0000)
        });
        if flags & 0x8000_0000 != 0 {
            return chunk
                .iter()
                .position(|x| !x.is_finite())
                .map(|i| c * FINITE_CHUNK + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::first_non_finite;

    /// Every special value at every position of slices around the chunk size, against the
    /// one-by-one scan.
    #[test]
    fn first_non_finite_matches_position() {
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0x7f80_0001),
        ];
        // Finite values with every exponent class, the largest and smallest included.
        let finite = [
            0.0,
            -0.0,
            1.0,
            -2.5,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
        ];
        for len in [0usize, 1, 63, 64, 65, 130] {
            let base: Vec<f32> = (0..len).map(|i| finite[i % finite.len()]).collect();
            assert_eq!(first_non_finite(&base), None, "len {len}");
            for pos in 0..len {
                for &bad in &specials {
                    let mut v = base.clone();
                    v[pos] = bad;
                    if pos + 1 < len {
                        v[len - 1] = f32::INFINITY;
                    }
                    let want = v.iter().position(|x| !x.is_finite());
                    assert_eq!(first_non_finite(&v), want, "len {len} pos {pos} {bad}");
                }
            }
        }
    }
}
