//! The benchmark workloads of issue 7, defined once: sizes, deterministic seeded weights in paper
//! layout, and the inputs (sensor values, query points).
//!
//! Every peer (hdon, ONNX Runtime, numpy, tract) runs exactly these numbers: the Python peers read
//! the `.npy` dump that `workloads export` writes from this module, and the hdon side builds its
//! model files from the same in-memory [`Workload`].
//!
//! Layouts (docs/EXPORT.md, docs/FORMAT.md "The six families"): a dense layer's weight is `[n_out, n_in]` row-major with a separate bias
//! `[n_out]`; a HyperDeepONet's theta is in paper layout (layer by layer, weight `[out, in]`
//! row-major, then bias `[out]`); a DeepONet's branch outputs `d_out * p` coefficients with
//! `c_{j,k}` at index `j * p + k`, plus a constant bias `b0 [d_out]`.

/// Activation of a layer in a workload (the subset the workloads use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// No activation.
    Identity,
    /// max(x, 0).
    Relu,
    /// Hyperbolic tangent.
    Tanh,
}

impl Act {
    /// Lower-case name, as in the model spec TOML and the exported `workload.json`.
    pub fn name(self) -> &'static str {
        match self {
            Act::Identity => "identity",
            Act::Relu => "relu",
            Act::Tanh => "tanh",
        }
    }
}

/// Which operator network a workload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// HyperDeepONet: `hyper` (m -> ... -> N_theta) generates every parameter of the target net.
    Hyper,
    /// DeepONet: `branch` (m -> ... -> d_out * p) and `trunk` (d_y -> ... -> p, last layer
    /// activated), `out_j = sum_k c_{j,k} t_k(y) + b0_j`.
    DeepONet,
}

impl Family {
    /// Family name as in the model spec TOML (`hyper`, `deeponet`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Hyper => "hyper",
            Family::DeepONet => "deeponet",
        }
    }
}

/// Which weights the generate-side network (hyper / branch) uses in a benchmark run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightType {
    /// f32 weights, as generated.
    F32,
    /// int8, symmetric per output row (the export tool's quantization).
    I8,
    /// The same int8 values in the blocked layout (`--dtype int8-blocked`): same results.
    I8Blocked,
    /// f32 weights, HyperDeepONet in theta layout 2 (`--theta-layout folded`): the
    /// normalization and folded-tanh rewrites done at export, none per generate. Other
    /// families have no theta to fold ([`WeightType::applies_to`]).
    F32Folded,
    /// f32 weights with rows padded to 64 bytes (`--dtype f32-padded`): same results as `F32`.
    F32Padded,
    /// `F32Folded` with rows padded to 64 bytes (`--dtype f32-padded --theta-layout folded`).
    F32PaddedFolded,
}

impl WeightType {
    /// Every weight type, in table order.
    pub const ALL: [WeightType; 6] = [
        WeightType::F32,
        WeightType::I8,
        WeightType::I8Blocked,
        WeightType::F32Folded,
        WeightType::F32Padded,
        WeightType::F32PaddedFolded,
    ];

    /// Short name used in tables and benchmark ids (`f32`, `int8`, `int8b`, `f32fold`,
    /// `f32pad`, `f32padfold`).
    pub fn name(self) -> &'static str {
        match self {
            WeightType::F32 => "f32",
            WeightType::I8 => "int8",
            WeightType::I8Blocked => "int8b",
            WeightType::F32Folded => "f32fold",
            WeightType::F32Padded => "f32pad",
            WeightType::F32PaddedFolded => "f32padfold",
        }
    }

    /// Whether this weight type makes a file of its own for `family` (the folded layout is
    /// HyperDeepONet's only: elsewhere it would measure the f32 file again).
    pub fn applies_to(self, family: Family) -> bool {
        let folded = matches!(self, WeightType::F32Folded | WeightType::F32PaddedFolded);
        !folded || family == Family::Hyper
    }
}

/// The sizes of one workload; [`Spec::build`] makes the weights and inputs.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Short name: `S`, `L`, `B`, `D`, `burgers-hyper`, ...
    pub name: &'static str,
    /// One line saying what it is and where the sizes come from.
    pub about: &'static str,
    /// HyperDeepONet or DeepONet.
    pub family: Family,
    /// Number of sensors m.
    pub m: usize,
    /// Query point dimension d_y.
    pub d_y: usize,
    /// Hidden widths of the generate-side network (hyper or branch); its input is m, its output
    /// N_theta (hyper) or d_out * p (branch).
    pub generate_hidden: &'static [usize],
    /// Hidden activation of the generate-side network (its output layer is identity).
    pub generate_act: Act,
    /// Target-side layer sizes: the target net `[d_y, n_1, ..., d_out]` (hyper) or the trunk
    /// `[d_y, n_1, ..., p]` (deeponet).
    pub target_sizes: &'static [usize],
    /// Hidden activation of the target net / trunk. The hyper target's last layer is identity;
    /// the trunk's last layer is activated too (DeepONet).
    pub target_act: Act,
    /// Output dimension d_out (the deeponet sum's width; the hyper target's last size).
    pub d_out: usize,
    /// Number of input functions evaluated together (1 except for `B`).
    pub batch: usize,
    /// Query points per input function.
    pub n_points: usize,
    /// Seed of the deterministic weights and inputs.
    pub seed: u64,
}

/// Every workload, in table order: issue 7's S, L, B, D, then the paper's PDE models (PAPER.md)
/// at 1,000 points. The paper's parameter counts fit m = 128 (Burgers) and m = 40 (advection).
pub const SPECS: &[Spec] = &[
    Spec {
        name: "S",
        about: "HyperDeepONet, m=100, hyper 100-100-100-100 (ReLU) -> theta, target 2-20-20-20-1 (tanh), 10,000 points",
        family: Family::Hyper,
        m: 100,
        d_y: 2,
        generate_hidden: &[100, 100, 100],
        generate_act: Act::Relu,
        target_sizes: &[2, 20, 20, 20, 1],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 10_000,
        seed: 0x5001,
    },
    Spec {
        name: "L",
        about: "HyperDeepONet, m=256, hyper 256x3 (ReLU) -> theta, target 2-64-64-64-1 (tanh), 100,000 points",
        family: Family::Hyper,
        m: 256,
        d_y: 2,
        generate_hidden: &[256, 256, 256],
        generate_act: Act::Relu,
        target_sizes: &[2, 64, 64, 64, 1],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 100_000,
        seed: 0x5002,
    },
    Spec {
        name: "B",
        about: "S with 64 input functions, 1,000 points each (one shared point grid)",
        family: Family::Hyper,
        m: 100,
        d_y: 2,
        generate_hidden: &[100, 100, 100],
        generate_act: Act::Relu,
        target_sizes: &[2, 20, 20, 20, 1],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 64,
        n_points: 1_000,
        seed: 0x5003,
    },
    Spec {
        name: "D",
        about: "DeepONet, branch 100-100-100-100 (ReLU) -> p=100, trunk 2-100-100-100-100 (tanh), 10,000 points",
        family: Family::DeepONet,
        m: 100,
        d_y: 2,
        generate_hidden: &[100, 100, 100],
        generate_act: Act::Relu,
        target_sizes: &[2, 100, 100, 100, 100],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 10_000,
        seed: 0x5004,
    },
    Spec {
        name: "burgers-hyper",
        about: "paper Burgers HyperDeepONet: hyper 128-66x5-N_theta (tanh), target 1-20x4-1 (tanh), 114K params, 1,000 points",
        family: Family::Hyper,
        m: 128,
        d_y: 1,
        generate_hidden: &[66, 66, 66, 66, 66],
        generate_act: Act::Tanh,
        target_sizes: &[1, 20, 20, 20, 20, 1],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 1_000,
        seed: 0x5005,
    },
    Spec {
        name: "burgers-deeponet",
        about: "paper Burgers DeepONet: branch 128-128x4 (tanh), trunk 1-128x4 (tanh), p=128, 115K params, 1,000 points",
        family: Family::DeepONet,
        m: 128,
        d_y: 1,
        generate_hidden: &[128, 128, 128],
        generate_act: Act::Tanh,
        target_sizes: &[1, 128, 128, 128, 128],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 1_000,
        seed: 0x5006,
    },
    Spec {
        name: "advection-hyper",
        about: "paper advection HyperDeepONet: hyper 40-70x5-N_theta (tanh), target 1-33x4-1 (tanh), 268K params, 1,000 points",
        family: Family::Hyper,
        m: 40,
        d_y: 1,
        generate_hidden: &[70, 70, 70, 70, 70],
        generate_act: Act::Tanh,
        target_sizes: &[1, 33, 33, 33, 33, 1],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 1_000,
        seed: 0x5007,
    },
    Spec {
        name: "advection-deeponet",
        about: "paper advection DeepONet: branch 40-256-256 (tanh), trunk 1-256x4 (tanh), p=256, 274K params, 1,000 points",
        family: Family::DeepONet,
        m: 40,
        d_y: 1,
        generate_hidden: &[256],
        generate_act: Act::Tanh,
        target_sizes: &[1, 256, 256, 256, 256],
        target_act: Act::Tanh,
        d_out: 1,
        batch: 1,
        n_points: 1_000,
        seed: 0x5008,
    },
];

/// The workload named `name` (exact match), if any.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// One dense layer: `y = act(W x + b)`.
#[derive(Clone, Debug)]
pub struct Dense {
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// Activation applied after the bias.
    pub act: Act,
    /// `[n_out, n_in]` row-major.
    pub weight: Vec<f32>,
    /// `[n_out]`.
    pub bias: Vec<f32>,
}

/// Layer sizes and activations of one MLP, without weights (the hyper target net).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerShape {
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// Activation applied after the bias.
    pub act: Act,
}

/// A workload with its weights and inputs, ready to run.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The sizes this was built from.
    pub spec: Spec,
    /// The generate-side network: `hyper` (m -> ... -> N_theta) or `branch` (m -> ... -> d_out*p).
    pub generate: Vec<Dense>,
    /// DeepONet's trunk (d_y -> ... -> p, every layer activated); empty for HyperDeepONet.
    pub trunk: Vec<Dense>,
    /// DeepONet's constant output bias `[d_out]`; empty for HyperDeepONet.
    pub b0: Vec<f32>,
    /// Sensor values `[batch, m]` row-major.
    pub sensors: Vec<f32>,
    /// Query points `[n_points, d_y]` row-major, shared by every input function of the batch,
    /// uniform in `[0, 1)^d_y`.
    pub points: Vec<f32>,
    /// Sensor locations `[m]`: `linspace(0, 1, m)`.
    pub sensor_x: Vec<f32>,
}

impl Spec {
    /// Role name of the generate-side network: `hyper` or `branch`.
    pub fn generate_role(&self) -> &'static str {
        match self.family {
            Family::Hyper => "hyper",
            Family::DeepONet => "branch",
        }
    }

    /// Basis size p (deeponet: the trunk's output width), 0 for HyperDeepONet.
    pub fn p(&self) -> usize {
        match self.family {
            Family::Hyper => 0,
            Family::DeepONet => *self.target_sizes.last().expect("trunk has layers"),
        }
    }

    /// Layers of the target-side MLP as the eval phase runs it: the hyper target net, or the
    /// trunk followed by the combination layer `p -> d_out` (identity).
    pub fn target_layers(&self) -> Vec<LayerShape> {
        let sizes = self.target_sizes;
        let last = sizes.len() - 2;
        let mut layers: Vec<LayerShape> = (0..sizes.len() - 1)
            .map(|i| LayerShape {
                n_in: sizes[i],
                n_out: sizes[i + 1],
                act: if i == last && self.family == Family::Hyper {
                    Act::Identity
                } else {
                    self.target_act
                },
            })
            .collect();
        if self.family == Family::DeepONet {
            layers.push(LayerShape {
                n_in: self.p(),
                n_out: self.d_out,
                act: Act::Identity,
            });
        }
        layers
    }

    /// Parameter count of the hyper target net, N_theta = sum of n_out * (n_in + 1); 0 for
    /// DeepONet.
    pub fn n_theta(&self) -> usize {
        match self.family {
            Family::Hyper => self
                .target_layers()
                .iter()
                .map(|l| l.n_out * (l.n_in + 1))
                .sum(),
            Family::DeepONet => 0,
        }
    }

    /// Layer sizes of the generate-side network `[m, hidden..., out]`, out = N_theta (hyper) or
    /// d_out * p (branch).
    pub fn generate_sizes(&self) -> Vec<usize> {
        let out = match self.family {
            Family::Hyper => self.n_theta(),
            Family::DeepONet => self.d_out * self.p(),
        };
        let mut sizes = vec![self.m];
        sizes.extend_from_slice(self.generate_hidden);
        sizes.push(out);
        sizes
    }

    /// Flops of one generate (one input function): 2 per multiply-add plus one per bias add,
    /// activations not counted.
    pub fn flops_generate(&self) -> u64 {
        let s = self.generate_sizes();
        s.windows(2).map(|w| (2 * w[0] * w[1] + w[1]) as u64).sum()
    }

    /// Flops of eval per query point (same counting as [`Spec::flops_generate`]).
    pub fn flops_per_point(&self) -> u64 {
        self.target_layers()
            .iter()
            .map(|l| (2 * l.n_in * l.n_out + l.n_out) as u64)
            .sum()
    }

    /// Total parameter count of the trained model (generate side + trunk + b0).
    pub fn params(&self) -> usize {
        let dense = |s: &[usize]| -> usize { s.windows(2).map(|w| w[1] * (w[0] + 1)).sum() };
        let mut n = dense(&self.generate_sizes());
        if self.family == Family::DeepONet {
            n += dense(self.target_sizes) + self.d_out;
        }
        n
    }

    /// The model spec TOML (docs/EXPORT.md) that `hdon export` reads for this workload, with a
    /// checkpoint in preset `hdon`, layout `out_in` (the slot names of the `.npy` dump).
    pub fn spec_toml(&self) -> String {
        let list = |v: &[usize]| {
            let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            format!("[{}]", items.join(", "))
        };
        let zeros = vec!["0.0"; self.d_y].join(", ");
        let ones = vec!["1.0"; self.d_y].join(", ");
        let mut t = format!(
            "[model]\nname = \"bench-{name}\"\nfamily = \"{family}\"\nd_y = {d_y}\nd_out = {d_out}\n\
             layout = \"out_in\"\npreset = \"hdon\"\n",
            name = self.name,
            family = self.family.name(),
            d_y = self.d_y,
            d_out = self.d_out,
        );
        if self.family == Family::DeepONet {
            t += &format!("p = {}\nb0 = true\n", self.p());
        }
        t += &format!(
            "\n[sensors]\nlinspace = {{ start = 0.0, stop = 1.0, num = {m} }}\n\n\
             [domain]\nlower = [{zeros}]\nupper = [{ones}]\n\n\
             [networks.{role}]\nsizes = {sizes}\nactivation = \"{act}\"\noutput_activation = \"identity\"\n\n",
            m = self.m,
            role = self.generate_role(),
            sizes = list(&self.generate_sizes()),
            act = self.generate_act.name(),
        );
        let (section, out_act) = match self.family {
            Family::Hyper => ("target", "identity"),
            Family::DeepONet => ("networks.trunk", self.target_act.name()),
        };
        t += &format!(
            "[{section}]\nsizes = {sizes}\nactivation = \"{act}\"\noutput_activation = \"{out_act}\"\n\n\
             [provenance]\nframework = \"hdon-benches (seeded random weights, seed {seed:#x})\"\n\
             dataset = \"synthetic benchmark workload {name}: {about}\"\n",
            sizes = list(self.target_sizes),
            act = self.target_act.name(),
            seed = self.seed,
            name = self.name,
            about = self.about,
        );
        t
    }

    /// Builds the weights and inputs from the seed (deterministic: same spec, same numbers).
    ///
    /// Weights and biases are uniform in `[-1/sqrt(n_in), 1/sqrt(n_in))` (PyTorch's nn.Linear
    /// default), the hyper net's last layer times [`HYPER_OUTPUT_GAIN`]; sensor values are smooth random functions (a few sines) sampled at
    /// `linspace(0, 1, m)`; query points are uniform in `[0, 1)^d_y`.
    pub fn build(&self) -> Workload {
        let mut rng = SplitMix64::new(self.seed);
        let gen_sizes = self.generate_sizes();
        let n_gen = gen_sizes.len() - 1;
        let mut generate = dense_stack(&mut rng, &gen_sizes, |i| {
            if i + 1 == n_gen {
                Act::Identity
            } else {
                self.generate_act
            }
        });
        if self.family == Family::Hyper {
            // With the default init theta's std is ~0.06 and the target net is nearly constant
            // over the domain, which makes output comparisons weak; a gain of 5 gives theta a
            // std of ~0.3 (like a trained target net) and outputs that vary with y.
            let last = generate.last_mut().expect("hyper has layers");
            last.weight.iter_mut().for_each(|v| *v *= HYPER_OUTPUT_GAIN);
            last.bias.iter_mut().for_each(|v| *v *= HYPER_OUTPUT_GAIN);
        }
        let (trunk, b0) = match self.family {
            Family::Hyper => (Vec::new(), Vec::new()),
            Family::DeepONet => {
                let trunk = dense_stack(&mut rng, self.target_sizes, |_| self.target_act);
                let b0 = (0..self.d_out).map(|_| 0.1 * rng.next_sym()).collect();
                (trunk, b0)
            }
        };
        let sensor_x: Vec<f32> = (0..self.m)
            .map(|i| {
                if self.m == 1 {
                    0.0
                } else {
                    i as f32 / (self.m - 1) as f32
                }
            })
            .collect();
        let mut sensors = Vec::with_capacity(self.batch * self.m);
        for _ in 0..self.batch {
            let amp: [f32; 3] = [rng.next_sym(), 0.5 * rng.next_sym(), 0.25 * rng.next_sym()];
            let phase: [f32; 3] = [rng.next_sym(), rng.next_sym(), rng.next_sym()];
            for &x in &sensor_x {
                let mut u = 0.0f32;
                for k in 0..3 {
                    let freq = (k + 1) as f32 * core::f32::consts::PI;
                    u += amp[k] * (freq * x + 3.0 * phase[k]).sin();
                }
                sensors.push(u);
            }
        }
        let points = (0..self.n_points * self.d_y)
            .map(|_| 0.5 * (rng.next_sym() + 1.0))
            .collect();
        Workload {
            spec: *self,
            generate,
            trunk,
            b0,
            sensors,
            points,
            sensor_x,
        }
    }
}

/// Factor on the hyper net's last layer (weights and bias), see [`Spec::build`].
pub const HYPER_OUTPUT_GAIN: f32 = 5.0;

fn dense_stack(rng: &mut SplitMix64, sizes: &[usize], act: impl Fn(usize) -> Act) -> Vec<Dense> {
    (0..sizes.len() - 1)
        .map(|i| {
            let (n_in, n_out) = (sizes[i], sizes[i + 1]);
            let bound = 1.0 / (n_in as f32).sqrt();
            let weight = (0..n_out * n_in).map(|_| bound * rng.next_sym()).collect();
            let bias = (0..n_out).map(|_| bound * rng.next_sym()).collect();
            Dense {
                n_in,
                n_out,
                act: act(i),
                weight,
                bias,
            }
        })
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, and identical on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`, a multiple of 2^-23.
    pub fn next_sym(&mut self) -> f32 {
        let u = (self.next_u64() >> 40) as u32; // 24 bits
        (u as f32) * (1.0 / (1u32 << 23) as f32) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_parameter_counts_match_paper_md() {
        // PAPER.md: Burgers 115K / 114K, advection 274K / 268K.
        let k = |name: &str| spec(name).unwrap().params() / 1000;
        assert_eq!(k("burgers-deeponet"), 115);
        assert_eq!(k("burgers-hyper"), 114);
        assert_eq!(k("advection-deeponet"), 274);
        assert_eq!(k("advection-hyper"), 268);
    }

    #[test]
    fn sizes_and_flops_of_s() {
        let s = spec("S").unwrap();
        // target 2-20-20-20-1: 20*3 + 20*21*2 + 21 = 921
        assert_eq!(s.n_theta(), 921);
        assert_eq!(s.generate_sizes(), vec![100, 100, 100, 100, 921]);
        // per point: (2*2*20+20) + 2*(2*20*20+20) + (2*20+1)
        assert_eq!(s.flops_per_point(), 100 + 1640 + 41);
        let d = spec("D").unwrap();
        assert_eq!(d.p(), 100);
        assert_eq!(d.target_layers().last().unwrap().n_in, 100);
        assert_eq!(d.generate_sizes().last(), Some(&100));
    }

    #[test]
    fn build_is_deterministic_and_shaped() {
        for s in SPECS.iter().filter(|s| s.n_points <= 10_000) {
            let a = s.build();
            let b = s.build();
            assert_eq!(a.sensors, b.sensors, "{}", s.name);
            assert_eq!(a.generate[0].weight, b.generate[0].weight, "{}", s.name);
            assert_eq!(a.sensors.len(), s.batch * s.m);
            assert_eq!(a.points.len(), s.n_points * s.d_y);
            assert!(a.points.iter().all(|&p| (0.0..1.0).contains(&p)));
            let last = a.generate.last().unwrap();
            assert_eq!(last.n_out, *s.generate_sizes().last().unwrap());
            assert_eq!(last.act, Act::Identity);
        }
    }

    #[test]
    fn spec_toml_names_the_sizes() {
        for s in SPECS {
            let v: toml::Value = toml::from_str(&s.spec_toml()).expect("valid TOML");
            let sizes = |t: &toml::Value| -> Vec<usize> {
                t["sizes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_integer().unwrap() as usize)
                    .collect()
            };
            let nets = &v["networks"];
            assert_eq!(
                sizes(&nets[s.generate_role()]),
                s.generate_sizes(),
                "{}",
                s.name
            );
            let target = match s.family {
                Family::Hyper => &v["target"],
                Family::DeepONet => &nets["trunk"],
            };
            assert_eq!(sizes(target), s.target_sizes, "{}", s.name);
            assert_eq!(v["model"]["family"].as_str(), Some(s.family.name()));
            assert_eq!(
                v["sensors"]["linspace"]["num"].as_integer(),
                Some(s.m as i64)
            );
        }
    }
}
