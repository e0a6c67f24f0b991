//! Trained checkpoints: `.safetensors` (F32, F64, F16, BF16) and numpy `.npz` (float32,
//! float64, float16). Every tensor is converted to f32 on load; the stored dtype is kept for
//! the export report.

use crate::npy::{self, Array};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// All tensors of one checkpoint file, by name.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file the tensors came from (for error messages).
    pub path: PathBuf,
    /// Tensor name -> f32 array.
    pub tensors: BTreeMap<String, Array>,
}

impl Checkpoint {
    /// Reads a checkpoint, choosing the reader by extension (`.safetensors`, `.npz`); other
    /// extensions are sniffed (zip magic -> npz, else safetensors).
    pub fn read(path: &Path) -> Result<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let tensors = match ext {
            "npz" => npy::read_npz(path)?,
            "safetensors" => read_safetensors(path)?,
            _ => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if bytes.starts_with(b"PK") {
                    npy::read_npz(path)?
                } else {
                    parse_safetensors(&bytes, path)?
                }
            }
        };
        Ok(Checkpoint {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// The tensor called `name`, or an error naming the file, the slot it was wanted for and
    /// the closest names present.
    pub fn get(&self, name: &str, slot: &str) -> Result<&Array> {
        if let Some(a) = self.tensors.get(name) {
            return Ok(a);
        }
        let mut near: Vec<&str> = self
            .tensors
            .keys()
            .filter(|k| shares_stem(k, name))
            .map(String::as_str)
            .take(8)
            .collect();
        if near.is_empty() {
            near = self.tensors.keys().map(String::as_str).take(8).collect();
        }
        let via = if name == slot {
            String::new()
        } else {
            format!(" (for slot '{slot}')")
        };
        bail!(
            "{}: missing tensor '{name}'{via}; the checkpoint has {} tensors, e.g. {}",
            self.path.display(),
            self.tensors.len(),
            near.join(", ")
        )
    }
}

fn shares_stem(a: &str, b: &str) -> bool {
    let stem = |s: &str| s.split(['.', '/', '_']).next().unwrap_or("").to_string();
    stem(a) == stem(b)
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, Array>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_safetensors(&bytes, path)
}

/// Parses a safetensors byte image (see [`Checkpoint::read`]).
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Array>> {
    use safetensors::Dtype;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a valid safetensors file: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let dtype = match view.dtype() {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            other => bail!(
                "{}: tensor '{name}' has dtype {other:?}; expected F32, F64, F16 or BF16",
                path.display()
            ),
        };
        let data = npy::decode_le(view.data(), dtype);
        out.insert(
            name,
            Array {
                shape: view.shape().to_vec(),
                data,
                stored_dtype: dtype,
            },
        );
    }
    Ok(out)
}

/// Encodes f32 tensors as a safetensors byte image (used by tests and `hdon demo`'s in-memory
/// fixtures).
pub fn encode_safetensors(tensors: &[(&str, &[usize], &[f32])]) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, d)| d.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.to_vec(), b)
                .map(|v| (name.to_string(), v))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("cannot build safetensors view: {e}"))?;
    safetensors::serialize(views, &None)
        .map_err(|e| anyhow::anyhow!("cannot serialize safetensors: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_and_npz_read_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let w = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let st = dir.path().join("c.safetensors");
        std::fs::write(
            &st,
            encode_safetensors(&[("a.weight", &[2, 3], &w)]).unwrap(),
        )
        .unwrap();
        let nz = dir.path().join("c.npz");
        npy::write_npz(&nz, &[("a.weight", &[2, 3], &w)]).unwrap();
        let a = Checkpoint::read(&st).unwrap();
        let b = Checkpoint::read(&nz).unwrap();
        assert_eq!(a.tensors, b.tensors);
        let e = a.get("a.bias", "branch.0.bias").unwrap_err().to_string();
        assert!(
            e.contains("c.safetensors") && e.contains("'a.bias'") && e.contains("a.weight"),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.safetensors");
        std::fs::write(&p, b"\x05\x00\x00\x00\x00\x00\x00\x00{....").unwrap();
        let e = Checkpoint::read(&p).unwrap_err().to_string();
        assert!(e.contains("bad.safetensors"), "{e}");
    }
}
