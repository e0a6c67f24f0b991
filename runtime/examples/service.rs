//! Service-style use of hdon (feature `std`), runnable on the host:
//! `cargo run --release -p hdon-runtime --example service [model.hdon]`.
//!
//! A service loads the model file once into an aligned buffer, then answers requests: many
//! input functions at a time (`generate_batch`, rayon over functions) and many query points
//! per function (`eval_par`, rayon over points), then the same on a `Team` of spinning workers
//! (`generate_batch_on`, `eval_on`). The example checks their results against the serial calls
//! (`eval_par`: the same bits; `generate_batch`: the same bits, or equal to rounding for a
//! HyperDeepONet batch of 4 or more) and prints the throughput it measured.

use std::time::{Duration, Instant};

use hdon_runtime::{Model, Team};

/// 64-byte aligned storage for the file: a Vec<u64>-backed buffer would give 8; 4 is the
/// minimum the runtime accepts.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Block([u8; 64]);

fn read_aligned(path: &str) -> std::io::Result<(Vec<Block>, usize)> {
    let bytes = std::fs::read(path)?;
    let mut blocks = vec![Block([0; 64]); bytes.len().div_ceil(64)];
    for (b, chunk) in blocks.iter_mut().zip(bytes.chunks(64)) {
        b.0[..chunk.len()].copy_from_slice(chunk);
    }
    Ok((blocks, bytes.len()))
}

fn as_bytes(blocks: &[Block], len: usize) -> &[u8] {
    // SAFETY: Block is 64 plain bytes with no padding; len <= 64 * blocks.len().
    unsafe { std::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), len) }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/model.hdon");
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default.to_string());
    let (blocks, len) = read_aligned(&path)?;
    let model = Model::from_bytes(as_bytes(&blocks, len))?;
    let (m, d_y, d_out) = (model.n_sensors(), model.d_y(), model.d_out());
    println!(
        "{path}: {:?}, m = {m}, d_y = {d_y}, d_out = {d_out}",
        model.family()
    );

    // A request: 32 input functions, 20 000 query points on the unit cube.
    let batch = 32;
    let n = 20_000;
    let sensors: Vec<f32> = (0..batch * m).map(|i| (i as f32 * 0.37).sin()).collect();
    let points: Vec<f32> = (0..n * d_y).map(|i| (i % 1000) as f32 / 1000.0).collect();
    let mut workspace = vec![0.0f32; model.workspace_len(batch)];
    let mut out = vec![0.0f32; n * d_out];
    let mut serial = vec![0.0f32; n * d_out];

    let t0 = Instant::now();
    let mut targets = model.generate_batch(&sensors, &mut workspace)?;
    let t_gen = t0.elapsed();
    let t1 = Instant::now();
    for i in 0..targets.len() {
        targets.target(i)?.eval_par(&points, &mut out)?;
    }
    let t_eval = t1.elapsed();

    // eval_par gives the serial eval's bits on the same target ...
    targets.target(batch - 1)?.eval(&points, &mut serial)?;
    assert!(same_bits(&out, &serial), "eval_par differs from eval");
    // ... and generate_batch the serial generate's targets: bit for bit, or, for a
    // HyperDeepONet batch of 4 or more (its hypernetwork sums in another order), to rounding.
    let mut ws1 = vec![0.0f32; model.workspace_len(1)];
    let mut alone = vec![0.0f32; n * d_out];
    model
        .generate(&sensors[(batch - 1) * m..], &mut ws1)?
        .eval(&points, &mut alone)?;
    let worst = out
        .iter()
        .zip(&alone)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "generate_batch vs generate: {worst:e}");

    let flops = batch as f64 * n as f64 * model.flops_per_point() as f64;
    println!(
        "generate_batch: {batch} functions in {:.3} ms; eval_par: {} points in {:.3} ms ({:.1} Mpoints/s, {:.2} GFLOP/s)",
        t_gen.as_secs_f64() * 1e3,
        batch * n,
        t_eval.as_secs_f64() * 1e3,
        (batch * n) as f64 / t_eval.as_secs_f64() / 1e6,
        flops / t_eval.as_secs_f64() / 1e9
    );

    // The same request on a Team: as many threads as rayon's pool, whose workers poll for the
    // next call for 1 ms instead of falling asleep between calls. The same bits as on rayon.
    let team = Team::new(rayon::current_num_threads(), Duration::from_millis(1))?;
    let t2 = Instant::now();
    let mut targets = model.generate_batch_on(&team, &sensors, &mut workspace)?;
    for i in 0..targets.len() {
        targets.target(i)?.eval_on(&team, &points, &mut out)?;
    }
    let t_team = t2.elapsed();
    assert!(
        same_bits(&out, &serial),
        "the team's results differ from rayon's"
    );
    println!(
        "on a team of {} threads (spin 1 ms): generate_batch_on + eval_on in {:.3} ms",
        team.threads(),
        t_team.as_secs_f64() * 1e3
    );
    println!("G(u_last)(y_0..3) = {:.5?}", &out[..3 * d_out]);
    Ok(())
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
