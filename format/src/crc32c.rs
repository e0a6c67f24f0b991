//! CRC32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor
//! 0xFFFFFFFF. `crc32c(b"123456789") == 0xE3069283`.
//!
//! Two implementations held together by tests:
//! - [`crc32c_append_portable`]: table-driven slice-by-8, the reference, any target;
//! - on x86-64, the SSE4.2 `crc32` instruction, three interleaved streams combined with
//!   GF(2) polynomial arithmetic ([`crc32c_combine`]). It is chosen at run time
//!   (`is_x86_feature_detected!`, cached) with feature `std`, and at compile time
//!   (`cfg!(target_feature = "sse4.2")`) without.

/// The reflected CRC32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// Slice-by-8 tables: `TABLE[0]` is the classic byte table, `TABLE[k][b]` the CRC of byte `b`
/// followed by `k` zero bytes.
static TABLE: [[u32; 256]; 8] = make_table();

const fn make_table() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 8 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

/// CRC32C of `bytes` (the checksum used by the format).
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c_append(0, bytes)
}

/// Continues a CRC32C: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
/// Uses the hardware path when available (see the module docs).
pub fn crc32c_append(crc: u32, bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if sse42::available() {
        // SAFETY: `available()` returned true, so the CPU supports SSE4.2.
        return unsafe { sse42::crc32c_append(crc, bytes) };
    }
    crc32c_append_portable(crc, bytes)
}

/// CRC32C of `bytes` by the portable slice-by-8 path (the reference twin of [`crc32c`]).
pub fn crc32c_portable(bytes: &[u8]) -> u32 {
    crc32c_append_portable(0, bytes)
}

/// Continues a CRC32C with the portable slice-by-8 path.
pub fn crc32c_append_portable(crc: u32, bytes: &[u8]) -> u32 {
    let t = &TABLE;
    let mut c = !crc;
    let mut chunks = bytes.chunks_exact(8);
    for ch in &mut chunks {
        let lo = u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]) ^ c;
        let hi = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        c = t[7][(lo & 0xFF) as usize]
            ^ t[6][((lo >> 8) & 0xFF) as usize]
            ^ t[5][((lo >> 16) & 0xFF) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xFF) as usize]
            ^ t[2][((hi >> 8) & 0xFF) as usize]
            ^ t[1][((hi >> 16) & 0xFF) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// True when [`crc32c`] uses the SSE4.2 instruction on this machine.
pub fn crc32c_is_hardware() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        sse42::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `a * b mod P` in the reflected representation (bit 31 is x^0).
const fn mul_mod_p(a: u32, mut b: u32) -> u32 {
    let mut m = 1u32 << 31;
    let mut p = 0u32;
    while m != 0 {
        if a & m != 0 {
            p ^= b;
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// `x^(2^k) mod P` for k = 0..64, reflected.
static X2N: [u32; 64] = make_x2n();

const fn make_x2n() -> [u32; 64] {
    let mut t = [0u32; 64];
    let mut p = 1u32 << 30; // x^1
    let mut k = 0;
    while k < 64 {
        t[k] = p;
        p = mul_mod_p(p, p);
        k += 1;
    }
    t
}

/// `x^(8 * len) mod P`: the operator that appends `len` zero bytes.
fn x8n_mod_p(len: u64) -> u32 {
    let mut p = 1u32 << 31; // x^0
    let mut n = len;
    let mut k = 3; // 8 * len = len * 2^3
    while n != 0 && k < 64 {
        if n & 1 != 0 {
            p = mul_mod_p(X2N[k], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

/// CRC32C of `a ++ b` from `crc1 = crc32c(a)`, `crc2 = crc32c(b)` and `len2 = b.len()`.
pub fn crc32c_combine(crc1: u32, crc2: u32, len2: u64) -> u32 {
    mul_mod_p(x8n_mod_p(len2), crc1) ^ crc2
}

#[cfg(target_arch = "x86_64")]
mod sse42 {
    use core::arch::x86_64::_mm_crc32_u64;
    use core::arch::x86_64::_mm_crc32_u8;

    /// Buffers shorter than this run one stream (combining costs about 200 ns-worth of
    /// shifts, worth it only for long inputs).
    const THREE_WAY_MIN: usize = 3 * 1024;

    #[cfg(feature = "std")]
    pub(super) fn available() -> bool {
        use core::sync::atomic::{AtomicU8, Ordering};
        // 0 = unknown, 1 = no, 2 = yes.
        static STATE: AtomicU8 = AtomicU8::new(0);
        match STATE.load(Ordering::Relaxed) {
            1 => false,
            2 => true,
            _ => {
                let yes = std::is_x86_feature_detected!("sse4.2");
                STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
        }
    }

    #[cfg(not(feature = "std"))]
    pub(super) fn available() -> bool {
        cfg!(target_feature = "sse4.2")
    }

    /// Continues a CRC32C with the SSE4.2 `crc32` instruction.
    ///
    /// # Safety
    /// The CPU must support SSE4.2. Reads exactly `bytes` (safe slice accesses only).
    #[target_feature(enable = "sse4.2")]
    pub(super) unsafe fn crc32c_append(crc: u32, bytes: &[u8]) -> u32 {
        if bytes.len() < THREE_WAY_MIN {
            return !stream(!crc, bytes);
        }
        // Three equal parts of a multiple of 8 bytes, run interleaved (the instruction has a
        // latency of 3 cycles and a throughput of 1), then the tail.
        let part = bytes.len() / 24 * 8;
        let (a, rest) = bytes.split_at(part);
        let (b, rest) = rest.split_at(part);
        let (c, tail) = rest.split_at(part);
        let mut sa = !crc as u64;
        let mut sb = !0u32 as u64;
        let mut sc = !0u32 as u64;
        for ((xa, xb), xc) in a
            .chunks_exact(8)
            .zip(b.chunks_exact(8))
            .zip(c.chunks_exact(8))
        {
            sa = _mm_crc32_u64(sa, word(xa));
            sb = _mm_crc32_u64(sb, word(xb));
            sc = _mm_crc32_u64(sc, word(xc));
        }
        let (ca, cb, cc) = (!(sa as u32), !(sb as u32), !(sc as u32));
        let ab = super::crc32c_combine(ca, cb, part as u64);
        let abc = super::crc32c_combine(ab, cc, part as u64);
        !stream(!abc, tail)
    }

    /// Runs the raw (un-inverted) CRC state `s` over `bytes`, 8 bytes at a time.
    #[target_feature(enable = "sse4.2")]
    fn stream(s: u32, bytes: &[u8]) -> u32 {
        let mut s64 = s as u64;
        let mut chunks = bytes.chunks_exact(8);
        for ch in &mut chunks {
            s64 = _mm_crc32_u64(s64, word(ch));
        }
        let mut s = s64 as u32;
        for &x in chunks.remainder() {
            s = _mm_crc32_u8(s, x);
        }
        s
    }

    #[inline(always)]
    fn word(ch: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&ch[..8]);
        u64::from_le_bytes(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_portable(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 (iSCSI) B.4 test vectors.
        assert_eq!(crc32c_portable(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c_portable(&[0xFFu8; 32]), 0x62A8_AB43);
        let inc: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(crc32c_portable(&inc), 0x46DD_794E);
        let dec: [u8; 32] = core::array::from_fn(|i| 31 - i as u8);
        assert_eq!(crc32c_portable(&dec), 0x113F_DB5C);
    }

    /// xorshift64*, the same generator the format tests use.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn fast_matches_portable_on_random_lengths_and_alignments() {
        let mut s = 0x1234_5678_9ABC_DEF0u64;
        let buf: std::vec::Vec<u8> = (0..40_000).map(|_| next(&mut s) as u8).collect();
        for round in 0..400 {
            let start = (next(&mut s) % 64) as usize;
            let len = if round % 4 == 0 {
                (next(&mut s) % 30_000) as usize
            } else {
                (next(&mut s) % 200) as usize
            };
            let b = &buf[start..start + len];
            let seed = next(&mut s) as u32;
            assert_eq!(
                crc32c_append(seed, b),
                crc32c_append_portable(seed, b),
                "start {start} len {len}"
            );
        }
        std::println!("hardware path: {}", crc32c_is_hardware());
    }

    #[test]
    fn bytewise_reference_and_combine() {
        let mut s = 99u64;
        let buf: std::vec::Vec<u8> = (0..5000).map(|_| next(&mut s) as u8).collect();
        // Plain bit-at-a-time definition.
        let mut c = !0u32;
        for &b in &buf {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
        }
        assert_eq!(!c, crc32c_portable(&buf));
        for split in [0usize, 1, 7, 8, 100, 2500, 4999, 5000] {
            let (a, b) = buf.split_at(split);
            assert_eq!(
                crc32c_combine(crc32c(a), crc32c(b), b.len() as u64),
                crc32c(&buf)
            );
            assert_eq!(crc32c_append(crc32c(a), b), crc32c(&buf));
        }
    }
}
