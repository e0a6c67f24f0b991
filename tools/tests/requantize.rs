//! `export::requantize` (behind `hdon bench --dtype`) re-stores a (theta layout 1) file, f32 or
//! f32-padded, exactly as a direct export with that dtype would.

use hdon_format::{AlignedBytes, ModelFile};
use hdon_tools::checkpoint::Checkpoint;
use hdon_tools::export::{export, export_with, requantize, ThetaLayout};
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
        // Layout 1 (rows): the layout every quantized export writes. A folded f32 source is
        // unfolded first, which rounds in f64 and is checked in tests/theta_layout.rs.
        let f32_bytes = AlignedBytes::from_slice(
            &export_with(&plan, &ckpt, WeightDtype::F32, ThetaLayout::Rows)
                .unwrap()
                .bytes,
        );
        let parsed = ModelFile::parse(&f32_bytes).unwrap();
        // A padded f32 source stands for the same values: re-storing it gives the same files.
        let padded_bytes = AlignedBytes::from_slice(
            &export_with(&plan, &ckpt, WeightDtype::F32Padded, ThetaLayout::Rows)
                .unwrap()
                .bytes,
        );
        let padded = ModelFile::parse(&padded_bytes).unwrap();
        for dtype in [
            WeightDtype::F32,
            WeightDtype::F32Padded,
            WeightDtype::F16,
            WeightDtype::Bf16,
            WeightDtype::Int8,
            WeightDtype::Int8Blocked,
        ] {
            let direct = export_with(&plan, &ckpt, dtype, ThetaLayout::Rows).unwrap();
            assert_eq!(direct.bytes, export(&plan, &ckpt, dtype).unwrap().bytes);
            for (source, file) in [("f32", &parsed), ("f32-padded", &padded)] {
                let again = requantize(file, dtype).unwrap();
                assert!(
                    direct.bytes == again.bytes,
                    "{family} {dtype:?} from {source}: files differ"
                );
                assert_eq!(
                    direct.quant.len(),
                    again.quant.len(),
                    "{family} {dtype:?} from {source}"
                );
                assert_eq!(direct.quant.is_empty(), !dtype.is_lossy());
            }
        }
    }
}
