//! `workloads`: lists the benchmark workloads, or dumps them for the peers.
//!
//! ```text
//! workloads list
//! workloads export DIR [NAME...]     # every workload when no NAME is given
//! ```
//! `export` writes, per workload, `DIR/NAME/`: `workload.json` (sizes, activations, flops),
//! `sensors.npy` `[batch, m]`, `points.npy` `[n_points, d_y]`, and the weights in paper layout as
//! `<role>.<i>.weight.npy` `[out, in]` / `<role>.<i>.bias.npy` `[out]` (roles `hyper`, or
//! `branch` + `trunk`, plus `b0.npy` `[d_out]` for DeepONet): the checkpoint slot names of
//! docs/EXPORT.md. Also `model.toml` + `checkpoint.safetensors`, the same model as `hdon export`
//! input (`hdon export --spec DIR/NAME/model.toml ...`), and that model's file
//! `model-f32.hdon` (for `benches/peers/peers.py interleave`, which calls hdon's C API).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hdon_benches::cli::{exit, wants_help, workload, Error};
use hdon_benches::{npy, Dense, Spec, SPECS};
use serde_json::json;

fn main() -> ExitCode {
    let usage = "usage: workloads list | workloads export DIR [NAME...]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        _ if wants_help(&args) => {
            println!("{usage}");
            Ok(())
        }
        ["list"] => {
            list();
            Ok(())
        }
        ["export", dir, ..] if !dir.starts_with('-') => export(Path::new(dir), &args[2..]),
        _ => Err(Error::Usage(usage.to_string())),
    };
    exit("workloads", result)
}

fn list() {
    println!(
        "{:<20} {:>9} {:>6} {:>8} {:>12} {:>10}  about",
        "name", "params", "batch", "points", "flops/gen", "flops/pt"
    );
    for s in SPECS {
        println!(
            "{:<20} {:>9} {:>6} {:>8} {:>12} {:>10}  {}",
            s.name,
            s.params(),
            s.batch,
            s.n_points,
            s.flops_generate(),
            s.flops_per_point(),
            s.about
        );
    }
}

fn export(dir: &Path, names: &[String]) -> Result<(), Error> {
    for name in names {
        workload(name)?;
    }
    for s in SPECS
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
    {
        let out = dir.join(s.name);
        export_one(s, &out).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn export_one(s: &Spec, out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let w = s.build();
    npy::write_f32(&out.join("sensors.npy"), &[s.batch, s.m], &w.sensors)?;
    npy::write_f32(&out.join("points.npy"), &[s.n_points, s.d_y], &w.points)?;
    write_net(out, s.generate_role(), &w.generate)?;
    write_net(out, "trunk", &w.trunk)?;
    if !w.b0.is_empty() {
        npy::write_f32(&out.join("b0.npy"), &[s.d_out], &w.b0)?;
    }
    let layers = |net: &[Dense]| -> Vec<serde_json::Value> {
        net.iter()
            .map(|l| json!({"n_in": l.n_in, "n_out": l.n_out, "act": l.act.name()}))
            .collect()
    };
    let target: Vec<serde_json::Value> = s
        .target_layers()
        .iter()
        .map(|l| json!({"n_in": l.n_in, "n_out": l.n_out, "act": l.act.name()}))
        .collect();
    let meta = json!({
        "name": s.name,
        "order": SPECS.iter().position(|t| t.name == s.name),
        "about": s.about,
        "family": s.family.name(),
        "m": s.m,
        "d_y": s.d_y,
        "d_out": s.d_out,
        "p": s.p(),
        "n_theta": s.n_theta(),
        "batch": s.batch,
        "n_points": s.n_points,
        "params": s.params(),
        "flops_generate": s.flops_generate(),
        "flops_per_point": s.flops_per_point(),
        "generate_role": s.generate_role(),
        "generate": layers(&w.generate),
        "trunk": layers(&w.trunk),
        "target": target,
    });
    let text = serde_json::to_string_pretty(&meta).map_err(std::io::Error::other)?;
    std::fs::write(out.join("workload.json"), text)?;
    std::fs::write(out.join("model.toml"), s.spec_toml())?;
    // The hdon model file itself (f32), for peers that call hdon through its C API
    // (`peers.py interleave`).
    let bytes = hdon_benches::model::model_bytes(&w, hdon_benches::WeightType::F32)
        .map_err(std::io::Error::other)?;
    std::fs::write(out.join("model-f32.hdon"), bytes)?;
    write_checkpoint(&out.join("checkpoint.safetensors"), &w)
}

/// The weights as a safetensors checkpoint with the slot names of preset `hdon` (what
/// `hdon export --spec model.toml` reads), encoded by the export tool's own writer.
fn write_checkpoint(path: &Path, w: &hdon_benches::Workload) -> std::io::Result<()> {
    let ckpt = hdon_benches::model::checkpoint(w);
    let list: Vec<(&str, &[usize], &[f32])> = ckpt
        .tensors
        .iter()
        .map(|(name, a)| (name.as_str(), &a.shape[..], &a.data[..]))
        .collect();
    let bytes = hdon_tools::checkpoint::encode_safetensors(&list).map_err(std::io::Error::other)?;
    std::fs::write(path, bytes)
}

fn write_net(out: &Path, role: &str, net: &[Dense]) -> std::io::Result<()> {
    for (i, l) in net.iter().enumerate() {
        let file = |kind: &str| -> PathBuf { out.join(format!("{role}.{i}.{kind}.npy")) };
        npy::write_f32(&file("weight"), &[l.n_out, l.n_in], &l.weight)?;
        npy::write_f32(&file("bias"), &[l.n_out], &l.bias)?;
    }
    Ok(())
}
