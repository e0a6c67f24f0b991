//! `tile_ab`: the tile evaluator's share of the FMA peak (issue 3), tanh against folded tanh,
//! measured so that the machine's drifting speed cannot skew the comparison: the FMA peak loop
//! (`peak.rs`), the tanh network and the same network rewritten by `fold_tanh` run in turn in
//! one process, round after round, on the AVX-512 path (or the best the CPU has).
//!
//! ```text
//! tile_ab [ROUNDS]          # default 300 rounds; nets 2-w-w-w-1, w = 20, 33, 64, 100, 10,000 points
//! ```
//! Prints per width: the fastest call of each form (us, GFLOP/s by the benches' count: 2 flops
//! per multiply-add plus one per bias add), its share of the fastest FMA-peak call, the same
//! share for the net with no activation at all (the matrix loop alone: what the tanh costs is
//! the gap), the ratio tanh / folded, and the largest output difference between the two forms
//! (rounding only).

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use hdon_benches::cli::{count_arg, exit};
use hdon_kernels::{
    best_path, fold_tanh, mlp_eval_on, mlp_scratch_len, Activation, KernelError, Layer,
};

#[path = "peak.rs"]
mod peak;

fn main() -> ExitCode {
    let rounds = match count_arg("usage: tile_ab [ROUNDS]   (ROUNDS >= 1, default 300)", 300) {
        Ok(Some(r)) => r as usize,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return exit("tile_ab", Err(e)),
    };
    exit("tile_ab", run(rounds).map_err(|e| e.to_string()))
}

fn run(rounds: usize) -> Result<(), KernelError> {
    let path = best_path();
    let n = 10_000;
    let pts: Vec<f32> = (0..2 * n)
        .map(|i| ((i * 31) % 997) as f32 / 997.0 - 0.5)
        .collect();
    println!(
        "path {}, {n} points, fastest of {rounds} rounds",
        path.name()
    );
    for w in [20usize, 33, 64, 100] {
        let sizes = [2, w, w, w, 1];
        let last = sizes.len() - 2;
        // Weights ~ U(-0.3, 0.3): activations stay O(1), as in a trained net.
        let plain: Vec<Vec<f32>> = sizes
            .windows(2)
            .enumerate()
            .map(|(k, s)| {
                (0..s[1] * (s[0] + 1))
                    .map(|i| (((i * 7919 + k) % 1000) as f32 * 1e-3 - 0.5) * 0.6)
                    .collect()
            })
            .collect();
        let mut folded = plain.clone();
        for (k, (p, s)) in folded.iter_mut().zip(sizes.windows(2)).enumerate() {
            fold_tanh(p, s[0], k > 0, k < last)?;
        }
        let (tanh, fold, linear) = (
            net(&sizes, &plain, Activation::Tanh),
            net(&sizes, &folded, Activation::TanhFolded),
            net(&sizes, &plain, Activation::Identity),
        );
        let mut scratch = vec![0.0f32; mlp_scratch_len(&tanh)];
        let (mut out_t, mut out_f) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut out_l = vec![0.0f32; n];
        let (mut best_t, mut best_f, mut peak_gf) = (f64::MAX, f64::MAX, 0.0f64);
        let mut best_l = f64::MAX;
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(peak::fma_peak());
            peak_gf = peak_gf.max(peak::fma_flops() as f64 / t.elapsed().as_secs_f64() / 1e9);
            let t = Instant::now();
            mlp_eval_on(path, &tanh, black_box(&pts), &mut out_t, &mut scratch)?;
            best_t = best_t.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            mlp_eval_on(path, &fold, black_box(&pts), &mut out_f, &mut scratch)?;
            best_f = best_f.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            mlp_eval_on(path, &linear, black_box(&pts), &mut out_l, &mut scratch)?;
            best_l = best_l.min(t.elapsed().as_secs_f64());
        }
        let diff = out_t
            .iter()
            .zip(&out_f)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let flops: usize = sizes.windows(2).map(|s| 2 * s[0] * s[1] + s[1]).sum();
        let gf = |secs: f64| (flops * n) as f64 / secs / 1e9;
        let pct = |secs: f64| 100.0 * gf(secs) / peak_gf;
        println!(
            "w{w}: tanh {:.1} us {:.1} GFLOP/s {:.1} % | folded {:.1} us {:.1} GFLOP/s {:.1} % \
             | no activation {:.1} % | FMA peak {peak_gf:.0} GFLOP/s | tanh/folded {:.3} \
             | max |diff| {diff:.1e}",
            best_t * 1e6,
            gf(best_t),
            pct(best_t),
            best_f * 1e6,
            gf(best_f),
            pct(best_f),
            pct(best_l),
            best_t / best_f,
        );
    }
    Ok(())
}

/// The chain `sizes` over `params` (one block per layer), `hidden` on every layer but the last
/// (identity).
fn net<'a>(sizes: &[usize], params: &'a [Vec<f32>], hidden: Activation) -> Vec<Layer<'a>> {
    let last = sizes.len() - 2;
    sizes
        .windows(2)
        .zip(params)
        .enumerate()
        .map(|(k, (s, p))| Layer {
            n_in: s[0],
            n_out: s[1],
            act: if k < last {
                hidden
            } else {
                Activation::Identity
            },
            params: p,
        })
        .collect()
}
