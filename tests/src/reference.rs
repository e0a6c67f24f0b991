//! An independent f64 implementation of the six families, straight loops in PAPER layout
//! (weights `[out, in]` row-major, then bias `[out]`), written from PAPER.md and the family
//! definitions in the team contracts, not from the runtime code. The tests hold the runtime
//! to it.

/// Activation functions (f64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// x
    Identity,
    /// max(x, 0)
    Relu,
    /// x or slope * x
    Prelu(f64),
    /// tanh
    Tanh,
    /// logistic
    Sigmoid,
    /// sin
    Sin,
    /// GELU, tanh form
    Gelu,
    /// x * sigmoid(x)
    Silu,
    /// ln(1 + e^x)
    Softplus,
}

impl Act {
    /// All nine, with a PReLU slope of 0.2.
    pub const ALL: [Act; 9] = [
        Act::Identity,
        Act::Relu,
        Act::Prelu(0.2),
        Act::Tanh,
        Act::Sigmoid,
        Act::Sin,
        Act::Gelu,
        Act::Silu,
        Act::Softplus,
    ];

    /// Applies the activation.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Act::Identity => x,
            Act::Relu => x.max(0.0),
            Act::Prelu(s) => {
                if x > 0.0 {
                    x
                } else {
                    s * x
                }
            }
            Act::Tanh => x.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Sin => x.sin(),
            Act::Gelu => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Act::Silu => x / (1.0 + (-x).exp()),
            Act::Softplus => {
                if x > 30.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }
}

/// One dense layer `y = act(W x + b)`, W `[n_out, n_in]` row-major.
#[derive(Clone, Debug)]
pub struct Dense {
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// `[n_out, n_in]` row-major.
    pub w: Vec<f64>,
    /// `[n_out]`.
    pub b: Vec<f64>,
    /// Activation.
    pub act: Act,
}

impl Dense {
    /// `act(W x + b + extra)` where `extra` is an optional bias addition.
    pub fn apply(&self, x: &[f64], extra: Option<&[f64]>) -> Vec<f64> {
        assert_eq!(x.len(), self.n_in);
        (0..self.n_out)
            .map(|o| {
                let mut s = self.b[o];
                for i in 0..self.n_in {
                    s += self.w[o * self.n_in + i] * x[i];
                }
                if let Some(e) = extra {
                    s += e[o];
                }
                self.act.apply(s)
            })
            .collect()
    }
}

/// A multi-layer perceptron.
pub type Mlp = Vec<Dense>;

/// Applies every layer in turn.
pub fn mlp(net: &Mlp, x: &[f64]) -> Vec<f64> {
    let mut h = x.to_vec();
    for l in net {
        h = l.apply(&h, None);
    }
    h
}

/// `x_n = (x - mean) / std`, mean/std of length 1 (broadcast) or full.
#[derive(Clone, Debug)]
pub struct Affine {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations.
    pub std: Vec<f64>,
}

impl Affine {
    fn at(v: &[f64], i: usize) -> f64 {
        if v.len() == 1 {
            v[0]
        } else {
            v[i]
        }
    }
    /// Normalizes `x` elementwise.
    pub fn normalize(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, v)| (v - Self::at(&self.mean, i)) / Self::at(&self.std, i))
            .collect()
    }
    /// De-normalizes `x` elementwise: `x * std + mean`.
    pub fn denormalize(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, v)| v * Self::at(&self.std, i) + Self::at(&self.mean, i))
            .collect()
    }
}

/// The family-specific networks in paper form.
#[derive(Clone, Debug)]
pub enum Nets {
    /// out_j = sum_k c_{j,k}(u) t_k(y) + b0_j; branch outputs index j*p + k.
    DeepONet {
        /// m -> d_out * p.
        branch: Mlp,
        /// d_y -> p, last layer activated.
        trunk: Mlp,
        /// Constant output bias, length d_out (zeros if the checkpoint has none).
        b0: Vec<f64>,
    },
    /// DeepONet with the trunk evaluated at y_n * s(u) + c(u).
    Shift {
        /// m -> d_out * p.
        branch: Mlp,
        /// d_y -> p.
        trunk: Mlp,
        /// Constant output bias.
        b0: Vec<f64>,
        /// m -> d_y.
        scale: Mlp,
        /// m -> d_y.
        shift: Mlp,
    },
    /// Branch outputs d_out blocks of (p + 1): [b0_j(u), c_{j,0..p}]; pre(u) added to the
    /// trunk's first-layer pre-activation.
    Flex {
        /// m -> d_out * (p + 1).
        branch: Mlp,
        /// d_y -> p.
        trunk: Mlp,
        /// m -> n_1.
        pre: Mlp,
    },
    /// Decoder on concat(beta(u), y_n).
    Nomad {
        /// m -> p.
        branch: Mlp,
        /// p + d_y -> ... -> d_out.
        decoder: Mlp,
    },
    /// theta = hyper(u) in paper order.
    Hyper {
        /// m -> n_theta.
        hyper: Mlp,
        /// Target layer sizes [d_y, n_1, ..., d_out] and activations per layer.
        target: Vec<(usize, usize, Act)>,
    },
    /// theta = concat_j hyper(concat(u, z_j)), cut to n_theta.
    Chunked {
        /// m + d_z -> chunk_size.
        hyper: Mlp,
        /// Target layers.
        target: Vec<(usize, usize, Act)>,
        /// `[n_chunks][d_z]`.
        z: Vec<Vec<f64>>,
    },
}

/// A whole model in paper form.
#[derive(Clone, Debug)]
pub struct PaperModel {
    /// Sensors m.
    pub m: usize,
    /// Query dim.
    pub d_y: usize,
    /// Output dim.
    pub d_out: usize,
    /// Basis size (deeponet/shift/flex/nomad).
    pub p: usize,
    /// Networks.
    pub nets: Nets,
    /// Sensor normalization.
    pub sensor_norm: Option<Affine>,
    /// Point normalization.
    pub point_norm: Option<Affine>,
    /// Output normalization.
    pub output_norm: Option<Affine>,
}

/// Evaluates a target MLP given theta in PAPER layout.
pub fn target_mlp(target: &[(usize, usize, Act)], theta: &[f64], y: &[f64]) -> Vec<f64> {
    let mut off = 0;
    let mut h = y.to_vec();
    for &(n_in, n_out, act) in target {
        let w = &theta[off..off + n_out * n_in];
        let b = &theta[off + n_out * n_in..off + n_out * n_in + n_out];
        off += n_out * (n_in + 1);
        h = (0..n_out)
            .map(|o| {
                let mut s = b[o];
                for i in 0..n_in {
                    s += w[o * n_in + i] * h[i];
                }
                act.apply(s)
            })
            .collect();
    }
    h
}

/// Parameter count of a target net.
pub fn n_theta(target: &[(usize, usize, Act)]) -> usize {
    target.iter().map(|&(i, o, _)| o * (i + 1)).sum()
}

impl PaperModel {
    /// The model's outputs `[n, d_out]` for one input function at points `[n, d_y]`.
    pub fn eval(&self, sensors: &[f32], points: &[f32]) -> Vec<f64> {
        let u: Vec<f64> = sensors.iter().map(|&v| v as f64).collect();
        let u = match &self.sensor_norm {
            Some(a) => a.normalize(&u),
            None => u,
        };
        let n = points.len() / self.d_y;
        let (p, d_out) = (self.p, self.d_out);
        // u-dependent quantities, once per function (they do not depend on y).
        let mut out = Vec::with_capacity(n * d_out);
        for k in 0..n {
            let y: Vec<f64> = points[k * self.d_y..(k + 1) * self.d_y]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let y = match &self.point_norm {
                Some(a) => a.normalize(&y),
                None => y,
            };
            let raw: Vec<f64> = match &self.nets {
                Nets::DeepONet { branch, trunk, b0 } => {
                    let c = mlp(branch, &u);
                    let t = mlp(trunk, &y);
                    (0..d_out)
                        .map(|j| (0..p).map(|q| c[j * p + q] * t[q]).sum::<f64>() + b0[j])
                        .collect()
                }
                Nets::Shift {
                    branch,
                    trunk,
                    b0,
                    scale,
                    shift,
                } => {
                    let c = mlp(branch, &u);
                    let s = mlp(scale, &u);
                    let sh = mlp(shift, &u);
                    let z: Vec<f64> = (0..self.d_y).map(|i| y[i] * s[i] + sh[i]).collect();
                    let t = mlp(trunk, &z);
                    (0..d_out)
                        .map(|j| (0..p).map(|q| c[j * p + q] * t[q]).sum::<f64>() + b0[j])
                        .collect()
                }
                Nets::Flex { branch, trunk, pre } => {
                    let c = mlp(branch, &u);
                    let e = mlp(pre, &u);
                    let mut t = trunk[0].apply(&y, Some(&e));
                    for l in &trunk[1..] {
                        t = l.apply(&t, None);
                    }
                    (0..d_out)
                        .map(|j| {
                            let blk = &c[j * (p + 1)..(j + 1) * (p + 1)];
                            blk[0] + (0..p).map(|q| blk[1 + q] * t[q]).sum::<f64>()
                        })
                        .collect()
                }
                Nets::Nomad { branch, decoder } => {
                    let mut x = mlp(branch, &u);
                    x.extend_from_slice(&y);
                    mlp(decoder, &x)
                }
                Nets::Hyper { hyper, target } => {
                    let theta = mlp(hyper, &u);
                    target_mlp(target, &theta, &y)
                }
                Nets::Chunked { hyper, target, z } => {
                    let mut theta = Vec::new();
                    for zj in z {
                        let mut x = u.clone();
                        x.extend_from_slice(zj);
                        theta.extend(mlp(hyper, &x));
                    }
                    theta.truncate(n_theta(target));
                    target_mlp(target, &theta, &y)
                }
            };
            let o = match &self.output_norm {
                Some(a) => a.denormalize(&raw),
                None => raw,
            };
            out.extend(o);
        }
        out
    }
}
