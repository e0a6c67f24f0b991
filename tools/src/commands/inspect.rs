//! `hdon inspect model.hdon`: everything a deployment needs to know about a file.

use super::print_json;
use crate::export::WORKSPACE_BATCHES;
use crate::model_file::LoadedFile;
use anyhow::{anyhow, Result};
use hdon_format::{Affine, Family, ModelFile, Role};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Arguments of `hdon inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .hdon file.
    pub model: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Weights + biases of dense layers `(n_in, n_out)`.
fn dense_params(layers: &[(u32, u32)]) -> u64 {
    layers.iter().map(|&(i, o)| o as u64 * (i as u64 + 1)).sum()
}

/// A short description of a sensor grid: count, dimension, per-coordinate range, and whether
/// a 1-D grid is uniform.
pub fn sensor_summary(sensors: &[f32], dim: u32) -> Value {
    let dim = dim.max(1) as usize;
    let m = sensors.len() / dim;
    let mut ranges = Vec::new();
    for c in 0..dim {
        let (lo, hi) = sensors
            .iter()
            .skip(c)
            .step_by(dim)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        ranges.push(json!([lo, hi]));
    }
    let uniform = dim == 1 && m > 2 && {
        let step = (sensors[m - 1] - sensors[0]) / (m - 1) as f32;
        sensors
            .windows(2)
            .all(|w| ((w[1] - w[0]) - step).abs() <= 1e-4 * step.abs().max(f32::MIN_POSITIVE))
    };
    json!({ "m": m, "dim": dim, "range": ranges, "uniform": uniform })
}

fn affine_json(a: &Option<Affine<'_>>) -> Value {
    match a {
        Some(a) => json!({ "mean": a.mean, "std": a.std }),
        None => Value::Null,
    }
}

/// Builds the inspect report of a parsed file (also used by `hdon demo`).
pub fn report(path: &str, file: &ModelFile<'_>, model: &hdon_runtime::Model<'_>) -> Value {
    let arch = file.arch();
    let meta = file.metadata();
    let family = arch.family;
    let mut networks = Vec::new();
    let (mut generate_params, mut target_stored) = (0u64, 0u64);
    for net in arch.networks() {
        let mut layers = Vec::new();
        let mut sizes = Vec::new();
        for l in net.layers() {
            let dtype = file.tensor(l.weight).map_or("?", |t| t.dtype().name());
            sizes.push((l.n_in, l.n_out));
            layers.push(json!({
                "n_in": l.n_in, "n_out": l.n_out, "activation": l.activation.name(),
                "prelu_slope": if l.activation.name() == "prelu" { json!(l.activation.slope()) } else { Value::Null },
                "dtype": dtype,
                "stored": if net.role.is_target_side() { "packed [n_out, n_in + 1] f32" } else { "[n_out, n_in] + bias f32" },
            }));
        }
        let mut params = dense_params(&sizes);
        if net.role == Role::Branch && matches!(family, Family::DeepONet | Family::ShiftDeepONet) {
            // d_out inserted rows of zero weights: only their bias (b0) is a parameter.
            let n_in = sizes.last().map_or(0, |s| s.0) as u64;
            params -= arch.d_out as u64 * n_in;
        }
        if net.role.is_target_side() {
            target_stored += params;
        } else {
            generate_params += params;
        }
        networks.push(json!({
            "role": net.role.name(),
            "side": if net.role.is_target_side() { "target (eval)" } else { "generate (u-dependent)" },
            "params": params,
            "layers": layers,
        }));
    }
    if let Some(ci) = arch.chunk_embeddings {
        generate_params += file.tensor(ci).map_or(0, |t| t.len() as u64);
    }
    let target: Vec<Value> = arch
        .target_layers()
        .map(|l| json!({ "n_in": l.n_in, "n_out": l.n_out, "activation": l.activation.name() }))
        .collect();
    // Parameters the target net has at eval time: generated (hyper) or stored (trunk/decoder),
    // plus for the DeepONet-style families the generated combination layer.
    let target_params = if family.is_hyper() {
        arch.n_theta as u64
    } else {
        target_stored
    };
    let mut bytes_by_dtype = std::collections::BTreeMap::<&str, u64>::new();
    for t in file.tensors() {
        *bytes_by_dtype.entry(t.dtype().name()).or_default() += (t.len() * t.dtype().size()) as u64;
    }
    let workspace: Vec<Value> = WORKSPACE_BATCHES
        .iter()
        .map(|&b| {
            let recorded = arch.workspace_len(b);
            let len = model.workspace_len(b as usize) as u64;
            json!({ "batch": b, "f32": len, "bytes": len * 4, "recorded_in_file": recorded.is_some() })
        })
        .collect();
    let (major, minor) = file.version();
    json!({
        "file": path,
        "format_version": format!("{major}.{minor}"),
        "file_bytes": file.file_len(),
        "checksums": "verified (CRC32C header + every section)",
        "name": meta.model_name,
        "family": family.name(),
        "n_sensors": arch.n_sensors,
        "d_y": arch.d_y,
        "d_out": arch.d_out,
        "p": arch.p,
        "n_theta": arch.n_theta,
        "theta_layout": arch.theta_layout,
        "chunks": if family == Family::ChunkedHyperDeepONet { json!({"n_chunks": arch.n_chunks, "chunk_size": arch.chunk_size, "d_z": arch.d_z}) } else { Value::Null },
        "networks": networks,
        "target": target,
        "params": { "generate": generate_params, "target": target_params, "stored_total": generate_params + if family.is_hyper() { 0 } else { target_stored } },
        "flops": { "generate": model.flops_generate(), "per_point": model.flops_per_point() },
        "tensors": { "count": file.tensor_count(), "bytes_by_dtype": bytes_by_dtype },
        "workspace": workspace,
        "sensors": sensor_summary(meta.sensors, meta.sensor_dim),
        "domain": { "lower": meta.domain_lower, "upper": meta.domain_upper },
        "normalization": {
            "sensors": affine_json(&meta.sensor_norm),
            "points": affine_json(&meta.point_norm),
            "output": affine_json(&meta.output_norm),
        },
        "provenance": { "framework": meta.framework, "dataset": meta.dataset, "test_rel_l2": meta.test_rel_l2 },
        "extra": meta.pairs().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

fn short(v: &Value) -> String {
    match v {
        Value::Array(a) if a.len() > 6 => {
            let head: Vec<String> = a.iter().take(4).map(|x| x.to_string()).collect();
            format!("[{}, ... ({} values)]", head.join(", "), a.len())
        }
        Value::Null => "none".into(),
        v => v.to_string(),
    }
}

/// Prints the report as text.
pub fn print_text(r: &Value) {
    println!(
        "{}  ({}, format {}, {} bytes, checksums {})",
        r["file"].as_str().unwrap_or(""),
        r["name"].as_str().unwrap_or(""),
        r["format_version"].as_str().unwrap_or(""),
        r["file_bytes"],
        r["checksums"].as_str().unwrap_or("")
    );
    print!(
        "family {}: m = {}, d_y = {}, d_out = {}",
        r["family"].as_str().unwrap_or(""),
        r["n_sensors"],
        r["d_y"],
        r["d_out"]
    );
    if r["p"].as_u64() != Some(0) {
        print!(", p = {}", r["p"]);
    }
    if r["n_theta"].as_u64() != Some(0) {
        print!(", N_theta = {}", r["n_theta"]);
        if r["theta_layout"].as_u64() == Some(u64::from(hdon_format::THETA_LAYOUT_FOLDED)) {
            print!(" (theta layout 2: normalizations and tanh folded in)");
        }
    }
    if !r["chunks"].is_null() {
        print!(
            ", chunks {} x {} (d_z = {})",
            r["chunks"]["n_chunks"], r["chunks"]["chunk_size"], r["chunks"]["d_z"]
        );
    }
    println!();
    println!(
        "\n{:<8} {:<5} {:>7} {:>7} {:<10} {:<10} {:>10}  side",
        "network", "layer", "n_in", "n_out", "activation", "dtype", "params"
    );
    for net in r["networks"].as_array().into_iter().flatten() {
        for (i, l) in net["layers"].as_array().into_iter().flatten().enumerate() {
            let params = l["n_out"].as_u64().unwrap_or(0) * (l["n_in"].as_u64().unwrap_or(0) + 1);
            println!(
                "{:<8} {:<5} {:>7} {:>7} {:<10} {:<10} {:>10}  {}",
                net["role"].as_str().unwrap_or(""),
                i,
                l["n_in"].as_u64().unwrap_or(0),
                l["n_out"].as_u64().unwrap_or(0),
                l["activation"].as_str().unwrap_or(""),
                l["dtype"].as_str().unwrap_or(""),
                params,
                net["side"].as_str().unwrap_or("")
            );
        }
    }
    for (i, l) in r["target"].as_array().into_iter().flatten().enumerate() {
        let params = l["n_out"].as_u64().unwrap_or(0) * (l["n_in"].as_u64().unwrap_or(0) + 1);
        println!(
            "{:<8} {:<5} {:>7} {:>7} {:<10} {:<10} {:>10}  target (generated theta)",
            "target",
            i,
            l["n_in"].as_u64().unwrap_or(0),
            l["n_out"].as_u64().unwrap_or(0),
            l["activation"].as_str().unwrap_or(""),
            "f32",
            params
        );
    }
    println!(
        "\nparameters: {} in u-dependent networks, {} in the target net{}",
        r["params"]["generate"],
        r["params"]["target"],
        if r["n_theta"].as_u64() != Some(0) {
            " (generated per input function)"
        } else {
            " (stored)"
        }
    );
    println!(
        "FLOPs: {} per generate, {} per query point",
        r["flops"]["generate"], r["flops"]["per_point"]
    );
    println!(
        "tensors: {} ({})",
        r["tensors"]["count"], r["tensors"]["bytes_by_dtype"]
    );
    print!("workspace bytes:");
    for w in r["workspace"].as_array().into_iter().flatten() {
        print!(" batch {} = {}", w["batch"], w["bytes"]);
    }
    println!();
    let s = &r["sensors"];
    println!(
        "sensors: m = {}, dim {}, range {}{}",
        s["m"],
        s["dim"],
        s["range"],
        if s["uniform"].as_bool() == Some(true) {
            ", uniform grid"
        } else {
            ""
        }
    );
    println!(
        "domain: lower {} upper {}",
        r["domain"]["lower"], r["domain"]["upper"]
    );
    for key in ["sensors", "points", "output"] {
        let n = &r["normalization"][key];
        if n.is_null() {
            println!("normalization {key}: none");
        } else {
            println!(
                "normalization {key}: mean {} std {}",
                short(&n["mean"]),
                short(&n["std"])
            );
        }
    }
    let p = &r["provenance"];
    println!(
        "provenance: framework '{}', dataset '{}', test rel L2 {}",
        p["framework"].as_str().unwrap_or(""),
        p["dataset"].as_str().unwrap_or(""),
        short(&p["test_rel_l2"])
    );
    for kv in r["extra"].as_array().into_iter().flatten() {
        println!(
            "  {} = {}",
            kv[0].as_str().unwrap_or(""),
            kv[1].as_str().unwrap_or("")
        );
    }
}

/// Runs `hdon inspect`.
pub fn run(a: Args) -> Result<()> {
    let loaded = LoadedFile::read(&a.model)?;
    let file = ModelFile::parse(&loaded.bytes)
        .map_err(|e| anyhow!("{}: not a valid .hdon file: {e}", a.model.display()))?;
    let model = loaded.model()?;
    let r = report(&a.model.display().to_string(), &file, &model);
    if a.json {
        print_json(&r)
    } else {
        print_text(&r);
        Ok(())
    }
}
