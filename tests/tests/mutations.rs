//! No panics on any input: valid model files with random byte mutations (checksums not
//! verified, so the mutations reach the structure checks and the numeric path) either fail to
//! load with an error or load and then generate/eval with errors or numbers, never a panic.

use hdon_format::AlignedBytes;
use hdon_runtime::{Model, NonFinite, Options};
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Rng, Spec};

#[test]
fn mutated_files_never_panic() {
    let opts = Options {
        verify_checksums: false,
        nonfinite: NonFinite::Propagate,
    };
    let mut rng = Rng(77);
    let mut loaded = 0usize;
    let mut rejected = 0usize;
    for fam in hdon_tests::FAMILIES {
        let spec = Spec::small(fam);
        let good = to_hdon(&random_model(&spec), spec.weights);
        for _ in 0..400 {
            let mut bad = good.clone();
            for _ in 0..rng.range(1, 3) {
                let k = rng.range(0, bad.len() - 1);
                bad[k] = (rng.next_u64() & 0xFF) as u8;
            }
            let bytes = AlignedBytes::from_slice(&bad);
            match Model::from_bytes_with(&bytes, opts) {
                Err(_) => rejected += 1,
                Ok(model) => {
                    loaded += 1;
                    let need = model.workspace_len(1);
                    if need > 1 << 22 {
                        continue;
                    }
                    let mut ws = vec![0.0f32; need];
                    let sensors = vec![0.5f32; model.n_sensors().min(1 << 16)];
                    if let Ok(mut t) = model.generate(&sensors, &mut ws) {
                        let pts = vec![0.25f32; 9 * model.d_y()];
                        let mut out = vec![0.0f32; 9 * model.d_out()];
                        let _ = t.eval(&pts, &mut out);
                    }
                }
            }
        }
    }
    // Both outcomes happen (mutations of tensor data load fine; of the structure, not).
    assert!(
        loaded > 0 && rejected > 0,
        "loaded {loaded}, rejected {rejected}"
    );
}

#[test]
fn model_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Model<'static>>();
    eprintln!(
        "size_of Model = {} bytes, Target = {} bytes",
        std::mem::size_of::<Model<'static>>(),
        std::mem::size_of::<hdon_runtime::Target<'static>>()
    );
}
