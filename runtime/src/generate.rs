//! `generate`: run the u-dependent networks once and leave in the workspace exactly what eval
//! needs (see [`crate::plan`] for the layout per family).
//!
//! Normalization is folded into per-function copies of the first and last target layers:
//! a query point enters the first layer as `z_i = a_i y_i + d_i` (point normalization, and for
//! Shift-DeepONet also `y_n * s(u) + c(u)`), so `W'[o, i] = W[o, i] a_i` and
//! `b'_o = b_o + sum_i W[o, i] d_i (+ pre(u)_o for Flex, + (W_beta beta(u))_o for NOMAD)`;
//! output de-normalization `out_j = raw_j std_j + mean_j` scales row j of the last layer by
//! `std_j` and adds `mean_j` to its bias. Eval therefore makes no extra pass.

use hdon_format::Family;
use hdon_kernels::{
    fold_tanh_lanes, gemm, gemv, gemv_batch, widen_rows, Activation as KAct, MatRef, WeightData,
};

use crate::model::{GenLayer, Model, Net, Norm, NET_AUX_A, NET_AUX_B, NET_MAIN};
use crate::plan::Src;
use crate::{Error, NonFinite, Target};

/// Hands out consecutive disjoint pieces of a scratch slice.
struct Carve<'s> {
    rest: &'s mut [f32],
}

impl<'s> Carve<'s> {
    fn take(&mut self, n: usize) -> Result<&'s mut [f32], Error> {
        let buf = core::mem::take(&mut self.rest);
        let found = buf.len();
        let (head, tail) = buf
            .split_at_mut_checked(n)
            .ok_or(Error::WorkspaceTooShort { needed: n, found })?;
        self.rest = tail;
        Ok(head)
    }
}

fn internal(problem: &'static str) -> Error {
    Error::Tensor {
        what: "workspace plan",
        layer: 0,
        problem,
    }
}

/// How [`forward`] stores a batch of vectors.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `[batch, width]` row-major, one vector per row: `gemv` / `gemv_batch`.
    Rows,
    /// `[width, batch]` row-major, one vector per column (`batch` a multiple of
    /// `GEMM_LANES`): `gemm`, vectors in SIMD lanes. Only the batched generate of the `std`
    /// build chooses it.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Lanes,
}

/// Rows of a non-f32 matrix widened to f32 per `gemm` call in [`Form::Lanes`] (a multiple
/// of the kernel's 6-, 8- and 4-row blocks).
const WIDEN_ROWS: usize = 96;

/// f32 weights, row-major or padded: `gemm` takes them as they are (others are widened).
fn is_f32(w: &WeightData<'_>) -> bool {
    matches!(w, WeightData::F32(_) | WeightData::F32Strided { .. })
}

/// `y = act(W x + b)` for `batch` vectors (`gemv` for one, `gemv_batch` or `gemm` otherwise).
/// [`Form::Lanes`] with f16, bf16 or int8 weights widens `WIDEN_ROWS` rows at a time into
/// `widen` (at least `WIDEN_ROWS * cols` f32) and runs `gemm` on each block.
fn dense(
    l: &GenLayer<'_>,
    x: &[f32],
    (batch, form): (usize, Form),
    widen: &mut [f32],
    y: &mut [f32],
) -> Result<(), Error> {
    match form {
        Form::Rows if batch == 1 => gemv(&l.w, x, l.bias, l.act, y)?,
        Form::Rows => gemv_batch(&l.w, x, batch, l.bias, l.act, y)?,
        Form::Lanes if is_f32(&l.w.data) => gemm(&l.w, x, batch, l.bias, l.act, y)?,
        Form::Lanes => {
            let (rows, cols) = (l.w.rows, l.w.cols);
            for r0 in (0..rows).step_by(WIDEN_ROWS) {
                let h = WIDEN_ROWS.min(rows - r0);
                let buf = widen.get_mut(..h * cols).ok_or(internal("widen buffer"))?;
                widen_rows(&l.w, r0, h, buf)?;
                let block = MatRef {
                    rows: h,
                    cols,
                    data: WeightData::F32(buf),
                };
                let bias = l.bias.map(|b| &b[r0..r0 + h]);
                let out = y
                    .get_mut(r0 * batch..(r0 + h) * batch)
                    .ok_or(internal("generate buffer shorter than the plan"))?;
                gemm(&block, x, batch, bias, l.act, out)?;
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Buf {
    X,
    Ping,
    Pong,
}

/// Runs layers `start..` of `net` on `batch` input vectors `x` (`[batch, n_in]` row-major;
/// [`Form::Lanes`]: `[n_in, batch]`); hidden activations alternate between `ping` and `pong`
/// (`widen`: the buffer of [`dense`] for non-f32 layers in lanes, empty otherwise),
/// the last layer writes `out` (`[batch, n_out]`; lanes: `[n_out, batch]`).
fn forward(
    net: &Net<'_>,
    start: usize,
    x: &[f32],
    (batch, form): (usize, Form),
    (widen, ping, pong): (&mut [f32], &mut [f32], &mut [f32]),
    out: &mut [f32],
) -> Result<(), Error> {
    let Some(last) = net.len.checked_sub(1).filter(|&last| last >= start) else {
        return Ok(());
    };
    let input = hidden(
        net,
        start..last,
        x,
        (batch, form),
        (&mut *widen, ping, pong),
    )?;
    let l = net.layer(last)?;
    let n_x = batch.checked_mul(l.w.cols).ok_or(internal("overflow"))?;
    let n_y = batch.checked_mul(l.w.rows).ok_or(internal("overflow"))?;
    let short = || internal("generate buffer shorter than the plan");
    let input = input.get(..n_x).ok_or_else(short)?;
    dense(
        l,
        input,
        (batch, form),
        widen,
        out.get_mut(..n_y).ok_or_else(short)?,
    )
}

/// The serial generate's last hypernetwork layer: one GEMV, `y = act(W x + b)`.
fn serial_last(l: &GenLayer<'_>, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    dense(l, x, (1, Form::Rows), &mut [], y)
}

/// Layers `layers` of `net` on `batch` vectors `x` (layouts as [`forward`]), alternating
/// between `ping` and `pong`; returns the last one's output (`x` itself for no layers). What
/// [`forward`] runs before its last layer, and the serial generate before the hypernetwork's
/// last layer, which it hands to a caller-chosen GEMV.
fn hidden<'b>(
    net: &Net<'_>,
    layers: core::ops::Range<usize>,
    x: &'b [f32],
    (batch, form): (usize, Form),
    (widen, ping, pong): (&mut [f32], &'b mut [f32], &'b mut [f32]),
) -> Result<&'b [f32], Error> {
    let short = || internal("generate buffer shorter than the plan");
    let (mut src, mut len) = (Buf::X, x.len());
    for i in layers {
        let l = net.layer(i)?;
        let n_x = batch.checked_mul(l.w.cols).ok_or(internal("overflow"))?;
        let n_y = batch.checked_mul(l.w.rows).ok_or(internal("overflow"))?;
        let (input, dst): (&[f32], &mut [f32]) = match src {
            Buf::X => (x, &mut *ping),
            Buf::Ping => (&*ping, &mut *pong),
            Buf::Pong => (&*pong, &mut *ping),
        };
        let input = input.get(..n_x).ok_or_else(short)?;
        let dst = dst.get_mut(..n_y).ok_or_else(short)?;
        dense(l, input, (batch, form), widen, dst)?;
        src = match src {
            Buf::X | Buf::Pong => Buf::Ping,
            Buf::Ping => Buf::Pong,
        };
        len = n_y;
    }
    let out: &[f32] = match src {
        Buf::X => x,
        Buf::Ping => ping,
        Buf::Pong => pong,
    };
    out.get(..len).ok_or_else(short)
}

/// Folds the point affine `z_i = a_i y_i + d_i` and an extra bias into one packed row
/// `[b, W[o, 0..d_y]]` in place.
fn fold_first_row(row: &mut [f32], affine: impl Fn(usize) -> (f32, f32), extra: f32) {
    if let Some((b, w)) = row.split_first_mut() {
        let mut bias = *b + extra;
        for (i, wi) in w.iter_mut().enumerate() {
            let (a, d) = affine(i);
            bias += *wi * d;
            *wi *= a;
        }
        *b = bias;
    }
}

/// Folds `out_j = raw_j std_j + mean_j` into the packed block `[d_out, n_in + 1]` in place.
fn fold_last(block: &mut [f32], row_len: usize, norm: Option<&Norm<'_>>) {
    let Some(norm) = norm else { return };
    for (j, row) in block.chunks_exact_mut(row_len).enumerate() {
        let (mean, std) = norm.at(j);
        for v in row.iter_mut() {
            *v *= std;
        }
        if let Some(b) = row.first_mut() {
            *b += mean;
        }
    }
}

/// Paper layout (per layer: W `[out, in]` row-major, then b `[out]`) to kernel layout (per
/// row: `[b_o, W[o, ..]]`), layer by layer; the index math of `theta_permutation`.
fn scatter_theta(model: &Model<'_>, paper: &[f32], kernel: &mut [f32]) -> Result<(), Error> {
    let p = &model.plan;
    let mut off = 0usize;
    for slot in &p.target[..p.n_target] {
        let len = slot.block_len();
        let end = off + len;
        let src = paper.get(off..end).ok_or(internal("theta stage"))?;
        let dst = kernel.get_mut(off..end).ok_or(internal("theta"))?;
        let (w, b) = src.split_at(slot.n_out * slot.n_in);
        for ((krow, wrow), bo) in dst
            .chunks_exact_mut(slot.n_in + 1)
            .zip(w.chunks_exact(slot.n_in))
            .zip(b)
        {
            if let Some((kb, kw)) = krow.split_first_mut() {
                *kb = *bo;
                kw.copy_from_slice(wrow);
            }
        }
        off = end;
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Checks the sensor slice (length `batch * m`, finiteness per the options).
    pub(crate) fn check_sensors(&self, sensors: &[f32], batch: usize) -> Result<(), Error> {
        let m = self.plan.m;
        if Some(sensors.len()) != m.checked_mul(batch) {
            return Err(Error::SensorCount {
                expected: m,
                found: sensors.len(),
            });
        }
        if self.opts.nonfinite == NonFinite::Reject {
            if let Some(index) = crate::target::first_non_finite(sensors) {
                return Err(Error::NonFiniteSensor { index });
            }
        }
        Ok(())
    }

    /// Runs the input-function-dependent networks for one function.
    ///
    /// `sensors`: `[m]` physical sensor values u(x_1..x_m) (normalization from the file is
    /// applied inside). `workspace`: at least [`Model::workspace_len`]`(1)` f32; its contents
    /// on entry are ignored. The returned [`Target`] borrows the workspace and evaluates the
    /// target net at any number of points. Allocates nothing.
    ///
    /// # Errors
    /// [`Error::SensorCount`], [`Error::WorkspaceTooShort`], [`Error::NonFiniteSensor`]
    /// (with [`NonFinite::Reject`]).
    pub fn generate<'w>(
        &'w self,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<Target<'w>, Error> {
        self.generate_one(sensors, workspace, serial_last)
    }

    /// [`Model::generate`] with HyperDeepONet's last hypernetwork layer run by `last` (see
    /// [`Model::generate_into_with`]): the argument checks, the generate, the target.
    pub(crate) fn generate_one<'w>(
        &'w self,
        sensors: &[f32],
        workspace: &'w mut [f32],
        last: impl FnOnce(&GenLayer<'_>, &[f32], &mut [f32]) -> Result<(), Error>,
    ) -> Result<Target<'w>, Error> {
        let needed = self.plan.per_function;
        let found = workspace.len();
        let ws = workspace
            .get_mut(..needed)
            .ok_or(Error::WorkspaceTooShort { needed, found })?;
        self.check_sensors(sensors, 1)?;
        let (state, scratch) = ws.split_at_mut(self.plan.state_len);
        self.generate_into_with(sensors, state, scratch, last)?;
        Target::new(self, state, scratch)
    }

    /// The serial generate of one function: writes the state region; uses `scratch`.
    /// `sensors` was checked by the caller. (`generate_batch`'s per-function path.)
    #[cfg(feature = "std")]
    pub(crate) fn generate_into(
        &self,
        sensors: &[f32],
        state: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        self.generate_into_with(sensors, state, scratch, serial_last)
    }

    /// [`Model::generate_into`] with HyperDeepONet's last hypernetwork layer (`y = act(W x +
    /// b)` into theta, by far its largest matrix) run by `last(layer, x, y)`: the serial
    /// `dense`, or the parallel generate's split of its rows between threads, which gives the
    /// same bits ([`hdon_kernels::MatRef::row_block`]). Other families ignore `last`.
    pub(crate) fn generate_into_with(
        &self,
        sensors: &[f32],
        state: &mut [f32],
        scratch: &mut [f32],
        last: impl FnOnce(&GenLayer<'_>, &[f32], &mut [f32]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let plan = &self.plan;
        let g = plan.gen;
        let mut carve = Carve { rest: scratch };
        let u = carve.take(g.u)?;
        let ping = carve.take(g.ping)?;
        let pong = carve.take(g.pong)?;
        let aux_a = carve.take(g.aux_a)?;
        let aux_b = carve.take(g.aux_b)?;

        // Sensor normalization, applied once; every generate-side net reads `u`.
        self.normalize_sensors(sensors, u);
        let point = |i: usize| self.point_affine(i);
        let first = plan.target[0];
        let row_first = first.n_in + 1;
        let main = &self.nets[NET_MAIN];

        match plan.family {
            Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => {
                let (f, comb) = state
                    .split_at_mut_checked(first.block_len())
                    .ok_or(internal("state"))?;
                forward(main, 0, u, (1, Form::Rows), (&mut [], ping, pong), comb)?;
                fold_last(comb, plan.p + 1, self.output_norm.as_ref());
                let src = self.target_file[0];
                if src.len() != f.len() {
                    return Err(internal("trunk layer 0"));
                }
                f.copy_from_slice(src);
                match plan.family {
                    Family::ShiftDeepONet => {
                        forward(
                            &self.nets[NET_AUX_A],
                            0,
                            u,
                            (1, Form::Rows),
                            (&mut [], ping, pong),
                            aux_a,
                        )?;
                        forward(
                            &self.nets[NET_AUX_B],
                            0,
                            u,
                            (1, Form::Rows),
                            (&mut [], ping, pong),
                            aux_b,
                        )?;
                        let (s, c) = (&*aux_a, &*aux_b);
                        // y_n * s + c with y_n = y a + d: (a s) y + (d s + c).
                        let affine = |i: usize| {
                            let (a, d) = point(i);
                            let si = s.get(i).copied().unwrap_or(1.0);
                            let ci = c.get(i).copied().unwrap_or(0.0);
                            (a * si, d * si + ci)
                        };
                        for row in f.chunks_exact_mut(row_first) {
                            fold_first_row(row, affine, 0.0);
                        }
                    }
                    Family::FlexDeepONet => {
                        forward(
                            &self.nets[NET_AUX_A],
                            0,
                            u,
                            (1, Form::Rows),
                            (&mut [], ping, pong),
                            aux_a,
                        )?;
                        for (row, pre) in f.chunks_exact_mut(row_first).zip(aux_a.iter()) {
                            fold_first_row(row, point, *pre);
                        }
                    }
                    _ => {
                        for row in f.chunks_exact_mut(row_first) {
                            fold_first_row(row, point, 0.0);
                        }
                    }
                }
            }
            Family::Nomad => {
                let beta = aux_a;
                forward(main, 0, u, (1, Form::Rows), (&mut [], ping, pong), beta)?;
                let (f, rest) = state
                    .split_at_mut_checked(first.block_len())
                    .ok_or(internal("state"))?;
                let p = plan.p;
                let src_row = 1 + p + plan.d_y;
                for (dst, src) in f
                    .chunks_exact_mut(row_first)
                    .zip(self.target_file[0].chunks_exact(src_row))
                {
                    // src = [b_o, W_beta[o, 0..p], W_y[o, 0..d_y]]
                    let (b, w) = src.split_first().ok_or(internal("decoder row"))?;
                    let (w_beta, w_y) = w.split_at(p);
                    let mut bias = *b;
                    for (wk, bk) in w_beta.iter().zip(beta.iter()) {
                        bias += *wk * *bk;
                    }
                    if let Some((db, dw)) = dst.split_first_mut() {
                        *db = bias;
                        dw.copy_from_slice(w_y);
                    }
                    fold_first_row(dst, point, 0.0);
                }
                let last = plan.target[plan.n_target - 1];
                if plan.n_target == 1 {
                    fold_last(f, row_first, self.output_norm.as_ref());
                } else {
                    let src = self.target_file[plan.n_target - 1];
                    if src.len() != rest.len() {
                        return Err(internal("decoder last layer"));
                    }
                    rest.copy_from_slice(src);
                    fold_last(rest, last.n_in + 1, self.output_norm.as_ref());
                }
            }
            Family::HyperDeepONet => {
                let n = main
                    .len
                    .checked_sub(1)
                    .ok_or(internal("empty hypernetwork"))?;
                let x = hidden(main, 0..n, u, (1, Form::Rows), (&mut [], ping, pong))?;
                let l = main.layer(n)?;
                let y = state.get_mut(..l.w.rows).ok_or(internal("state"))?;
                last(
                    l,
                    x.get(..l.w.cols).ok_or(internal("hypernetwork input"))?,
                    y,
                )?;
                self.fold_theta(state, 1)?;
            }
            Family::ChunkedHyperDeepONet => {
                let h0 = carve.take(g.h0)?;
                let stage = carve.take(g.stage)?;
                let xcat = carve.take(g.xcat)?;
                self.chunked_hyper(u, ping, pong, h0, stage, xcat)?;
                scatter_theta(self, stage, state)?;
                self.fold_theta(state, 1)?;
            }
        }
        Ok(())
    }

    /// `u[i] = (sensors[i] - mean_i) / std_i` (or a copy without sensor normalization).
    fn normalize_sensors(&self, sensors: &[f32], u: &mut [f32]) {
        for (i, (dst, &v)) in u.iter_mut().zip(sensors).enumerate() {
            *dst = match &self.sensor_norm {
                Some(n) => {
                    let (mean, std) = n.at(i);
                    (v - mean) / std
                }
                None => v,
            };
        }
    }

    /// Point normalization of input `i` as an affine map `z = a y + d`: `(a, d)`.
    fn point_affine(&self, i: usize) -> (f32, f32) {
        match &self.point_norm {
            Some(n) => {
                let (mean, std) = n.at(i);
                (1.0 / std, -mean / std)
            }
            None => (1.0, 0.0),
        }
    }

    /// Whether [`Model::generate_par`] splits this model's generate between threads:
    /// HyperDeepONet whose last hypernetwork layer holds at least `min_bytes` of
    /// weights.
    #[cfg(feature = "std")]
    pub(crate) fn splits_generate(&self, min_bytes: usize) -> bool {
        let main = &self.nets[NET_MAIN];
        self.plan.family == Family::HyperDeepONet
            && main
                .len
                .checked_sub(1)
                .and_then(|i| main.layer(i).ok())
                .is_some_and(|l| l.w.bytes() >= min_bytes)
    }

    /// Whether [`Model::generate_group`] batches this model's generate (HyperDeepONet: the
    /// whole generate is the hypernetwork, so a group of functions is one `gemm` or
    /// `gemv_batch` per layer).
    #[cfg(feature = "std")]
    pub(crate) fn batches_generate(&self) -> bool {
        self.plan.family == Family::HyperDeepONet
    }

    /// The generate of `g = sensors.len() / m` functions at once (only when
    /// [`Model::batches_generate`]), with `tmp` as the group's scratch; `ws` holds `g`
    /// consecutive blocks of `per_function` f32, each theta is written into its function's
    /// state and folded as in the serial generate. `sensors` was checked by the caller.
    ///
    /// `lanes`: the normalized sensor vectors become the
    /// columns of `[m, G]` (`G = g` rounded up to `GEMM_LANES`, zero columns after `g`) and each
    /// hypernetwork layer is one `gemm` (one weight broadcast feeds 64 functions; every
    /// output summed in order `bias, k = 0, 1, ...`, so a function's theta does not depend on
    /// the group around it); thetas `[n_theta, G]` are then gathered column by column.
    /// Otherwise `gemv_batch` on `[g, m]` rows, bit-identical to `gemv` per vector, so every
    /// state is bit-identical to a serial `generate`.
    #[cfg(feature = "std")]
    pub(crate) fn generate_group(
        &self,
        sensors: &[f32],
        ws: &mut [f32],
        lanes: bool,
        tmp: &mut std::vec::Vec<f32>,
    ) -> Result<(), Error> {
        let plan = &self.plan;
        let (m, per) = (plan.m, plan.per_function);
        if m == 0 || per == 0 || !self.batches_generate() {
            return Err(internal("generate group"));
        }
        let g = sensors.len() / m;
        let main = &self.nets[NET_MAIN];
        let n_theta = main.layer(main.len - 1)?.w.rows;
        let hidden = plan.gen.ping.max(plan.gen.pong);
        let (n, form) = if lanes {
            (g.next_multiple_of(hdon_kernels::GEMM_LANES), Form::Lanes)
        } else {
            (g, Form::Rows)
        };
        // Every element is written below before it is read (lanes: the padding columns of
        // `u` are zeroed), so a buffer kept from an earlier call is not cleared.
        if plan.state_len != n_theta {
            return Err(internal("HyperDeepONet state is not theta"));
        }
        // Lanes: room to widen WIDEN_ROWS rows of the widest non-f32 layer.
        let n_widen = (0..main.len)
            .filter_map(|i| main.layer(i).ok())
            .filter(|l| lanes && !is_f32(&l.w.data))
            .map(|l| WIDEN_ROWS * l.w.cols)
            .max()
            .unwrap_or(0);
        let len = n * (m + 2 * hidden + n_theta) + m + n_widen;
        if tmp.len() < len {
            tmp.resize(len, 0.0);
        }
        let (u, rest) = tmp.split_at_mut(n * m);
        let (ping, rest) = rest.split_at_mut(n * hidden);
        let (pong, rest) = rest.split_at_mut(n * hidden);
        let (thetas, rest) = rest.split_at_mut(n * n_theta);
        let (row, rest) = rest.split_at_mut(m);
        let widen = &mut rest[..n_widen];
        if lanes {
            for uk in u.chunks_exact_mut(n) {
                uk[g..].fill(0.0);
            }
        }
        for (b, src) in sensors.chunks_exact(m).enumerate() {
            if lanes {
                self.normalize_sensors(src, row);
                for (k, &v) in row.iter().enumerate() {
                    u[k * n + b] = v;
                }
            } else {
                self.normalize_sensors(src, &mut u[b * m..(b + 1) * m]);
            }
        }
        forward(main, 0, u, (n, form), (widen, ping, pong), thetas)?;
        if lanes {
            self.fold_theta(thetas, n)?;
            hdon_kernels::columns_to_rows(thetas, n_theta, n, g, ws, per)?;
            return Ok(());
        }
        for (w, theta) in ws.chunks_exact_mut(per).zip(thetas.chunks_exact(n_theta)) {
            let state = w.get_mut(..n_theta).ok_or(internal("state"))?;
            state.copy_from_slice(theta);
            self.fold_theta(state, 1)?;
        }
        Ok(())
    }

    /// Folds point normalization into theta's first layer, output de-normalization into its
    /// last layer and the `TanhFolded` rewrite into its tanh layers (HyperDeepONet families,
    /// whose whole target lives in the state), in place, for `n` thetas stored as the columns
    /// of `t` (`[n_theta, n]` row-major: element `e` of every theta is the row `t[e * n..][..n]`;
    /// `n = 1` is one theta as the serial generate holds it). Each step is an element-wise
    /// operation on whole rows, so a batch runs across functions in SIMD lanes, and every
    /// column gets the same operations in the same order whatever `n`: the same bits.
    ///
    /// Nothing to do for theta layout 2 (the exporter applied the same rewrites to the
    /// hypernetwork's last layer; the format allows that layout for HyperDeepONet only).
    fn fold_theta(&self, t: &mut [f32], n: usize) -> Result<(), Error> {
        let plan = &self.plan;
        if plan.theta_folded {
            return Ok(());
        }
        let short = || internal("theta lanes");
        // First layer: `b += sum_i W[o, i] d_i` then `W[o, i] *= a_i` (as fold_first_row).
        let first = plan.target[0];
        let row = first.n_in + 1;
        let f = t.get_mut(..first.block_len() * n).ok_or_else(short)?;
        for r in f.chunks_exact_mut(row * n) {
            let (b, w) = r.split_at_mut(n);
            for v in b.iter_mut() {
                *v += 0.0;
            }
            for (i, wi) in w.chunks_exact_mut(n).enumerate() {
                let (a, d) = self.point_affine(i);
                for (bv, wv) in b.iter_mut().zip(wi.iter_mut()) {
                    *bv += *wv * d;
                    *wv *= a;
                }
            }
        }
        // Last layer: row j scaled by std_j, then mean_j added to its bias (as fold_last).
        let last = plan.target[plan.n_target - 1];
        if let (Src::State(off), Some(norm)) = (last.src, self.output_norm.as_ref()) {
            let l = t
                .get_mut(off * n..(off + last.block_len()) * n)
                .ok_or_else(short)?;
            for (j, r) in l.chunks_exact_mut((last.n_in + 1) * n).enumerate() {
                let (mean, std) = norm.at(j);
                for v in r.iter_mut() {
                    *v *= std;
                }
                for v in &mut r[..n] {
                    *v += mean;
                }
            }
        }
        // Folded tanh layers (after the normalization folds; both are exact rewrites of the
        // same function): fold_tanh over columns, the same bits per column.
        let mut prev_folded = false;
        for slot in &plan.target[..plan.n_target] {
            let folded = slot.act == KAct::TanhFolded;
            if folded || prev_folded {
                let Src::State(off) = slot.src else {
                    return Err(internal("folded tanh layer outside the state"));
                };
                let l = t
                    .get_mut(off * n..(off + slot.block_len()) * n)
                    .ok_or_else(short)?;
                fold_tanh_lanes(l, slot.n_in, n, prev_folded, folded)?;
            }
            prev_folded = folded;
        }
        Ok(())
    }

    /// The chunked hypernetwork: `stage[j] = hyper(concat(u, z_j))` for every chunk j, all
    /// chunks at once (`gemv_batch` over the n_chunks input vectors, so every weight matrix is
    /// read once per generate).
    ///
    /// The first layer's sensor part `W_u u` is the same for every chunk; computing it once
    /// needs a column block of the stored `[h_1, m + d_z]` matrix, which the GEMV kernels do
    /// not take (no row stride), so it was done one row per call. Measured on a Burgers-sized
    /// model (m = 128, hyper 66x5, 10 chunks, AVX-512): 140 us per generate that way vs 86 us
    /// for this single batched GEMV over `[n_chunks, m + d_z]` inputs, despite its extra
    /// multiply-adds (call overhead dominates at these sizes). Hence the plain form.
    fn chunked_hyper(
        &self,
        u: &[f32],
        ping: &mut [f32],
        pong: &mut [f32],
        h0: &mut [f32],
        stage: &mut [f32],
        xcat: &mut [f32],
    ) -> Result<(), Error> {
        let plan = &self.plan;
        let hyper = &self.nets[NET_MAIN];
        let l0 = hyper.layer(0)?;
        let (m, d_z, nc) = (plan.m, plan.d_z, plan.n_chunks);
        let width = m + d_z;
        let mut rows = 0;
        for (j, row) in xcat.chunks_exact_mut(width).enumerate() {
            let (a, b) = row.split_at_mut(m);
            a.copy_from_slice(u);
            let z = self
                .chunk_embeddings
                .get(j * d_z..(j + 1) * d_z)
                .ok_or(internal("chunk embeddings"))?;
            b.copy_from_slice(z);
            rows += 1;
        }
        if rows != nc {
            return Err(internal("chunk embeddings"));
        }
        let h1 = l0.w.rows;
        let dest: &mut [f32] = if hyper.len == 1 {
            &mut *stage
        } else {
            &mut *h0
        };
        let dest = dest
            .get_mut(..nc * h1)
            .ok_or(internal("chunked hypernet first layer"))?;
        dense(l0, xcat, (nc, Form::Rows), &mut [], dest)?;
        if hyper.len > 1 {
            forward(hyper, 1, h0, (nc, Form::Rows), (&mut [], ping, pong), stage)?;
        }
        Ok(())
    }
}
