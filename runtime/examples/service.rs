//! Service-style use of hdon (feature `std`), runnable on the host:
//! `cargo run --release -p hdon-runtime --example service [model.hdon]`.
//!
//! A service loads the model file once into an aligned buffer, then answers requests: many
//! input functions at a time (`generate_batch`, rayon over functions) and many query points
//! per function (`eval_par`, rayon over points). Both give bit-identical results to the serial
//! calls; the example checks that and prints the throughput it measured.

use std::time::Instant;

use hdon_runtime::Model;

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

    // Same answers as the serial path, bit for bit.
    let mut ws1 = vec![0.0f32; model.workspace_len(1)];
    model
        .generate(&sensors[(batch - 1) * m..], &mut ws1)?
        .eval(&points, &mut serial)?;
    assert!(out
        .iter()
        .zip(&serial)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    let flops = batch as f64 * n as f64 * model.flops_per_point() as f64;
    println!(
        "generate_batch: {batch} functions in {:.3} ms; eval_par: {} points in {:.3} ms ({:.1} Mpoints/s, {:.2} GFLOP/s)",
        t_gen.as_secs_f64() * 1e3,
        batch * n,
        t_eval.as_secs_f64() * 1e3,
        (batch * n) as f64 / t_eval.as_secs_f64() / 1e6,
        flops / t_eval.as_secs_f64() / 1e9
    );
    println!("G(u_last)(y_0..3) = {:.5?}", &out[..3 * d_out]);
    Ok(())
}
