//! `export::requantize` (behind `hdon bench --dtype`) re-stores a file exactly as a direct
//! export with that dtype would.

use hdon_format::{AlignedBytes, ModelFile};
use hdon_tools::checkpoint::Checkpoint;
use hdon_tools::export::{export, requantize};
use hdon_tools::quantize::WeightDtype;
use hdon_tools::spec::Spec;
use std::path::Path;

#[test]
fn requantizing_an_f32_file_equals_exporting_with_that_dtype() {
    for family in ["deeponet", "hyper", "chunked_hyper", "nomad"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(family);
        let plan = Spec::read(&dir.join("model.toml"))
            .unwrap()
            .validate()
            .unwrap();
        let ckpt = Checkpoint::read(&dir.join("checkpoint.safetensors")).unwrap();
        let f32_bytes =
            AlignedBytes::from_slice(&export(&plan, &ckpt, WeightDtype::F32).unwrap().bytes);
        let parsed = ModelFile::parse(&f32_bytes).unwrap();
        for dtype in [
            WeightDtype::F32,
            WeightDtype::F16,
            WeightDtype::Bf16,
            WeightDtype::Int8,
        ] {
            let direct = export(&plan, &ckpt, dtype).unwrap();
            let again = requantize(&parsed, dtype).unwrap();
            assert!(
                direct.bytes == again.bytes,
                "{family} {dtype:?}: files differ"
            );
            assert_eq!(
                direct.quant.len(),
                again.quant.len() * usize::from(dtype != WeightDtype::F32),
                "{family} {dtype:?}"
            );
        }
    }
}
