//! The enums a file stores as `u32` codes: dtypes, families, network roles, activations.
//!
//! Every enum has `code()` (the value written to the file) and `from_code()` (the parser's
//! decoder, `None` for a code this version does not know). The codes are part of the format:
//! they never change meaning; new values may be added in a minor version.

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE-754 binary32. File code 0.
    F32,
    /// IEEE-754 binary16 (`half::f16`). File code 1.
    F16,
    /// bfloat16 (`half::bf16`). File code 2.
    Bf16,
    /// Symmetric int8, values in [-127, 127], with one f32 scale per row (first dimension).
    /// File code 3.
    I8,
    /// int8 as [`DType::I8`] (same values and per-row scales), stored in the blocked layout of
    /// 16 rows x 4 columns per 64 bytes (see [`i8_blocked_len`]); 2-D tensors only. File code 4.
    I8Blocked,
    /// f32 as [`DType::F32`], with every row padded to [`f32_padded_lda`] values (a multiple of
    /// 16) so that each row starts on a 64-byte boundary; 2-D tensors only. File code 5.
    F32Padded,
}

/// Bytes of a `[rows, cols]` tensor of dtype [`DType::I8Blocked`]: rows padded to a multiple of
/// 16, columns to a multiple of 4 (`None` on overflow). Block `rb` (rows `16 rb ..`), column
/// group `g` (columns `4 g ..`) is the 64 bytes at `(rb * ceil(cols / 4) + g) * 64`, and
/// `W[16 rb + r, 4 g + c]` is byte `4 r + c` of it; padding is zero. The same layout as
/// `hdon_kernels::i8_blocked_index`.
pub const fn i8_blocked_len(rows: u64, cols: u64) -> Option<u64> {
    match (
        rows.checked_next_multiple_of(16),
        cols.checked_next_multiple_of(4),
    ) {
        (Some(r), Some(c)) => r.checked_mul(c),
        _ => None,
    }
}

/// Row stride, in f32 values, of a `[rows, cols]` tensor of dtype [`DType::F32Padded`]: `cols`
/// rounded up to a multiple of 16 (`None` on overflow), so every row starts on a 64-byte
/// boundary. `W[r, c]` is value `r * lda + c`; columns `cols..lda` are padding (zero as
/// written, never read), and the tensor stores `4 * rows * lda` bytes.
pub const fn f32_padded_lda(cols: u64) -> Option<u64> {
    cols.checked_next_multiple_of(16)
}

impl DType {
    /// The file code.
    pub const fn code(self) -> u32 {
        match self {
            DType::F32 => 0,
            DType::F16 => 1,
            DType::Bf16 => 2,
            DType::I8 => 3,
            DType::I8Blocked => 4,
            DType::F32Padded => 5,
        }
    }

    /// Decodes a file code; `None` when unknown.
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(DType::F32),
            1 => Some(DType::F16),
            2 => Some(DType::Bf16),
            3 => Some(DType::I8),
            4 => Some(DType::I8Blocked),
            5 => Some(DType::F32Padded),
            _ => None,
        }
    }

    /// Size of one element in bytes (the scales of int8 tensors are not counted; blocked
    /// int8 and padded f32 also store zero padding, see [`i8_blocked_len`] and
    /// [`f32_padded_lda`]).
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::F32Padded => 4,
            DType::F16 | DType::Bf16 => 2,
            DType::I8 | DType::I8Blocked => 1,
        }
    }

    /// Lower-case name as used in messages and specs: `f32`, `f16`, `bf16`, `i8`,
    /// `i8-blocked`, `f32-padded`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::I8 => "i8",
            DType::I8Blocked => "i8-blocked",
            DType::F32Padded => "f32-padded",
        }
    }
}

impl core::fmt::Display for DType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The operator-network family of a model (see PAPER.md and docs/FORMAT.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// DeepONet: `branch` + `trunk`. File code 0.
    DeepONet,
    /// Shift-DeepONet: DeepONet + `scale` + `shift`. File code 1.
    ShiftDeepONet,
    /// Flex-DeepONet: DeepONet + `pre`. File code 2.
    FlexDeepONet,
    /// NOMAD: `branch` (latent code) + `decoder`. File code 3.
    Nomad,
    /// HyperDeepONet: `hyper` generates the whole target net. File code 4.
    HyperDeepONet,
    /// Chunked HyperDeepONet: `hyper` generates theta in chunks from chunk embeddings. File code 5.
    ChunkedHyperDeepONet,
}

impl Family {
    /// The file code.
    pub const fn code(self) -> u32 {
        match self {
            Family::DeepONet => 0,
            Family::ShiftDeepONet => 1,
            Family::FlexDeepONet => 2,
            Family::Nomad => 3,
            Family::HyperDeepONet => 4,
            Family::ChunkedHyperDeepONet => 5,
        }
    }

    /// Decodes a file code; `None` when unknown.
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Family::DeepONet),
            1 => Some(Family::ShiftDeepONet),
            2 => Some(Family::FlexDeepONet),
            3 => Some(Family::Nomad),
            4 => Some(Family::HyperDeepONet),
            5 => Some(Family::ChunkedHyperDeepONet),
            _ => None,
        }
    }

    /// The name used in specs and messages: `deeponet`, `shift`, `flex`, `nomad`, `hyper`,
    /// `chunked_hyper`.
    pub const fn name(self) -> &'static str {
        match self {
            Family::DeepONet => "deeponet",
            Family::ShiftDeepONet => "shift",
            Family::FlexDeepONet => "flex",
            Family::Nomad => "nomad",
            Family::HyperDeepONet => "hyper",
            Family::ChunkedHyperDeepONet => "chunked_hyper",
        }
    }

    /// The network roles this family stores, each exactly once.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Family::DeepONet => &[Role::Branch, Role::Trunk],
            Family::ShiftDeepONet => &[Role::Branch, Role::Trunk, Role::Scale, Role::Shift],
            Family::FlexDeepONet => &[Role::Branch, Role::Trunk, Role::Pre],
            Family::Nomad => &[Role::Branch, Role::Decoder],
            Family::HyperDeepONet | Family::ChunkedHyperDeepONet => &[Role::Hyper],
        }
    }

    /// True for the families whose target net is generated whole (`hyper`, `chunked_hyper`):
    /// they have a target-layer table and `n_theta`; the others have `p`.
    pub const fn is_hyper(self) -> bool {
        matches!(self, Family::HyperDeepONet | Family::ChunkedHyperDeepONet)
    }
}

impl core::fmt::Display for Family {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The role of a network inside a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Branch net (generate side). File code 0.
    Branch,
    /// Trunk net (target side, packed layers). File code 1.
    Trunk,
    /// Hypernetwork (generate side). File code 2.
    Hyper,
    /// Shift-DeepONet scale net (generate side). File code 3.
    Scale,
    /// Shift-DeepONet shift net (generate side). File code 4.
    Shift,
    /// Flex-DeepONet pre-net (generate side). File code 5.
    Pre,
    /// NOMAD decoder (target side, packed layers). File code 6.
    Decoder,
}

impl Role {
    /// The file code.
    pub const fn code(self) -> u32 {
        match self {
            Role::Branch => 0,
            Role::Trunk => 1,
            Role::Hyper => 2,
            Role::Scale => 3,
            Role::Shift => 4,
            Role::Pre => 5,
            Role::Decoder => 6,
        }
    }

    /// Decodes a file code; `None` when unknown.
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Role::Branch),
            1 => Some(Role::Trunk),
            2 => Some(Role::Hyper),
            3 => Some(Role::Scale),
            4 => Some(Role::Shift),
            5 => Some(Role::Pre),
            6 => Some(Role::Decoder),
            _ => None,
        }
    }

    /// The slot-name prefix: `branch`, `trunk`, `hyper`, `scale`, `shift`, `pre`, `decoder`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Branch => "branch",
            Role::Trunk => "trunk",
            Role::Hyper => "hyper",
            Role::Scale => "scale",
            Role::Shift => "shift",
            Role::Pre => "pre",
            Role::Decoder => "decoder",
        }
    }

    /// True for target-side networks (trunk, decoder): their layers are packed f32 blocks
    /// `[n_out, n_in + 1]` in kernel layout with no separate bias.
    pub const fn is_target_side(self) -> bool {
        matches!(self, Role::Trunk | Role::Decoder)
    }
}

impl core::fmt::Display for Role {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Activation applied after a layer's affine map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// x. File code 0.
    Identity,
    /// max(x, 0). File code 1.
    Relu,
    /// x if x >= 0 else slope * x. File code 2; the slope is stored next to the code.
    Prelu(f32),
    /// tanh(x). File code 3.
    Tanh,
    /// 1 / (1 + exp(-x)). File code 4.
    Sigmoid,
    /// sin(x). File code 5.
    Sin,
    /// GELU, tanh form. File code 6.
    Gelu,
    /// x * sigmoid(x). File code 7.
    Silu,
    /// ln(1 + exp(x)). File code 8.
    Softplus,
}

impl Activation {
    /// The file code (the PReLU slope is stored separately, see [`Activation::slope`]).
    pub const fn code(self) -> u32 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::Prelu(_) => 2,
            Activation::Tanh => 3,
            Activation::Sigmoid => 4,
            Activation::Sin => 5,
            Activation::Gelu => 6,
            Activation::Silu => 7,
            Activation::Softplus => 8,
        }
    }

    /// The value stored in the slope field: the PReLU slope, 0.0 for every other activation.
    pub const fn slope(self) -> f32 {
        match self {
            Activation::Prelu(s) => s,
            _ => 0.0,
        }
    }

    /// Decodes a file code and its slope field; `None` when the code is unknown.
    pub const fn from_code(code: u32, slope: f32) -> Option<Self> {
        match code {
            0 => Some(Activation::Identity),
            1 => Some(Activation::Relu),
            2 => Some(Activation::Prelu(slope)),
            3 => Some(Activation::Tanh),
            4 => Some(Activation::Sigmoid),
            5 => Some(Activation::Sin),
            6 => Some(Activation::Gelu),
            7 => Some(Activation::Silu),
            8 => Some(Activation::Softplus),
            _ => None,
        }
    }

    /// The name used in specs: `identity`, `relu`, `prelu`, `tanh`, `sigmoid`, `sin`, `gelu`,
    /// `silu`, `softplus`.
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Prelu(_) => "prelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Sin => "sin",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Softplus => "softplus",
        }
    }
}
