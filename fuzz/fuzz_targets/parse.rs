//! Fuzz target: any bytes -> `ModelFile::parse_with` (checksums on and off) must return Ok or a
//! typed error, never panic; a file that parses must be fully usable.
#![no_main]

use hdon_format::{f32_padded_lda, ModelFile, ParseOptions, TensorData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libFuzzer's buffer has no alignment guarantee; the parser (rightly) rejects a
    // misaligned buffer, so give it an aligned copy to reach the interesting checks.
    let mut words = vec![0u64; data.len().div_ceil(8)];
    let bytes: &mut [u8] = &mut bytemuck_words(&mut words)[..data.len()];
    bytes.copy_from_slice(data);
    let bytes: &[u8] = bytes;
    for verify_checksums in [true, false] {
        if let Ok(file) = ModelFile::parse_with(bytes, ParseOptions { verify_checksums }) {
            for t in file.tensors() {
                let n: usize = t.shape.iter().map(|&d| d as usize).product();
                assert_eq!(n, t.len());
                if let TensorData::I8 { scales, .. } | TensorData::I8Blocked { scales, .. } = t.data {
                    assert_eq!(scales.len(), t.shape[0] as usize);
                }
                if let TensorData::F32Padded(v) = t.data {
                    let lda = f32_padded_lda(t.shape[1] as u64).unwrap() as usize;
                    assert_eq!(v.len(), t.shape[0] as usize * lda);
                }
            }
            let a = file.arch();
            for net in a.networks() {
                for l in net.layers() {
                    assert!(file.tensor(l.weight).is_some());
                    assert!(l.bias.is_none_or(|b| file.tensor(b).is_some()));
                }
            }
            let _ = a.target_layers().count() + a.workspace_records().count();
            let m = file.metadata();
            let _ = m.pairs().count();
            assert_eq!(m.domain_lower.len(), a.d_y as usize);
        }
    }
});

/// Views the u64 buffer as bytes (alignment 8).
fn bytemuck_words(words: &mut [u64]) -> &mut [u8] {
    let len = words.len() * 8;
    // SAFETY: u64 has no padding and any byte pattern is a valid u8; the pointer and length
    // describe exactly the `words` allocation, borrowed mutably for the returned lifetime.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}
