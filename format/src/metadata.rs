//! The metadata section: what a deployment needs besides the weights (sensor locations, query
//! domain, normalization, provenance, free-form pairs).

use crate::arch::Architecture;
use crate::error::{Cap, FormatError, Section};
use crate::layout::*;

/// An affine normalization `x_n = (x - mean) / std`, elementwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine<'a> {
    /// Means.
    pub mean: &'a [f32],
    /// Standard deviations (same length as `mean`).
    pub std: &'a [f32],
}

/// The model's metadata (zero-copy views into the metadata section).
#[derive(Clone, Copy, Debug)]
pub struct Metadata<'a> {
    /// Free-text model name.
    pub model_name: &'a str,
    /// Sensor locations `[m, sensor_dim]` row-major.
    pub sensors: &'a [f32],
    /// Coordinates per sensor location (1..=16).
    pub sensor_dim: u32,
    /// Lower corner of the query domain, length d_y.
    pub domain_lower: &'a [f32],
    /// Upper corner of the query domain, length d_y.
    pub domain_upper: &'a [f32],
    /// Sensor-value normalization, length 1 (shared) or m.
    pub sensor_norm: Option<Affine<'a>>,
    /// Query-point normalization, length d_y.
    pub point_norm: Option<Affine<'a>>,
    /// Output de-normalization `out = raw * std + mean`, length d_out.
    pub output_norm: Option<Affine<'a>>,
    /// Training framework (provenance).
    pub framework: &'a str,
    /// Training data set (provenance).
    pub dataset: &'a str,
    /// Measured mean relative L2 test error, if recorded.
    pub test_rel_l2: Option<f32>,
    section: &'a [u8],
    pairs_raw: &'a [u8],
}

impl<'a> Metadata<'a> {
    /// The free-form `(key, value)` string pairs, in file order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let sec = self.section;
        self.pairs_raw
            .chunks_exact(PAIR_RECORD)
            .filter_map(move |r| {
                let s = |o: usize| -> Option<&'a str> {
                    let off = u32_at(r, o)? as usize;
                    let len = u32_at(r, o + 4)? as usize;
                    core::str::from_utf8(sec.get(off..off.checked_add(len)?)?).ok()
                };
                Some((s(0)?, s(8)?))
            })
    }

    /// Number of free-form pairs.
    pub fn pair_count(&self) -> usize {
        self.pairs_raw.len() / PAIR_RECORD
    }

    /// The value of the first pair with this key.
    pub fn pair(&self, key: &str) -> Option<&'a str> {
        self.pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Parses and validates the section, cross-checking lengths against `arch`.
    pub(crate) fn parse(sec: &'a [u8], arch: &Architecture<'a>) -> Result<Self, FormatError> {
        let s = Section::Metadata;
        fixed_len(sec, s, META_FIXED)?;
        let f = |off: usize| u32_at(sec, off).unwrap_or(0);
        let flags = f(M_FLAGS);
        if flags & !MF_ALL != 0 {
            return Err(FormatError::UnsupportedFlags {
                section: s,
                found: flags,
            });
        }
        for off in [M_RESERVED, M_RESERVED + 4] {
            if f(off) != 0 {
                return Err(FormatError::ReservedNonZero {
                    section: s,
                    offset: off as u64,
                });
            }
        }
        let sensor_dim = f(M_SENSOR_DIM);
        check_cap(Cap::SensorDim, MAX_SENSOR_DIM as u64, sensor_dim as u64)?;
        if sensor_dim == 0 {
            return Err(FormatError::MetadataLength {
                field: "sensor_dim",
                expected: 1,
                found: 0,
            });
        }
        let test_bits = f(M_TEST_REL_L2);
        let test_rel_l2 = if flags & MF_TEST_REL_L2 != 0 {
            Some(f32::from_bits(test_bits))
        } else if test_bits != 0 {
            return Err(FormatError::ReservedNonZero {
                section: s,
                offset: M_TEST_REL_L2 as u64,
            });
        } else {
            None
        };

        let m = arch.n_sensors as u64;
        let floats = |at: usize,
                      field: &'static str,
                      expected: Option<u64>|
         -> Result<&'a [f32], FormatError> {
            let b = range(sec, at, 4, field)?;
            let v: &'a [f32] =
                bytemuck::try_cast_slice(b).map_err(|_| FormatError::FieldMisaligned {
                    section: s,
                    field,
                    offset: f(at) as u64,
                    required: 4,
                })?;
            match expected {
                Some(e) if e != v.len() as u64 => Err(FormatError::MetadataLength {
                    field,
                    expected: e,
                    found: v.len() as u64,
                }),
                _ => Ok(v),
            }
        };
        let string = |at: usize, field: &'static str| -> Result<&'a str, FormatError> {
            let n = f(at + 4);
            check_cap(Cap::StringLen, MAX_STRING_LEN as u64, n as u64)?;
            core::str::from_utf8(range(sec, at, 1, field)?)
                .map_err(|_| FormatError::InvalidUtf8 { field })
        };
        let affine = |flag: u32,
                      [at, std_at]: [usize; 2],
                      names: [&'static str; 2],
                      lens: &[u64]|
         -> Result<Option<Affine<'a>>, FormatError> {
            if flags & flag == 0 {
                floats(at, names[0], Some(0))?;
                floats(std_at, names[1], Some(0))?;
                return Ok(None);
            }
            let mean = floats(at, names[0], None)?;
            let found = mean.len() as u64;
            if !lens.contains(&found) {
                return Err(FormatError::MetadataLength {
                    field: names[0],
                    expected: lens[lens.len() - 1],
                    found,
                });
            }
            let std = floats(std_at, names[1], Some(found))?;
            Ok(Some(Affine { mean, std }))
        };

        let d_y = arch.d_y as u64;
        let sensors = floats(M_SENSORS, "sensors", Some(m * sensor_dim as u64))?;
        let domain_lower = floats(M_DOMAIN_LOWER, "domain_lower", Some(d_y))?;
        let domain_upper = floats(M_DOMAIN_UPPER, "domain_upper", Some(d_y))?;
        let sensor_norm = affine(
            MF_SENSOR_NORM,
            [M_SENSOR_NORM_MEAN, M_SENSOR_NORM_STD],
            ["sensor_norm.mean", "sensor_norm.std"],
            &[1, m],
        )?;
        let point_norm = affine(
            MF_POINT_NORM,
            [M_POINT_NORM_MEAN, M_POINT_NORM_STD],
            ["point_norm.mean", "point_norm.std"],
            &[d_y],
        )?;
        let output_norm = affine(
            MF_OUTPUT_NORM,
            [M_OUTPUT_NORM_MEAN, M_OUTPUT_NORM_STD],
            ["output_norm.mean", "output_norm.std"],
            &[arch.d_out as u64],
        )?;
        let model_name = string(M_MODEL_NAME, "model_name")?;
        let framework = string(M_FRAMEWORK, "framework")?;
        let dataset = string(M_DATASET, "dataset")?;

        let n_pairs = f(M_PAIRS + 4);
        check_cap(Cap::MetadataPairs, MAX_PAIRS as u64, n_pairs as u64)?;
        let pairs_raw = range(sec, M_PAIRS, PAIR_RECORD as u64, "pairs")?;
        if f(M_PAIRS) % 4 != 0 {
            return Err(FormatError::FieldMisaligned {
                section: s,
                field: "pairs",
                offset: f(M_PAIRS) as u64,
                required: 4,
            });
        }
        for r in pairs_raw.chunks_exact(PAIR_RECORD) {
            for (at, field) in [(0usize, "pair key"), (8, "pair value")] {
                string_in(sec, r, at, field)?;
            }
        }
        Ok(Metadata {
            model_name,
            sensors,
            sensor_dim,
            domain_lower,
            domain_upper,
            sensor_norm,
            point_norm,
            output_norm,
            framework,
            dataset,
            test_rel_l2,
            section: sec,
            pairs_raw,
        })
    }
}

/// The bytes of the range (offset u32, count u32) stored at `at`, `count` elements of `elem`
/// bytes; checks bounds and alignment (`elem` bytes for `elem <= 4`, else 4).
fn range<'a>(
    sec: &'a [u8],
    at: usize,
    elem: u64,
    field: &'static str,
) -> Result<&'a [u8], FormatError> {
    let s = Section::Metadata;
    let off = u32_at(sec, at).unwrap_or(0) as u64;
    let count = u32_at(sec, at + 4).unwrap_or(0) as u64;
    let end = off + count * elem; // < 2^32 + 2^32 * 16: no overflow in u64
    if end > sec.len() as u64 {
        return Err(FormatError::FieldOutOfBounds {
            section: s,
            field,
            end,
            section_len: sec.len() as u64,
        });
    }
    let align = elem.min(4);
    if !off.is_multiple_of(align) {
        return Err(FormatError::FieldMisaligned {
            section: s,
            field,
            offset: off,
            required: align as u32,
        });
    }
    Ok(&sec[off as usize..end as usize])
}

/// Validates the string whose (offset, len) sits at `at` in record `r`.
fn string_in(sec: &[u8], r: &[u8], at: usize, field: &'static str) -> Result<(), FormatError> {
    let off = u32_at(r, at).unwrap_or(0) as u64;
    let n = u32_at(r, at + 4).unwrap_or(0);
    check_cap(Cap::StringLen, MAX_STRING_LEN as u64, n as u64)?;
    let end = off + n as u64;
    if end > sec.len() as u64 {
        return Err(FormatError::FieldOutOfBounds {
            section: Section::Metadata,
            field,
            end,
            section_len: sec.len() as u64,
        });
    }
    core::str::from_utf8(&sec[off as usize..end as usize])
        .map_err(|_| FormatError::InvalidUtf8 { field })?;
    Ok(())
}
