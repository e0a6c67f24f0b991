//! NumPy `.npy` arrays (read: float16/float32/float64, little-endian, C order; write: float32)
//! and `.npz` archives of them (a zip of `<name>.npy` members, stored or deflated).
//!
//! Every array is returned as f32 with its shape; f64 and f16 are converted. Anything else
//! (Fortran order, big-endian, integer or complex dtypes, object arrays) is an error that names
//! the file, the array and what was found.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// A dense row-major f32 array with its shape (elements, not bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Extent of each axis; empty for a scalar.
    pub shape: Vec<usize>,
    /// Row-major (C order) elements, `shape.iter().product()` of them.
    pub data: Vec<f32>,
    /// The dtype the values were stored in (`float32`, `float64`, `float16`, `bfloat16`).
    pub stored_dtype: &'static str,
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Parses one `.npy` byte image. `what` names it in errors (file, or file + member).
pub fn parse_npy(bytes: &[u8], what: &str) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        bail!("{what}: not a .npy array (missing the \\x93NUMPY magic)");
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                bail!("{what}: truncated .npy header");
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!("{what}: unsupported .npy format version {v} (expected 1, 2 or 3)"),
    };
    let header_end = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .with_context(|| format!("{what}: truncated .npy header"))?;
    let header = std::str::from_utf8(&bytes[header_start..header_end])
        .with_context(|| format!("{what}: .npy header is not text"))?;
    let descr = header_value(header, "descr")
        .with_context(|| format!("{what}: .npy header has no 'descr': {header}"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = header_value(header, "fortran_order")
        .with_context(|| format!("{what}: .npy header has no 'fortran_order': {header}"))?;
    if fortran.trim() != "False" {
        bail!(
            "{what}: array is stored in Fortran (column-major) order; expected C order \
             (save it with np.ascontiguousarray)"
        );
    }
    let shape_text = header_value(header, "shape")
        .with_context(|| format!("{what}: .npy header has no 'shape': {header}"))?;
    let shape = parse_shape(shape_text)
        .with_context(|| format!("{what}: bad shape {shape_text} in .npy header"))?;
    let (size, stored_dtype): (usize, &'static str) = match descr {
        "<f4" | "=f4" => (4, "float32"),
        "<f8" | "=f8" => (8, "float64"),
        "<f2" | "=f2" => (2, "float16"),
        other => bail!(
            "{what}: unsupported dtype '{other}'; expected little-endian float32 ('<f4'), \
             float64 ('<f8') or float16 ('<f2')"
        ),
    };
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .with_context(|| format!("{what}: shape {shape:?} overflows"))?;
    let payload = &bytes[header_end..];
    let needed = count
        .checked_mul(size)
        .with_context(|| format!("{what}: shape {shape:?} overflows"))?;
    if payload.len() < needed {
        bail!(
            "{what}: truncated data: shape {shape:?} of {stored_dtype} needs {needed} bytes, found {}",
            payload.len()
        );
    }
    let payload = &payload[..needed];
    let data = decode_le(payload, stored_dtype);
    Ok(Array {
        shape,
        data,
        stored_dtype,
    })
}

/// Decodes little-endian elements of `dtype` (`float32`, `float64`, `float16`, `bfloat16`)
/// into f32. `bytes.len()` must be a multiple of the element size.
pub fn decode_le(bytes: &[u8], dtype: &str) -> Vec<f32> {
    match dtype {
        "float64" => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")) as f32)
            .collect(),
        "float16" => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        "bfloat16" => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("chunk of 4")))
            .collect(),
    }
}

/// The text after `'key':` up to the next top-level comma (tuples are kept whole).
fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let pos = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[pos + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_npy(&bytes, &path.display().to_string())
}

/// Encodes a float32 `.npy` (format 1.0, header padded so the data starts at a multiple of 64).
pub fn encode_npy(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Reads every array of an `.npz` archive, keyed by name without the `.npy` suffix.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, Array>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{}: not an .npz archive (zip)", path.display()))?;
    let mut arrays = BTreeMap::new();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .with_context(|| format!("{}: cannot read zip member {i}", path.display()))?;
        let name = member.name().to_string();
        let mut bytes = Vec::with_capacity(member.size() as usize);
        member
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: cannot decompress member {name}", path.display()))?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let array = parse_npy(&bytes, &format!("{} (array '{key}')", path.display()))?;
        arrays.insert(key, array);
    }
    Ok(arrays)
}

/// Writes an `.npz` (stored, not compressed) with the given float32 arrays.
pub fn write_npz(path: &Path, arrays: &[(&str, &[usize], &[f32])]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, shape, data) in arrays {
        zip.start_file(format!("{name}.npy"), options)?;
        zip.write_all(&encode_npy(shape, data))?;
    }
    zip.finish()
        .with_context(|| format!("cannot finish {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_keeps_shape_and_values() {
        let data = [1.0f32, -2.5, 3.25, 0.0, 1e-7, 7.0];
        let bytes = encode_npy(&[2, 3], &data);
        assert_eq!((bytes.len() - data.len() * 4) % 64, 0);
        let a = parse_npy(&bytes, "t").unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, data);
        let one = parse_npy(&encode_npy(&[4], &data[..4]), "t").unwrap();
        assert_eq!(one.shape, vec![4]);
    }

    fn npy_with(descr: &str, fortran: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n");
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn f64_and_f16_convert_to_f32() {
        let p: Vec<u8> = [0.5f64, -3.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let a = parse_npy(&npy_with("<f8", "False", "(2,)", &p), "t").unwrap();
        assert_eq!(a.data, vec![0.5, -3.0]);
        assert_eq!(a.stored_dtype, "float64");
        let p: Vec<u8> = [half::f16::from_f32(1.5), half::f16::from_f32(-0.25)]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let a = parse_npy(&npy_with("<f2", "False", "(1, 2)", &p), "t").unwrap();
        assert_eq!(a.data, vec![1.5, -0.25]);
        assert_eq!(a.shape, vec![1, 2]);
    }

    #[test]
    fn rejects_fortran_order_other_dtypes_and_truncation() {
        let p = [0u8; 16];
        let e = parse_npy(&npy_with("<f4", "True", "(2, 2)", &p), "w.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Fortran") && e.contains("w.npy"), "{e}");
        let e = parse_npy(&npy_with("<i4", "False", "(4,)", &p), "w.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'<i4'"), "{e}");
        let e = parse_npy(&npy_with(">f4", "False", "(4,)", &p), "w.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'>f4'"), "{e}");
        let e = parse_npy(&npy_with("<f4", "False", "(5,)", &p), "w.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 20 bytes, found 16"), "{e}");
        assert!(parse_npy(b"PK\x03\x04 not npy", "x").is_err());
    }

    #[test]
    fn scalar_shape_parses() {
        let p = 2.0f32.to_le_bytes();
        let a = parse_npy(&npy_with("<f4", "False", "()", &p), "t").unwrap();
        assert!(a.shape.is_empty());
        assert_eq!(a.data, vec![2.0]);
    }

    #[test]
    fn npz_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npz");
        write_npz(
            &path,
            &[("x", &[3], &[1.0, 2.0, 3.0]), ("y", &[1, 2], &[4.0, 5.0])],
        )
        .unwrap();
        let m = read_npz(&path).unwrap();
        assert_eq!(m["x"].data, vec![1.0, 2.0, 3.0]);
        assert_eq!(m["y"].shape, vec![1, 2]);
    }
}
