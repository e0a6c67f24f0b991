//! Numeric kernels for hdon: the dense layers of the generate step (GEMV over f32, f16, bf16 or
//! int8 weights) and the evaluation of a target MLP over many query points, each with a plain
//! scalar twin in [`reference`](mod@reference).
//!
//! `no_std`, no `alloc`. Feature `std` adds run-time CPU detection, `HDON_KERNEL`, and on Linux
//! the AMX tiles (`HDON_AMX`; see "AMX tiles" below).
//!
//! # Data representation
//!
//! **Theta, kernel layout (theta layout id 1, "rows, bias first").** A target MLP with layer
//! sizes `[d_y, n_1, ..., d_out]` is one f32 vector, layer by layer; layer `l` is a block of
//! `n_out * (n_in + 1)` f32 and, within the block, output row `o` is
//! `[b_o, W[o, 0], W[o, 1], ..., W[o, n_in - 1]]`. A [`Layer`] borrows one such block. The
//! evaluator walks a row front to back: it starts the accumulator at the bias and adds one
//! broadcast weight times one input row of the tile per step, so a row is read contiguously
//! exactly once per tile. The paper orders theta differently (per layer: `W` `[out, in]`
//! row-major, then `b`); [`theta_permutation`] maps one to the other (`kernel[k] =
//! paper[perm[k]]`) and [`theta_len`] counts it. The export tool permutes the hypernetwork's
//! last-layer rows with it, so the generate GEMV writes theta directly in kernel layout.
//!
//! **Points in lanes.** [`mlp_eval`] takes points `[n, d_y]` and writes outputs `[n, d_out]`,
//! both row-major. Internally it cuts the points into tiles of `T` points (`T` = 32 for
//! AVX-512, 16 for AVX2 and portable: two SIMD registers) and transposes each tile into
//! structure-of-arrays form in scratch: row `i` of the tile buffer holds input `i` of all `T`
//! points. A layer then costs, per output `o`, one bias broadcast and `n_in` fused
//! multiply-adds `acc += broadcast(W[o, i]) * tile[i]` per register; 8 outputs (AVX-512) or 4
//! (AVX2, portable) are accumulated at once for instruction-level parallelism, each broadcast
//! weight feeding both registers, and bias and activation are applied before the store.
//! (On AVX2 a tanh layer whose width is a multiple of 4 stores its sums instead and applies
//! the tanh in one pass over them afterwards, which ran 2-5 % faster on Zen 3; same bits.)
//! Hidden activations of a tile live in two ping-pong buffers of `T * width` f32 (L1 sized);
//! nothing goes back to memory between layers. When the output layer has one row, the last
//! hidden layer multiplies each activated block straight into it instead of storing its rows
//! (same order of operations, same bits). The last tile is padded with zeros and only its
//! real points are stored, so any `n` works and no slice is read or written past its end.
//!
//! **Dense weights (generate side).** [`MatRef`] is `[rows, cols]` = `[out, in]` row-major
//! with the elements in f32, f16, bf16 or int8 (symmetric, one f32 scale per row,
//! `w = scale[o] * q[o, i]`); f32 rows may also be `lda` apart ([`WeightData::F32Strided`],
//! the padding never read: rows padded to 16 floats start on cache lines, same bits). The 16-bit forms are widened to f32 in registers as they are
//! loaded; no f32 copy of a matrix is ever made. 8 rows of one vector are summed at once
//! (one FMA chain per row sharing each load of `x`; 16 rows on AVX-512 read 15-21 % slower on
//! L2-resident matrices, too many streams at once), and their accumulators are reduced
//! together by a transpose-and-add tree (no horizontal reduction per row).
//! `gemv_batch` runs blocks of 16 vectors (AVX-512, >= 32 rows of <= 512: one row at a time
//! against a 64-byte aligned copy of the 16 vectors) and then of 4 vectors per pass over W,
//! with the same per-vector order of operations, so it is bit-identical to `gemv` per vector.
//!
//! **Vectors in lanes (the batched generate).** [`gemm`] computes the same layer for `n`
//! vectors stored as the columns of `X` (`[cols, n]`, `n` a multiple of [`GEMM_LANES`]): the
//! broadcast form, one weight `W[o, k]` against registers of 16 vectors, 6 rows x 64 vectors
//! of accumulators on AVX-512 and no reduction at all (921x100 for 64 vectors: 2.6x faster
//! than `gemv_batch`). Each output is summed `bias, k = 0, 1, ...` on every path (the FMA
//! paths give the scalar twin's bits for identity/relu/prelu), which is not `gemv`'s order:
//! results agree with `gemv` to rounding and do not depend on the other vectors of the batch.
//! [`columns_to_rows`] copies the columns back to one contiguous vector each (16 x 16 register
//! transposes on AVX-512, 8 x 8 on AVX2) and [`fold_tanh_lanes`] is [`fold_tanh`] across columns.
//!
//! **int8 is W8A16** (for `cols <= `[`QMAX_COLS`]): each input vector is quantized once per
//! call to i16 (`x_scale = max|x| / `[`q_range`]`(cols)`, 32767 up to 512 columns, so the i32
//! sums cannot overflow) and the dot products are exact i32 sums: with AVX512-VNNI and VBMI
//! the int8 weights are used as stored against the two byte planes of `x_q` (`vpdpbusd`),
//! otherwise they are widened to i16 in registers (`vpdpwssd`, or `vpmaddwd` + `vpaddd`);
//! plain integer loops on portable and scalar. Then `y[o] = act(f32(sum) * (scales[o] * x_scale) +
//! b[o])`. The pre-activation is therefore bit-identical on every path. The input rounding
//! adds at most `x_scale / 2 = max|x| / 65534` per element (relative to `max|x|`), about 250
//! times less than the int8 weight rounding (`max|w| / 254`). A NaN or infinity in `x` makes
//! every output of that vector NaN; an all-zero `x` gives exactly the bias. Wider int8
//! matrices convert the weights to f32 in registers and keep `x` in f32.
//!
//! **Blocked int8** ([`WeightData::I8Blocked`], `cols <= QMAX_COLS`): the same values, scales
//! and W8A16 numerics (the same bits as row-major int8 on every path), stored 16 rows x 4
//! columns per 64 bytes ([`i8_blocked_index`], [`pack_i8_blocked`]). With AVX512-VNNI a
//! register lane is a row: `vpdpbusd` adds 4 columns of 16 rows against the broadcast input
//! bytes, so no block of rows ends in a cross-lane reduction and the row tail disappears
//! (921x100: 1.9 us against 2.6 us row-major; 100x100: 0.23 against 0.38). Other paths sum the
//! blocks with a plain integer loop.
//!
//! # Paths
//!
//! Every kernel exists as [`Path::Scalar`] (the [`reference`](mod@reference)), [`Path::Portable`] (`wide`),
//! and on x86-64 [`Path::Avx2`] (AVX2+FMA) and [`Path::Avx512`] (AVX-512F+DQ). [`active_path`]
//! picks the best supported one once (run-time detection with `std`,
//! `cfg!(target_feature)` without) and caches it; `HDON_KERNEL=scalar|portable|avx2|avx512`
//! (with `std`) or [`force_path`] override it, and the `*_on` functions take a path
//! explicitly. ISA code lives in `x86_64/avx2.rs`, `x86_64/avx512.rs` and `portable.rs`, in
//! small `unsafe fn`s whose contracts are documented; everything else is safe Rust.
//!
//! # AMX tiles
//!
//! On x86-64 CPUs with AMX-TILE and AMX-BF16 (Sapphire Rapids and later) under Linux, with
//! feature `std`, the AVX-512 path of [`mlp_eval`] runs the hidden layers of suitable target
//! nets on the tile unit ([`mlp_uses_amx`]: hidden layers fed by tanh, of at least 32 inputs,
//! a one-row output, points of at most 4 dimensions, e.g. workload L's 2-64-64-64-1). The tile
//! unit multiplies bf16 and accumulates in f32; every f32 from 2^-100 up is the exact sum of
//! three bf16 pieces (the value with its low 16 bits cleared, the same of the rest, and what
//! remains), so a layer is computed as the six piece products whose orders add up to at most 2.
//! The three left out are below 2^-22 of each product: results differ from the FMA path's by a
//! few f32 roundings (at most 7.4e-7 relative to `1 + |y|` against the reference in
//! `tests/sweeps.rs`, which holds them to 2e-6), not by bf16's 2^-8. Each point's result still
//! depends on that point alone, so evaluating points in any pieces gives the same bits.
//!
//! - Measured on workload L (100,000 points, one thread): 1.22-1.28x faster than the FMA tile
//!   kernel. While the tile unit multiplies, AVX-512 code gets one 512-bit port instead of two,
//!   so the tanh and the repacking overlap the products only in part (`x86_64/amx.rs`).
//! - Memory: the bf16 weight pieces (6 bytes per weight), two blocks' activation pieces and the
//!   accumulator stores live in a 96 KiB `thread_local` buffer per thread (static TLS: no
//!   allocation). Nets whose pieces do not fit run on the FMA path, so the workspace a model
//!   records does not depend on the machine.
//! - Permission: the first AMX query asks Linux for the tile state (`arch_prctl`,
//!   `ARCH_REQ_XCOMP_PERM`); without it, or before kernel 5.16, [`amx_available`] is false.
//! - Switches: `HDON_AMX=0` in the environment or [`set_amx`]`(false)`; [`mlp_eval_amx`] runs
//!   the tiles explicitly (tests, comparisons).
//!
//! # Activations
//!
//! [`reference`](mod@reference) computes every activation in f64 and rounds once. The fast paths use
//! range reduction + polynomial approximations: division-free on AVX-512 (a reciprocal estimate
//! refined by a Newton step), one division in AVX2's and `portable`'s tanh (cheaper there than
//! an estimate and two Newton steps); errors against the f64 function ("every f32": the
//! opt-in exhaustive test of `tests/activations.rs`, `cargo test --release --test activations
//! -- --ignored`):
//!
//! | activation | bound held by `tests/activations.rs` | worst measured (avx512 / avx2 / portable) |
//! |---|---|---|
//! | identity, relu, prelu | exact (bit-equal to the reference) | exact |
//! | tanh | 2e-7 absolute over [-20, 20] | 1.6e-7 (1.76e-7 over every f32 in [-12, 12]) / 1.34e-7 (every f32 in [-12, 12]) / 1.48e-7 (every f32 in [-12, 12]) |
//! | tanh-folded (`2 / (1 + 2^x)`) | 2e-7 absolute over [-60, 60] | 1.83e-7 / 1.91e-7 / 1.99e-7 (every f32 in [-30, 30]) |
//! | sigmoid | 2e-7 absolute over [-20, 20] | 8.9e-8 |
//! | sin | 1e-6 relative over [-100, 100] where `|f| >= 1e-6`, else 1e-11 absolute | 1.6e-7 |
//! | silu | 1e-6 relative over [-20, 20] where `|f| >= 1e-6`, else 1e-11 absolute | 1.8e-7 |
//! | softplus | as silu | 2.8e-7 |
//! | gelu | as silu | 2.0e-7 |
//!
//! Folded tanh: [`fold_tanh`] rewrites a tanh MLP so that each hidden layer computes `c a`
//! (`c = -2 log2(e)`, [`TANH_FOLD_SCALE`]) and passes on `1 + tanh(a) = 2 / (1 + 2^(c a))`
//! ([`Activation::TanhFolded`]), the next layer's biases absorbing the `+ 1`: the same function,
//! and each activation skips tanh's first multiply and last subtraction (12 vector operations
//! on AVX-512 instead of 14; tile evaluation 7-8 % faster at widths 20 and 33, 4 % at 64).
//! The runtime evaluates generated HyperDeepONet targets this way.
//!
//! Tanh (`2 / (1 + e^(-2x)) - 1`): on AVX-512, 14 vector operations (`vreduceps`/`vscalefps`
//! split, `vrcp14ps` of `(1 + e^(-2x)) / 2` + one Newton step fused into the result; the
//! rounding of that sum, at most 1.2e-7 absolute, is the price of the 15th operation); AVX2 and
//! portable keep the round-to-nearest split and take `(1 - e^(-2x)) / (1 + e^(-2x))` with one
//! division (until 2026-11-30 `2 / (1 + e^(-2x)) - 1`, whose rounding of the quotient in
//! [1, 2) took the portable path to 2.16e-7, over the bound).
//!
//! Gelu's argument `z = 2 sqrt(2/pi) (x + 0.044715 x^3)` reaches ~14 in magnitude where
//! `|gelu| >= 1e-6`, where one f32 rounding of `z` (~5e-7) would move `sigmoid(z)` by as much
//! relative; `z` is therefore carried as two f32 (see `vector_math`).
#![no_std]
#![deny(missing_docs)]
#[cfg(feature = "std")]
extern crate std;

mod activation;
mod dispatch;
mod dot;
mod error;
mod gemm;
mod gemv;
mod mlp;
mod portable;
mod qblock;
mod qgemv;
pub mod reference;
mod simd;
mod theta;
mod tile;
mod vector_math;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub use activation::{activate, activate_on, Activation};
pub use dispatch::{active_path, best_path, force_path, Path};
pub use error::KernelError;
pub use gemm::{columns_to_rows, gemm, gemm_on, widen_rows, GEMM_LANES};
pub use gemv::{gemv, gemv_batch, gemv_batch_on, MatRef, WeightData};
pub use mlp::{
    amx_available, amx_enabled, mlp_eval, mlp_eval_amx, mlp_eval_on, mlp_scratch_len, mlp_uses_amx,
    set_amx, Layer, MAX_IN, MAX_LAYERS, MAX_TILE, MAX_WIDTH,
};
pub use qblock::{
    i8_blocked_index, i8_blocked_len, int8_blocked_kernel, pack_i8_blocked, I8_BLOCK_ROWS,
    I8_GROUP_COLS,
};
pub use qgemv::{int8_kernel, q_range, QMAX_COLS};
pub use theta::{
    fold_tanh, fold_tanh_acts, fold_tanh_lanes, theta_len, theta_permutation, TANH_FOLD_SCALE,
};
