//! Random models in paper form, for tests: a tiny deterministic RNG and a generator of
//! [`PaperModel`]s with given sizes, activations and weight dtype (the returned weights are
//! already rounded through that dtype, so the reference sees exactly what the file stores).

use crate::reference::{Act, Affine, Dense, Mlp, Nets, PaperModel};

/// splitmix64: deterministic, good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * x
    }
    /// Uniform integer in [lo, hi].
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// `n` f32 values uniform in [lo, hi).
    pub fn vec_f32(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi) as f32).collect()
    }
}

/// Storage type of the generate-side weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightType {
    /// f32.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
    /// Symmetric per-row int8.
    I8,
}

/// Per-row symmetric int8 quantization: `(values, scales)`.
pub fn quantize_i8(w: &[f32], rows: usize, cols: usize) -> (Vec<i8>, Vec<f32>) {
    let mut values = vec![0i8; rows * cols];
    let mut scales = vec![0f32; rows];
    for o in 0..rows {
        let row = &w[o * cols..(o + 1) * cols];
        let max = row.iter().fold(0f32, |a, v| a.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales[o] = scale;
        for i in 0..cols {
            values[o * cols + i] = (row[i] / scale).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (values, scales)
}

/// Rounds weights through a storage type (what the runtime will read back).
pub fn round_through(w: &[f32], rows: usize, cols: usize, t: WeightType) -> Vec<f32> {
    match t {
        WeightType::F32 => w.to_vec(),
        WeightType::F16 => w.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect(),
        WeightType::Bf16 => w
            .iter()
            .map(|&v| half::bf16::from_f32(v).to_f32())
            .collect(),
        WeightType::I8 => {
            let (q, s) = quantize_i8(w, rows, cols);
            (0..rows * cols)
                .map(|k| s[k / cols] * q[k] as f32)
                .collect()
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Family name: deeponet shift flex nomad hyper chunked_hyper.
    pub family: &'static str,
    /// Sensors.
    pub m: usize,
    /// Query dimension.
    pub d_y: usize,
    /// Output dimension.
    pub d_out: usize,
    /// Basis size (DeepONet-like, NOMAD).
    pub p: usize,
    /// Hidden widths of generate-side nets.
    pub gen_hidden: Vec<usize>,
    /// Hidden widths of the target/trunk/decoder net.
    pub target_hidden: Vec<usize>,
    /// Activation of generate-side hidden layers.
    pub gen_act: Act,
    /// Activations of target hidden layers (cycled).
    pub target_acts: Vec<Act>,
    /// Generate-side weight storage.
    pub weights: WeightType,
    /// Include sensor/point/output normalization.
    pub norms: bool,
    /// DeepONet/Shift: nonzero b0.
    pub b0: bool,
    /// Chunked: number of chunks and embedding dimension; chunk_size is derived.
    pub n_chunks: usize,
    /// Chunked: embedding dimension.
    pub d_z: usize,
    /// Seed.
    pub seed: u64,
}

impl Spec {
    /// A small default for `family`.
    pub fn small(family: &'static str) -> Spec {
        Spec {
            family,
            m: 12,
            d_y: 2,
            d_out: 2,
            p: 6,
            gen_hidden: vec![10, 9],
            target_hidden: vec![7, 5],
            gen_act: Act::Tanh,
            target_acts: vec![Act::Tanh],
            weights: WeightType::F32,
            norms: true,
            b0: true,
            n_chunks: 4,
            d_z: 3,
            seed: 1,
        }
    }
}

fn dense(rng: &mut Rng, n_in: usize, n_out: usize, act: Act, t: WeightType, gain: f64) -> Dense {
    let a = gain * (3.0 / n_in as f64).sqrt();
    let w = rng.vec_f32(n_out * n_in, -a, a);
    let w = round_through(&w, n_out, n_in, t);
    let b = rng.vec_f32(n_out, -0.3, 0.3);
    Dense {
        n_in,
        n_out,
        w: w.iter().map(|&v| v as f64).collect(),
        b: b.iter().map(|&v| v as f64).collect(),
        act,
    }
}

/// An MLP `sizes[0] -> ... -> sizes[last]`, hidden activation `act`, last `last_act`.
pub fn random_mlp(
    rng: &mut Rng,
    sizes: &[usize],
    act: Act,
    last_act: Act,
    t: WeightType,
    gain: f64,
) -> Mlp {
    let k = sizes.len() - 1;
    (0..k)
        .map(|i| {
            let a = if i + 1 == k { last_act } else { act };
            dense(rng, sizes[i], sizes[i + 1], a, t, gain)
        })
        .collect()
}

fn sizes(first: usize, hidden: &[usize], last: usize) -> Vec<usize> {
    let mut s = vec![first];
    s.extend_from_slice(hidden);
    s.push(last);
    s
}

/// A target/trunk/decoder net with the spec's activations cycled over its layers; the last
/// layer gets `last_act`.
fn target_net(rng: &mut Rng, spec: &Spec, d_in: usize, d_out: usize, last_act: Act) -> Mlp {
    let s = sizes(d_in, &spec.target_hidden, d_out);
    let k = s.len() - 1;
    (0..k)
        .map(|i| {
            let a = if i + 1 == k {
                last_act
            } else {
                spec.target_acts[i % spec.target_acts.len()]
            };
            dense(rng, s[i], s[i + 1], a, WeightType::F32, 1.0)
        })
        .collect()
}

/// Target layer table `[(n_in, n_out, act)]` for hyper families.
pub fn target_table(spec: &Spec) -> Vec<(usize, usize, Act)> {
    let s = sizes(spec.d_y, &spec.target_hidden, spec.d_out);
    let k = s.len() - 1;
    (0..k)
        .map(|i| {
            let a = if i + 1 == k {
                Act::Identity
            } else {
                spec.target_acts[i % spec.target_acts.len()]
            };
            (s[i], s[i + 1], a)
        })
        .collect()
}

/// Generates a random model in paper form.
pub fn random_model(spec: &Spec) -> PaperModel {
    let mut rng = Rng(spec.seed);
    let (m, d_y, d_out, p) = (spec.m, spec.d_y, spec.d_out, spec.p);
    let t = spec.weights;
    let g = spec.gen_act;
    let gen = |rng: &mut Rng, n_in: usize, n_out: usize, last: Act, gain: f64| {
        random_mlp(rng, &sizes(n_in, &spec.gen_hidden, n_out), g, last, t, gain)
    };
    let b0 = |rng: &mut Rng| -> Vec<f64> {
        if spec.b0 {
            (0..d_out)
                .map(|_| rng.uniform(-0.5, 0.5))
                .map(|v| v as f32 as f64)
                .collect()
        } else {
            vec![0.0; d_out]
        }
    };
    let nets = match spec.family {
        "deeponet" => Nets::DeepONet {
            branch: gen(&mut rng, m, d_out * p, Act::Identity, 1.0),
            trunk: target_net(&mut rng, spec, d_y, p, spec.target_acts[0]),
            b0: b0(&mut rng),
        },
        "shift" => Nets::Shift {
            branch: gen(&mut rng, m, d_out * p, Act::Identity, 1.0),
            trunk: target_net(&mut rng, spec, d_y, p, spec.target_acts[0]),
            b0: b0(&mut rng),
            scale: gen(&mut rng, m, d_y, Act::Identity, 0.5),
            shift: gen(&mut rng, m, d_y, Act::Identity, 0.5),
        },
        "flex" => {
            let trunk = target_net(&mut rng, spec, d_y, p, spec.target_acts[0]);
            let n1 = trunk[0].n_out;
            Nets::Flex {
                branch: gen(&mut rng, m, d_out * (p + 1), Act::Identity, 1.0),
                trunk,
                pre: gen(&mut rng, m, n1, Act::Identity, 0.5),
            }
        }
        "nomad" => Nets::Nomad {
            branch: gen(&mut rng, m, p, Act::Identity, 1.0),
            decoder: target_net(&mut rng, spec, p + d_y, d_out, Act::Identity),
        },
        "hyper" => {
            let target = target_table(spec);
            let nt = crate::reference::n_theta(&target);
            Nets::Hyper {
                hyper: gen(&mut rng, m, nt, Act::Identity, 1.0),
                target,
            }
        }
        "chunked_hyper" => {
            let target = target_table(spec);
            let nt = crate::reference::n_theta(&target);
            let chunk = nt.div_ceil(spec.n_chunks);
            let z = (0..spec.n_chunks)
                .map(|_| {
                    (0..spec.d_z)
                        .map(|_| rng.uniform(-1.0, 1.0) as f32 as f64)
                        .collect()
                })
                .collect();
            Nets::Chunked {
                hyper: gen(&mut rng, m + spec.d_z, chunk, Act::Identity, 1.0),
                target,
                z,
            }
        }
        other => panic!("unknown family {other}"),
    };
    let norm = |rng: &mut Rng, n: usize| -> Affine {
        Affine {
            mean: (0..n)
                .map(|_| rng.uniform(-0.5, 0.5) as f32 as f64)
                .collect(),
            std: (0..n)
                .map(|_| rng.uniform(0.5, 2.0) as f32 as f64)
                .collect(),
        }
    };
    let (sensor_norm, point_norm, output_norm) = if spec.norms {
        let sn = if rng.next_u64().is_multiple_of(2) {
            1
        } else {
            m
        };
        (
            Some(norm(&mut rng, sn)),
            Some(norm(&mut rng, d_y)),
            Some(norm(&mut rng, d_out)),
        )
    } else {
        (None, None, None)
    };
    PaperModel {
        m,
        d_y,
        d_out,
        p,
        nets,
        sensor_norm,
        point_norm,
        output_norm,
    }
}
