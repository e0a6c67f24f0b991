//! Loading `.hdon` files for the commands, and running a model over many input functions.

use crate::testset::TestSet;
use anyhow::{anyhow, Context, Result};
use hdon_format::AlignedBytes;
use hdon_runtime::Model;
use std::path::{Path, PathBuf};

/// A model file's bytes in a 64-byte aligned buffer (the parser needs 4-byte alignment).
pub struct LoadedFile {
    /// Where it came from.
    pub path: PathBuf,
    /// The bytes.
    pub bytes: AlignedBytes,
}

impl LoadedFile {
    /// Reads a file.
    pub fn read(path: &Path) -> Result<LoadedFile> {
        let bytes = AlignedBytes::read(path)
            .with_context(|| format!("cannot read model {}", path.display()))?;
        Ok(LoadedFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// Wraps bytes built in memory; `name` stands for the path in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> LoadedFile {
        LoadedFile {
            path: PathBuf::from(name),
            bytes: AlignedBytes::from_slice(bytes),
        }
    }

    /// The runtime's view (structure, checksums and workspace records are checked).
    pub fn model(&self) -> Result<Model<'_>> {
        Model::from_bytes(&self.bytes).map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }
}

/// Runs `model` on `n` input functions: `sensors` `[n, m]`, `points_of(i)` gives function i's
/// `[P, d_y]` points; returns `[n, P, d_out]`. `tick` is called after each function.
/// `names` says where the sensors and the points came from (e.g. `u.npy`), for errors such
/// as a NaN input.
pub fn predict<'p>(
    model: &Model<'_>,
    n: usize,
    sensors: &[f32],
    points_of: impl Fn(usize) -> &'p [f32],
    names: (&str, &str),
    mut tick: impl FnMut(),
) -> Result<Vec<f32>> {
    let m = model.n_sensors();
    let mut workspace = vec![0f32; model.workspace_len(1)];
    let mut out = Vec::new();
    for i in 0..n {
        let points = points_of(i);
        let start = out.len();
        out.resize(start + points.len() / model.d_y() * model.d_out(), 0.0);
        let mut target = model
            .generate(&sensors[i * m..(i + 1) * m], &mut workspace)
            .map_err(|e| anyhow!("{}: generate for input function {i}: {e}", names.0))?;
        target
            .eval(points, &mut out[start..])
            .map_err(|e| anyhow!("{}: eval for input function {i}: {e}", names.1))?;
        tick();
    }
    Ok(out)
}

/// [`predict`] on every function of a test set; returns `[N, P, d_out]`.
pub fn predict_set(model: &Model<'_>, set: &TestSet, tick: impl FnMut()) -> Result<Vec<f32>> {
    let file = set.path.display();
    let names = (
        format!("{file} (array 'sensors')"),
        format!("{file} (array 'points')"),
    );
    predict(
        model,
        set.n,
        &set.sensors,
        |i| set.points_of(i),
        (&names.0, &names.1),
        tick,
    )
}
