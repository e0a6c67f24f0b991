//! Writes `.npy` files (NumPy's array format, version 1.0) so the Python peers read the exact
//! workload numbers with `numpy.load`.

use std::io::{self, Write};
use std::path::Path;

/// Writes `data` as a little-endian f32 array of `shape` (C order) to `path`.
///
/// # Errors
/// An I/O error, or `InvalidInput` if `shape`'s product is not `data.len()`.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> io::Result<()> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: shape {shape:?} holds {} values, data has {}",
                path.display(),
                shape.iter().product::<usize>(),
                data.len()
            ),
        ));
    }
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&header("<f4", shape))?;
    for v in data {
        out.write_all(&v.to_le_bytes())?;
    }
    out.flush()
}

/// The magic, version, header length and the header dict, padded with spaces and a final
/// newline so the data starts at a multiple of 64 bytes.
fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_str}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::header;

    #[test]
    fn header_is_64_byte_aligned_and_names_the_shape() {
        for shape in [&[3usize][..], &[2, 5], &[64, 1000, 2]] {
            let h = header("<f4", shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            let text = String::from_utf8_lossy(&h[10..]);
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            assert!(text.contains(&dims.join(", ")), "{text}");
        }
        assert!(String::from_utf8_lossy(&header("<f4", &[7])).contains("(7,)"));
    }
}
