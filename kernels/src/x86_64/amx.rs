//! AMX tiles for the hidden layers of tanh target nets (x86-64 with AMX-TILE and AMX-BF16,
//! Linux, feature `std`).
//!
//! # The split
//! A tile multiply (`tdpbf16ps`) takes bf16 operands (8 significant bits) and accumulates in
//! f32. Every f32 `x` from 2^-100 up is the exact sum of three bf16 values (`split3`): `h` =
//! `x` with its low 16 bits cleared, `m` = the same of `x - h`, and `l = x - h - m`, which has
//! at most 8 significant bits left. A layer's product `w a` is then the sum of the nine piece
//! products `w_p a_q`, each exact in f32; the six with `p + q <= 2` are computed, the three
//! left out are below 2^-22 `|w a|` each. A layer's sums are therefore within a few f32 roundings of the FMA
//! path's, not its bits: the tile adds its products in its own order, and the bias is added
//! after the sum instead of before.
//!
//! # Layout
//! Points go in blocks of 16 ([`BLOCK`]). A layer computes `C = W A` per block with `C` as
//! tiles of 16 neurons x 16 points (f32), `W` as tiles of 16 neurons x 32 inputs (bf16, row
//! major: the A operand) and the activations `A` as tiles of 16 input pairs x 16 points x 2
//! (bf16 pairs `(a_2k, a_2k+1)` per point: the B operand's pair layout). One accumulator
//! row is one zmm register of 16 points, the layout of the FMA tile kernel, so the bias, the
//! tanh and the repacking into the next layer's B tiles run on the AVX-512 units while the
//! tile unit multiplies.
//!
//! Tile registers: `tmm0..tmm3` accumulate four neuron blocks, `tmm4` holds a weight piece,
//! `tmm5..tmm7` the three activation pieces of one input step.
//!
//! # Where the memory comes from
//! The bf16 weight pieces (6 bytes per weight), two blocks' activation pieces and
//! accumulator stores live in a per-thread buffer of [`BUF_BYTES`] (a `thread_local` array:
//! no allocation). A net whose pieces do not fit runs on the FMA path; so the model file's
//! workspace record, which firmware sizes its static buffers from, does not depend on the
//! machine.

// Without std there is neither the tile permission nor the per-thread buffer: `available` is
// false and the evaluator below is compiled but never called.
#![cfg_attr(not(feature = "std"), allow(dead_code, unused_imports))]

use core::arch::asm;
use core::arch::x86_64::*;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering};

use super::avx512::Avx512;
use crate::simd::Simd;
use crate::vector_math::{activate, tanh_folded_n, tanh_n};
use crate::{Activation, Layer};

/// Points per block: the 16 f32 columns of an accumulator tile.
pub(crate) const BLOCK: usize = 16;
/// Layer inputs per tile step: the 32 bf16 of a weight-tile row.
const KSTEP: usize = 32;
/// Neurons per accumulator tile (its rows).
const NBLK: usize = 16;
/// Bytes per tile: 16 rows of 64 bytes.
const TILE: usize = 1024;
/// Bytes between tile rows in memory.
const ROW: usize = 64;
/// Bytes of the per-thread buffer: weight pieces, one block's activation pieces, accumulator
/// stores for two blocks. 96 KiB takes workload L's net (2-64-64-64-1: 48 KiB of weight
/// pieces, 10 KiB per block) and one more hidden layer of 64.
pub(crate) const BUF_BYTES: usize = 96 * 1024;
/// Narrowest hidden-layer input run on tiles: one input step; narrower layers would pad most
/// of each weight tile with zeros.
pub(crate) const MIN_IN: usize = 32;
/// Widest point (first-layer input) the tile evaluator transposes.
const MAX_D_IN: usize = 4;

/// Splits `x` into three pieces whose sum is `x` exactly, for every finite `x`; from
/// `|x| >= 2^-100` (and for zero) each piece is a bf16 value (an f32 with the low 16 bits
/// zero). Below that the last piece can be subnormal with low bits set, which the tile reads
/// as zero (it flushes bf16 subnormals): an error under 2^-126. The scalar twin of
/// [`split_v`].
#[cfg(test)]
pub(crate) fn split3(x: f32) -> [f32; 3] {
    let hi = |v: f32| f32::from_bits(v.to_bits() & 0xffff_0000);
    let h = hi(x);
    let r = x - h;
    let m = hi(r);
    [h, m, r - m]
}

/// [`split3`] of 16 lanes.
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn split_v(x: __m512) -> [__m512; 3] {
    // SAFETY: register operations only; AVX-512F per contract.
    unsafe {
        let h = high_half(x);
        let r = _mm512_sub_ps(x, h);
        let m = high_half(r);
        [h, m, _mm512_sub_ps(r, m)]
    }
}

/// `v` with the low 16 bits of every lane cleared (a bf16 value, as f32).
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn high_half(v: __m512) -> __m512 {
    // SAFETY: register operations only; AVX-512F per contract.
    unsafe {
        let mask = _mm512_set1_epi32(0xffff_0000_u32 as i32);
        _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), mask))
    }
}

/// Whether `layers` can run on tiles: hidden layers fed by tanh (so the pieces are of bounded,
/// finite values or NaN), at least [`MIN_IN`] wide, a one-row output layer, points of at most
/// 4 dimensions, and pieces that fit [`BUF_BYTES`]. Returns the buffer layout.
pub(crate) fn plan(layers: &[Layer<'_>]) -> Option<Plan> {
    let n = layers.len();
    if n < 3 || layers[0].n_in > MAX_D_IN || layers[n - 1].n_out != 1 {
        return None;
    }
    let tanh = |a: Activation| matches!(a, Activation::Tanh | Activation::TanhFolded);
    if !layers[..n - 1].iter().all(|l| tanh(l.act)) {
        return None;
    }
    let hidden = &layers[1..n - 1];
    if hidden.iter().any(|l| l.n_in < MIN_IN) {
        return None;
    }
    let weights: usize = hidden.iter().map(weight_tiles).sum::<usize>() * TILE;
    let act = hidden.iter().map(|l| l.n_in.div_ceil(KSTEP)).max()? * 3 * TILE;
    let acc = hidden.iter().map(|l| l.n_out.div_ceil(NBLK)).max()? * TILE;
    let plan = Plan {
        act: weights,
        acc: weights + act,
        block: act + acc,
    };
    (weights + 2 * plan.block <= BUF_BYTES).then_some(plan)
}

/// Weight tiles of one hidden layer: neuron blocks x input steps x 3 pieces.
fn weight_tiles(l: &Layer<'_>) -> usize {
    l.n_out.div_ceil(NBLK) * l.n_in.div_ceil(KSTEP) * 3
}

/// Byte offsets into the per-thread buffer: the weight tiles of every hidden layer start at 0,
/// in layer order, as `[neuron block][input step][piece]`; then block A's activation tiles
/// and accumulators, then block B's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Activation tiles `[input step][piece]` of the block in flight.
    act: usize,
    /// Accumulator stores, `[neuron][point]` f32.
    acc: usize,
    /// Bytes from block A's activation and accumulator buffers to block B's.
    block: usize,
}

/// 0 = not detected yet, 1 = unavailable, 2 = on, 3 = available but switched off.
static STATE: AtomicU8 = AtomicU8::new(0);
const UNAVAILABLE: u8 = 1;
const ON: u8 = 2;
const OFF: u8 = 3;

fn state() -> u8 {
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let s = detect();
            // A concurrent set_enabled may have stored first; keep it.
            match STATE.compare_exchange(0, s, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => s,
                Err(v) => v,
            }
        }
        s => s,
    }
}

/// Whether the CPU and OS can run tiles (the permission is requested on the first call).
pub(crate) fn available() -> bool {
    state() != UNAVAILABLE
}

/// Whether the FMA path's target nets go to tiles ([`available`] and not switched off).
pub(crate) fn enabled() -> bool {
    state() == ON
}

/// Switches tiles on or off for every thread; returns [`enabled`].
pub(crate) fn set_enabled(on: bool) -> bool {
    if !available() {
        return false;
    }
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    on
}

/// CPUID for AMX-TILE and AMX-BF16, XCR0 for the tile state, then Linux's permission to use
/// it (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`; without it the first tile
/// instruction faults). `HDON_AMX=0` (or `off`, `false`) leaves tiles available but off.
#[cfg(all(feature = "std", target_os = "linux"))]
fn detect() -> u8 {
    let (leaf1, leaf7) = (__cpuid(1), __cpuid_count(7, 0));
    const AMX_BF16: u32 = 1 << 22;
    const AMX_TILE: u32 = 1 << 24;
    const OSXSAVE: u32 = 1 << 27;
    if leaf7.edx & (AMX_BF16 | AMX_TILE) != AMX_BF16 | AMX_TILE || leaf1.ecx & OSXSAVE == 0 {
        return UNAVAILABLE;
    }
    // The evaluator packs activation pairs with `vpermt2w` (AVX-512BW); every AMX CPU has it.
    if !std::is_x86_feature_detected!("avx512bw") {
        return UNAVAILABLE;
    }
    // XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS saves tile state.
    if xcr0() & (3 << 17) != 3 << 17 || request_tile_permission() != 0 {
        return UNAVAILABLE;
    }
    match std::env::var("HDON_AMX") {
        Ok(v) if matches!(v.trim(), "0" | "off" | "false") => OFF,
        _ => ON,
    }
}

#[cfg(not(all(feature = "std", target_os = "linux")))]
fn detect() -> u8 {
    UNAVAILABLE
}

/// XCR0, the OS-enabled state components.
#[cfg(all(feature = "std", target_os = "linux"))]
fn xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: xgetbv(0) is valid when CPUID reports OSXSAVE (checked by the caller).
    unsafe {
        asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// `arch_prctl(ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18)`: 0 on success, a
/// negative errno otherwise (kernels before 5.16 answer -EINVAL). Process-wide, idempotent.
#[cfg(all(feature = "std", target_os = "linux"))]
fn request_tile_permission() -> i64 {
    let ret: i64;
    // SAFETY: a plain Linux x86-64 syscall (number 158) with integer arguments; it reads and
    // writes no memory of ours. The kernel clobbers rcx and r11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") 158i64 => ret,
            in("rdi") 0x1023i64,
            in("rsi") 18i64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// The per-thread buffer ([`BUF_BYTES`], 64-byte aligned).
#[repr(C, align(64))]
pub(crate) struct Buf([u8; BUF_BYTES]);

#[cfg(feature = "std")]
std::thread_local! {
    static BUF: UnsafeCell<Buf> = const { UnsafeCell::new(Buf([0; BUF_BYTES])) };
}

/// Runs `f` on this thread's buffer.
#[cfg(feature = "std")]
pub(crate) fn with_buf<R>(f: impl FnOnce(&mut Buf) -> R) -> R {
    // SAFETY: the only borrow of this thread's buffer: `f` (the tile evaluator) never calls
    // back into `with_buf`.
    BUF.with(|b| f(unsafe { &mut *b.get() }))
}

/// Tile configuration: palette 1, tiles 0-7 all 16 rows of 64 bytes.
#[repr(C, align(64))]
struct Config([u8; 64]);

const CONFIG: Config = {
    let mut c = [0u8; 64];
    c[0] = 1;
    let mut t = 0;
    while t < 8 {
        c[16 + 2 * t] = ROW as u8;
        c[48 + t] = 16;
        t += 1;
    }
    Config(c)
};

/// Loads [`CONFIG`]; tiles hold zeros afterwards.
///
/// # Safety
/// AMX is [`available`] (permission granted).
#[inline(always)]
unsafe fn tile_config() {
    // SAFETY: CONFIG is a valid 64-byte palette-1 configuration; AMX per contract.
    unsafe { asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly)) }
}

/// Returns the tile state to its initial (unused) form, so context switches skip it.
///
/// # Safety
/// AMX is [`available`].
#[inline(always)]
unsafe fn tile_release() {
    // SAFETY: AMX per contract.
    unsafe { asm!("tilerelease", options(nostack, nomem)) }
}

/// `tileloadd tmm$t, [p]`: one tile of 16 rows, [`ROW`] bytes apart.
macro_rules! load {
    ($t:literal, $p:expr) => {
        asm!(
            concat!("tileloadd tmm", $t, ", [{p} + {s}]"),
            p = in(reg) $p,
            s = in(reg) ROW,
            options(nostack, readonly)
        )
    };
}

/// `tdpbf16ps tmm$c, tmm4, tmm$b`: accumulator `c` += weight piece x activation piece `b`.
macro_rules! dp {
    ($c:literal, $b:literal) => {
        asm!(
            concat!("tdpbf16ps tmm", $c, ", tmm4, tmm", $b),
            options(nostack, nomem)
        )
    };
}

/// Accumulators `0..n` (n <= 4) to zero.
///
/// # Safety
/// Tiles configured ([`tile_config`]).
#[inline(always)]
unsafe fn zero_acc(n: usize) {
    // SAFETY: register-only tile instructions; configured per contract.
    unsafe {
        asm!("tilezero tmm0", options(nostack, nomem));
        if n > 1 {
            asm!("tilezero tmm1", options(nostack, nomem));
        }
        if n > 2 {
            asm!("tilezero tmm2", options(nostack, nomem));
        }
        if n > 3 {
            asm!("tilezero tmm3", options(nostack, nomem));
        }
    }
}

/// Weight piece `p` (its tile at `w`) times activation pieces `0..3 - p` into accumulator
/// `j` (0..4): the products of one weight piece. The
/// six of a neuron block and input step are pieces 0, 1 and 2: `p + q <= 2`.
///
/// # Safety
/// Tiles configured; `w` points at a readable tile; `tmm5..tmm7` loaded.
#[inline(always)]
unsafe fn piece_into(j: usize, p: usize, w: *const u8) {
    macro_rules! piece {
        ($c:literal) => {{
            load!(4, w);
            dp!($c, 5);
            if p < 2 {
                dp!($c, 6);
            }
            if p < 1 {
                dp!($c, 7);
            }
        }};
    }
    // SAFETY: forwarded contract.
    unsafe {
        match j {
            0 => piece!(0),
            1 => piece!(1),
            2 => piece!(2),
            _ => piece!(3),
        }
    }
}

/// Stores accumulator `j` (0..4) to `dst` (1 KiB writable: 16 neuron rows of 16 f32).
///
/// # Safety
/// Tiles configured; `dst` as said.
#[inline(always)]
unsafe fn store_acc(j: usize, dst: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe {
        match j {
            0 => {
                asm!("tilestored [{p} + {s}], tmm0", p = in(reg) dst, s = in(reg) ROW, options(nostack))
            }
            1 => {
                asm!("tilestored [{p} + {s}], tmm1", p = in(reg) dst, s = in(reg) ROW, options(nostack))
            }
            2 => {
                asm!("tilestored [{p} + {s}], tmm2", p = in(reg) dst, s = in(reg) ROW, options(nostack))
            }
            _ => {
                asm!("tilestored [{p} + {s}], tmm3", p = in(reg) dst, s = in(reg) ROW, options(nostack))
            }
        }
    }
}

/// One hidden layer's product for one block, `acc[o][point] = sum_i W[o, i] a_i[point]` for
/// every neuron `o` (rows padded to 16), in resumable chunks: the stage of the other block
/// of a pair runs its vector work between them ([`stage`]), so the tile unit and the
/// AVX-512 units work at the same time. A chunk is the products of one weight piece of one
/// neuron block and input step ([`piece_into`]); neuron blocks go four at a time
/// (accumulators `tmm0..tmm3`). Measured on workload L's net (100,000 points, one thread):
/// chunks of one weight piece between groups of four neurons ran 1.25x faster than the FMA
/// tile kernel; chunks of all six products 1.1x; the whole product before the stage 1.0x
/// (while the tile unit multiplies, AVX-512 code has one 512-bit port instead of two, so the
/// overlap is partial).
struct Product {
    /// The layer's weight tiles (`[neuron block][input step][piece]`).
    w: *const u8,
    /// The block's activation tiles (`[input step][piece]`).
    act: *const u8,
    /// Where the accumulators are stored (`[neuron][point]` f32, 1 KiB per neuron block).
    acc: *mut u8,
    blocks: usize,
    steps: usize,
    /// Next chunk to run, and how many there are.
    next: usize,
    total: usize,
}

impl Product {
    fn new(l: &Layer<'_>, w: *const u8, act: *const u8, acc: *mut u8) -> Self {
        let (blocks, steps) = (l.n_out.div_ceil(NBLK), l.n_in.div_ceil(KSTEP));
        Product {
            w,
            act,
            acc,
            blocks,
            steps,
            next: 0,
            total: blocks * steps * 3,
        }
    }

    /// Runs chunks up to (not including) `upto`.
    ///
    /// # Safety
    /// Tiles configured; the pointers hold what the fields say for the layer; no other
    /// product runs between this one's first and last chunk (they share the tile registers).
    #[inline(always)]
    unsafe fn run_to(&mut self, upto: usize) {
        let upto = upto.min(self.total);
        while self.next < upto {
            // SAFETY: forwarded contract.
            unsafe { self.chunk(self.next) };
            self.next += 1;
        }
    }

    /// Chunk `i`: weight piece `i % 3` of neuron block `4 g + j` (of a group of `n`), input
    /// step `k`; zeroes the group's accumulators before its first chunk, loads the step's
    /// activation pieces before its first block, stores the group after its last chunk.
    ///
    /// # Safety
    /// As [`Product::run_to`].
    #[inline(always)]
    unsafe fn chunk(&self, i: usize) {
        let (i, piece) = (i / 3, i % 3);
        let full = self.blocks / 4 * 4 * self.steps;
        let (g, n, r) = if i < full {
            (i / (4 * self.steps), 4, i % (4 * self.steps))
        } else {
            (self.blocks / 4, self.blocks % 4, i - full)
        };
        let (k, j) = (r / n, r % n);
        // SAFETY: offsets inside the layer's tiles and the block's buffers.
        unsafe {
            if k == 0 && j == 0 && piece == 0 {
                zero_acc(n);
            }
            if j == 0 && piece == 0 {
                let a = self.act.add(k * 3 * TILE);
                load!(5, a);
                load!(6, a.add(TILE));
                load!(7, a.add(2 * TILE));
            }
            piece_into(
                j,
                piece,
                self.w
                    .add((((4 * g + j) * self.steps + k) * 3 + piece) * TILE),
            );
            if k + 1 == self.steps && j + 1 == n && piece == 2 {
                for q in 0..n {
                    store_acc(q, self.acc.add((4 * g + q) * TILE));
                }
            }
        }
    }
}

/// Packs every hidden layer's weights into bf16 piece tiles at the start of `buf`: tile
/// `[neuron block][input step][piece]`, row = neuron, 32 inputs per row; neurons past `n_out`
/// and inputs past `n_in` are zero. Returns false if a weight is infinite or NaN: the pieces
/// of an infinity are not its sum (`inf - inf` is NaN), so such a net stays on the FMA path.
///
/// # Safety
/// AVX-512F; `layers` validated and [`plan`] accepted them; `buf` is the buffer of that plan.
#[inline(always)]
unsafe fn pack_weights(layers: &[Layer<'_>], buf: *mut u8) -> bool {
    let mut off = 0;
    let mut special: __mmask16 = 0;
    // SAFETY: reads stay in each layer's params (masked loads), writes in its tiles.
    unsafe {
        let exp = _mm512_set1_epi32(0x7f80_0000);
        for l in &layers[1..layers.len() - 1] {
            let steps = l.n_in.div_ceil(KSTEP);
            for o in 0..l.n_out.div_ceil(NBLK) * NBLK {
                for k in 0..steps {
                    let tile =
                        buf.add(off + ((o / NBLK) * steps + k) * 3 * TILE + (o % NBLK) * ROW);
                    for half in 0..2 {
                        let i0 = k * KSTEP + half * 16;
                        let valid = if o < l.n_out {
                            l.n_in.saturating_sub(i0).min(16)
                        } else {
                            0
                        };
                        let mask: __mmask16 = ((1u32 << valid) - 1) as u16;
                        let src = l
                            .params
                            .as_ptr()
                            .add((o * (l.n_in + 1) + 1 + i0).min(l.params.len() - 1));
                        let w = _mm512_maskz_loadu_ps(mask, src);
                        // Exponent all ones: infinity or NaN.
                        let e = _mm512_and_si512(_mm512_castps_si512(w), exp);
                        special |= _mm512_cmpeq_epi32_mask(e, exp);
                        for (p, piece) in split_v(w).into_iter().enumerate() {
                            let bits = _mm512_srli_epi32::<16>(_mm512_castps_si512(piece));
                            let dst = tile.add(p * TILE + half * 32);
                            _mm256_storeu_si256(dst.cast(), _mm512_cvtepi32_epi16(bits));
                        }
                    }
                }
            }
            off += weight_tiles(l) * TILE;
        }
    }
    special == 0
}

/// Writes neurons `o..o + 4` of one block (`x`, 16 points each; `o` a multiple of 4) into the
/// activation tiles at `act` as input pairs `o / 2` and `o / 2 + 1`: in each piece's tile, row
/// `pair % 16` of step `pair / 16` holds per point the bf16 pair (even neuron low, odd high).
///
/// # Safety
/// AVX-512F; `act` holds the tiles of step `(o + 3) / 32`.
#[inline(always)]
unsafe fn pack4(x: &[__m512; 4], act: *mut u8, o: usize) {
    // SAFETY: the rows written are inside the steps the contract names.
    unsafe {
        for q in 0..2 {
            let pair = o / 2 + q;
            let row = act.add((pair / 16) * 3 * TILE + (pair % 16) * ROW);
            let even = split_v(x[2 * q]);
            let odd = split_v(x[2 * q + 1]);
            // Word 2i of the result is the top half of lane i of `even`, word 2i + 1 that of
            // `odd` (one `vpermt2w`, a port-5 shuffle: port 0 is the tile unit's).
            let idx = _mm512_set_epi16(
                63, 31, 61, 29, 59, 27, 57, 25, 55, 23, 53, 21, 51, 19, 49, 17, 47, 15, 45, 13, 43,
                11, 41, 9, 39, 7, 37, 5, 35, 3, 33, 1,
            );
            for p in 0..3 {
                let v = _mm512_permutex2var_epi16(
                    _mm512_castps_si512(even[p]),
                    idx,
                    _mm512_castps_si512(odd[p]),
                );
                _mm512_storeu_si512(row.add(p * TILE).cast(), v);
            }
        }
    }
}

/// Zeroes input pairs `from..steps * 16` of the activation tiles (inputs past the layer's
/// width multiply zero weights, but must not be NaN or infinite leftovers).
///
/// # Safety
/// `act` holds `steps` steps of tiles.
#[inline(always)]
unsafe fn zero_pairs(act: *mut u8, from: usize, steps: usize) {
    // SAFETY: rows inside the `steps` steps.
    unsafe {
        for pair in from..steps * 16 {
            for p in 0..3 {
                let row = act.add((pair / 16) * 3 * TILE + p * TILE + (pair % 16) * ROW);
                _mm512_storeu_si512(row.cast(), _mm512_setzero_si512());
            }
        }
    }
}

/// `K`: the tanh form of a stage, fixed at compile time (as in the FMA tile kernel).
const TANH: u8 = 1;
const TANH_FOLDED: u8 = 2;

/// Where a stage's activated neurons go.
enum Sink<'a> {
    /// Packed as the next hidden layer's activation tiles.
    Tiles(*mut u8),
    /// Into the one-row output layer's accumulator (`fw`: its weights after the bias).
    Output(&'a [f32], &'a mut __m512),
}

/// Where a stage's sums come from. (Closures would do, but a closure defined outside the
/// `#[target_feature]` entry does not inherit its features: its intrinsics stayed calls, 30x
/// slower. The AVX-512 code of this module therefore has none.)
// The first layer's variant carries four zmm registers; a `Src` lives for one stage, in
// registers, so there is nothing to gain from boxing (and no allocator to box with).
#[allow(clippy::large_enum_variant)]
enum Src<'a> {
    /// The first layer: `params` `[n_out, d_in + 1]`, the block's coordinates in `x`.
    First {
        params: &'a [f32],
        x: [__m512; MAX_D_IN],
        d_in: usize,
    },
    /// A hidden layer: the block's accumulators at `acc` (`[neuron][16 points]`), the
    /// layer's `params` (bias at `o * stride`).
    Acc {
        acc: *const f32,
        params: &'a [f32],
        stride: usize,
    },
}

/// Neuron `o`'s biased sum for the block (`o >= n`: any finite value).
///
/// # Safety
/// AVX-512F; `Src::Acc` holds the rows up to `o` rounded up to 4.
#[inline(always)]
unsafe fn biased(src: &Src<'_>, o: usize, n: usize) -> __m512 {
    let s = Avx512;
    // SAFETY: forwarded contract.
    unsafe {
        match *src {
            Src::First { params, x, d_in } => {
                if o >= n {
                    return s.splat(0.0);
                }
                // The reference's order: bias, then the inputs.
                let stride = d_in + 1;
                let mut a = s.splat(params[o * stride]);
                for (i, xi) in x.iter().enumerate().take(d_in) {
                    a = s.fma(s.splat(params[o * stride + 1 + i]), *xi, a);
                }
                a
            }
            Src::Acc {
                acc,
                params,
                stride,
            } => {
                let v = s.load(acc.add(o * BLOCK));
                if o < n {
                    s.add(v, s.splat(params[o * stride]))
                } else {
                    v
                }
            }
        }
    }
}

/// Biased sums ([`biased`]), tanh of form `K` and the sink, for the `n` neurons of one block
/// four at a time. Between groups of four it runs its share of `product` (the other block's
/// layer), and the rest at the end.
///
/// # Safety
/// AVX-512F; the sink's tiles hold `n.div_ceil(32)` steps; `product` as
/// [`Product::run_to`], with buffers other than the ones this stage reads and writes.
#[inline(always)]
unsafe fn stage<const K: u8>(
    src: &Src<'_>,
    n: usize,
    sink: &mut Sink<'_>,
    mut product: Option<&mut Product>,
) {
    let s = Avx512;
    let groups = n.div_ceil(4);
    // SAFETY: forwarded contract.
    unsafe {
        for (t, o) in (0..n).step_by(4).enumerate() {
            if let Some(p) = product.as_deref_mut() {
                p.run_to(t * p.total / groups);
            }
            let mut x = [s.splat(0.0); 4];
            for (j, xj) in x.iter_mut().enumerate() {
                *xj = biased(src, o + j, n);
            }
            if K == TANH {
                tanh_n(s, &mut x);
            } else {
                tanh_folded_n(s, &mut x);
            }
            match sink {
                Sink::Tiles(act) => pack4(&x, *act, o),
                Sink::Output(fw, acc) => {
                    // The reference's order: bias first, then w_o h_o for o = 0, 1, ...
                    for (j, xv) in x.into_iter().enumerate().take(n - o) {
                        **acc = s.fma(s.splat(fw[o + j]), xv, **acc);
                    }
                }
            }
        }
        if let Sink::Tiles(act) = sink {
            zero_pairs(*act, n.div_ceil(4) * 2, n.div_ceil(KSTEP));
        }
        if let Some(p) = product {
            p.run_to(p.total);
        }
    }
}

/// [`stage`] with `K` from `act` (Tanh or TanhFolded, as [`plan`] requires).
///
/// # Safety
/// As [`stage`].
#[inline(always)]
unsafe fn stage_for(
    act: Activation,
    src: &Src<'_>,
    n: usize,
    sink: &mut Sink<'_>,
    product: Option<&mut Product>,
) {
    // SAFETY: forwarded contract.
    unsafe {
        if act == Activation::Tanh {
            stage::<TANH>(src, n, sink, product);
        } else {
            stage::<TANH_FOLDED>(src, n, sink, product);
        }
    }
}

/// Evaluates the net at every point on tiles; `plan` is [`plan`]`(layers)`. Returns false,
/// with `out` untouched, if a hidden layer has a non-finite weight ([`pack_weights`]).
///
/// Blocks go in pairs (A, B), staggered by one layer: while the vector units run layer k's
/// stage of A, the tile unit runs layer k's product of B, then layer k + 1's product of A
/// beside B's stage k.
///
/// # Safety
/// AVX-512F, DQ and BW, and AMX [`available`] (which checks BW); arguments validated as for
/// the FMA tile kernel (`mlp::validate_mlp`) and accepted by [`plan`].
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
pub(crate) unsafe fn mlp_eval(
    layers: &[Layer<'_>],
    plan: Plan,
    points: &[f32],
    out: &mut [f32],
    buf: &mut Buf,
) -> bool {
    let d_in = layers[0].n_in;
    let base = buf.0.as_mut_ptr();
    // SAFETY: `plan` fits the buffer (checked by `plan`); layers validated; AMX and AVX-512
    // per contract.
    unsafe {
        if !pack_weights(layers, base) {
            return false;
        }
        tile_config();
        let bufs = [
            (base.add(plan.act), base.add(plan.acc)),
            (
                base.add(plan.act + plan.block),
                base.add(plan.acc + plan.block),
            ),
        ];
        let mut pts = points.chunks(2 * BLOCK * d_in);
        for y in out.chunks_mut(2 * BLOCK) {
            let p = pts.next().unwrap_or(&[]);
            let (pa, pb) = p.split_at(p.len().min(BLOCK * d_in));
            let (ya, yb) = y.split_at_mut(y.len().min(BLOCK));
            pair(layers, base, bufs, [pa, pb], [ya, yb]);
        }
        tile_release();
    }
    true
}

/// Points `p` of one block (at most 16) into registers: coordinate `i` in register `i`, lanes
/// past the points zero.
///
/// # Safety
/// AVX-512F; `p.len()` a multiple of `d_in <= 4`.
#[inline(always)]
unsafe fn transpose(p: &[f32], d_in: usize) -> [__m512; MAX_D_IN] {
    let mut t = [0.0f32; MAX_D_IN * BLOCK];
    crate::tile::transpose_in(p, d_in, BLOCK, &mut t);
    // SAFETY: `t` holds 4 rows of 16; AVX-512F per contract.
    unsafe {
        let mut x = [_mm512_setzero_ps(); MAX_D_IN];
        for (i, xi) in x.iter_mut().enumerate() {
            *xi = _mm512_loadu_ps(t.as_ptr().add(i * BLOCK));
        }
        x
    }
}

/// The first layer's stage of one block (on the FMA units) into its activation tiles `act`,
/// beside `product`.
///
/// # Safety
/// As [`stage`].
#[inline(always)]
unsafe fn first_stage(first: &Layer<'_>, pts: &[f32], act: *mut u8, product: Option<&mut Product>) {
    // SAFETY: forwarded contract.
    unsafe {
        let src = Src::First {
            params: first.params,
            x: transpose(pts, first.n_in),
            d_in: first.n_in,
        };
        stage_for(first.act, &src, first.n_out, &mut Sink::Tiles(act), product);
    }
}

/// Hidden layer k's stage of one block, from its accumulators (`buf.1`) into its activation
/// tiles (`buf.0`) or, for the last hidden layer, the output accumulator `out_acc`; beside
/// `product`.
///
/// # Safety
/// As [`stage`]; the accumulators hold the layer's rows padded to 16.
#[inline(always)]
unsafe fn hidden_stage(
    layers: &[Layer<'_>],
    k: usize,
    buf: (*mut u8, *mut u8),
    out_acc: &mut __m512,
    product: Option<&mut Product>,
) {
    let (l, last) = (&layers[k], &layers[layers.len() - 1]);
    let src = Src::Acc {
        acc: buf.1.cast::<f32>().cast_const(),
        params: l.params,
        stride: l.n_in + 1,
    };
    let mut sink = if k + 2 < layers.len() {
        Sink::Tiles(buf.0)
    } else {
        Sink::Output(&last.params[1..], out_acc)
    };
    // SAFETY: forwarded contract.
    unsafe { stage_for(l.act, &src, l.n_out, &mut sink, product) }
}

/// Hidden layer k's product (k >= 1) for the block with buffers `buf`; weights packed at `w0`.
fn product(layers: &[Layer<'_>], w0: *const u8, k: usize, buf: (*mut u8, *mut u8)) -> Product {
    let off: usize = layers[1..k].iter().map(weight_tiles).sum();
    Product::new(&layers[k], w0.wrapping_add(off * TILE), buf.0, buf.1)
}

/// One pair of blocks through the whole net ([`mlp_eval`]'s schedule). Block B may be empty
/// (an odd last block): its stages and products are skipped.
///
/// # Safety
/// As [`mlp_eval`], tiles configured and weights packed at `w0`; `bufs` the two blocks'
/// activation and accumulator buffers.
#[inline(always)]
unsafe fn pair(
    layers: &[Layer<'_>],
    w0: *const u8,
    bufs: [(*mut u8, *mut u8); 2],
    pts: [&[f32]; 2],
    ys: [&mut [f32]; 2],
) {
    let s = Avx512;
    let nl = layers.len();
    let last = &layers[nl - 1];
    let two = !pts[1].is_empty();
    // SAFETY: forwarded contract.
    unsafe {
        let mut out_acc = [s.splat(last.params[0]); 2];
        // Closures here would not inherit the AVX-512 target features of the entry (their
        // intrinsics stayed calls: 30x slower); everything below is a direct call.
        first_stage(&layers[0], pts[0], bufs[0].0, None);
        let mut p = product(layers, w0, 1, bufs[0]);
        if two {
            first_stage(&layers[0], pts[1], bufs[1].0, Some(&mut p));
        } else {
            p.run_to(usize::MAX);
        }
        let [acc_a, acc_b] = &mut out_acc;
        for k in 1..nl - 1 {
            let more = k + 2 < nl;
            if two {
                let mut p = product(layers, w0, k, bufs[1]);
                hidden_stage(layers, k, bufs[0], acc_a, Some(&mut p));
                let mut next = if more {
                    Some(product(layers, w0, k + 1, bufs[0]))
                } else {
                    None
                };
                hidden_stage(layers, k, bufs[1], acc_b, next.as_mut());
            } else {
                hidden_stage(layers, k, bufs[0], acc_a, None);
                if more {
                    product(layers, w0, k + 1, bufs[0]).run_to(usize::MAX);
                }
            }
        }
        for (b, y) in ys.into_iter().enumerate() {
            let mut yv = [0.0f32; BLOCK];
            s.store(yv.as_mut_ptr(), activate(s, last.act, out_acc[b]));
            y.copy_from_slice(&yv[..y.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::{split3, split_v};
    use core::arch::x86_64::*;

    /// The pieces of every kind of finite f32 (each exponent, full and sparse mantissas, both
    /// signs, zeros, subnormals, the extremes) sum to the value exactly and, from 2^-100 up,
    /// are bf16 values; the 16-lane split (`split_v`) gives [`split3`]'s bits.
    #[test]
    fn split3_is_exact_and_split_v_is_its_twin() {
        let mut xs: Vec<f32> = Vec::new();
        for e in 0..255u32 {
            for m in [
                0u32, 1, 0x7f_ffff, 0x40_0001, 0x55_5555, 0x00_ff00, 0x12_3457,
            ] {
                for sign in [0u32, 1 << 31] {
                    xs.push(f32::from_bits(sign | (e << 23) | m));
                }
            }
        }
        xs.extend([
            0.0,
            -0.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
            1.0,
            -1.0,
        ]);
        xs.resize(xs.len().next_multiple_of(16), 0.5);
        for &x in &xs {
            let p = split3(x);
            // The f64 sum of the pieces is exact (each piece is exact in f64, as is the sum).
            let sum = f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]);
            assert_eq!(sum, f64::from(x), "x = {x:e}: pieces {p:?}");
            if x == 0.0 || x.abs() >= 2f32.powi(-100) {
                for (k, q) in p.iter().enumerate() {
                    assert_eq!(
                        q.to_bits() & 0xffff,
                        0,
                        "x = {x:e}: piece {k} = {q:e} is not bf16"
                    );
                }
            }
        }
        if !std::is_x86_feature_detected!("avx512f") {
            return;
        }
        for c in xs.chunks_exact(16) {
            let mut got = [[0.0f32; 16]; 3];
            // SAFETY: AVX-512F checked above; `c` and each `got` row hold 16 f32.
            unsafe {
                let v = split_v(_mm512_loadu_ps(c.as_ptr()));
                for (row, piece) in got.iter_mut().zip(v) {
                    _mm512_storeu_ps(row.as_mut_ptr(), piece);
                }
            }
            for (lane, &x) in c.iter().enumerate() {
                let want = split3(x);
                for k in 0..3 {
                    assert_eq!(
                        got[k][lane].to_bits(),
                        want[k].to_bits(),
                        "x = {x:e} piece {k}"
                    );
                }
            }
        }
    }
}
