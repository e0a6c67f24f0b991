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
            if let Some(i) = points.iter().position(|v| !v.is_finite()) {
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
