//! Tensors: the tensor table section (records) and the tensor data section (bytes), and the
//! zero-copy typed views over them.

use crate::codes::DType;
use crate::error::{FormatError, Section, TensorName};
use crate::layout::*;

/// A tensor of the file: its name, shape and a typed view of its data (borrowed from the
/// caller's buffer, never copied).
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a> {
    /// Unique name (the writer rejects duplicates), UTF-8, 1..=255 bytes.
    pub name: &'a str,
    /// Dimensions, outermost first (row-major); 1..=4 entries, each >= 1.
    pub shape: &'a [u32],
    /// The elements, row-major (blocked for [`TensorData::I8Blocked`], rows padded for
    /// [`TensorData::F32Padded`]).
    pub data: TensorData<'a>,
}

impl<'a> Tensor<'a> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements (product of the shape; blocked int8 and padded f32 tensors store
    /// more, their padding: [`TensorData::len`]). Saturates at `usize::MAX` for a hand-made
    /// `Tensor` whose shape overflows (a parsed file's cannot: its data is in the buffer).
    pub fn len(&self) -> usize {
        self.shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d as usize))
            .unwrap_or(usize::MAX)
    }

    /// True when the tensor has no elements (never for a parsed file: dimensions are >= 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The f32 elements, if the tensor is f32.
    pub fn as_f32(&self) -> Option<&'a [f32]> {
        match self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }
}

/// Typed, zero-copy view of a tensor's elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TensorData<'a> {
    /// f32 elements.
    F32(&'a [f32]),
    /// f16 elements.
    F16(&'a [half::f16]),
    /// bf16 elements.
    Bf16(&'a [half::bf16]),
    /// Symmetric int8: `real[r, ...] = scales[r] * values[r, ...]`, one scale per row
    /// (first dimension); values in [-127, 127] by convention (not checked).
    I8 {
        /// The quantized elements, row-major.
        values: &'a [i8],
        /// One f32 scale per row, `scales.len() == shape[0]`.
        scales: &'a [f32],
    },
    /// int8 in the blocked layout ([`crate::i8_blocked_len`]): same meaning as `I8`.
    I8Blocked {
        /// The quantized elements, blocked and zero-padded.
        values: &'a [i8],
        /// One f32 scale per row, `scales.len() == shape[0]`.
        scales: &'a [f32],
    },
    /// f32 with padded rows: all `rows * lda` values, `lda` = [`crate::f32_padded_lda`]`(cols)`;
    /// `W[r, c]` is `values[r * lda + c]`, columns `cols..lda` are padding (not checked).
    F32Padded(&'a [f32]),
}

impl TensorData<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::Bf16(_) => DType::Bf16,
            TensorData::I8 { .. } => DType::I8,
            TensorData::I8Blocked { .. } => DType::I8Blocked,
            TensorData::F32Padded(_) => DType::F32Padded,
        }
    }

    /// Number of stored elements (scales not counted; blocked int8 and padded f32 count their
    /// padding).
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) | TensorData::F32Padded(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::Bf16(v) => v.len(),
            TensorData::I8 { values, .. } | TensorData::I8Blocked { values, .. } => values.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The validated tensor table and data sections (what `ModelFile` keeps).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TensorTable<'a> {
    table: &'a [u8],
    record_len: usize,
    count: u32,
    data: &'a [u8],
}

impl<'a> TensorTable<'a> {
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    fn record(&self, index: u32) -> Option<&'a [u8]> {
        if index >= self.count {
            return None;
        }
        let start = TT_FIXED.checked_add((index as usize).checked_mul(self.record_len)?)?;
        self.table.get(start..start.checked_add(TENSOR_RECORD)?)
    }

    /// Raw name bytes of tensor `index` (for error messages).
    pub(crate) fn name_of(&self, index: u32) -> TensorName {
        let raw = self.record(index).and_then(|r| name_bytes(self.table, r));
        TensorName::new(index, raw.unwrap_or(&[]))
    }

    /// Decodes tensor `index`; `None` if out of range (or, unreachable after validation, if a
    /// record is inconsistent).
    pub(crate) fn get(&self, index: u32) -> Option<Tensor<'a>> {
        let r = self.record(index)?;
        let name = core::str::from_utf8(name_bytes(self.table, r)?).ok()?;
        let ndim = u32_at(r, T_NDIM)? as usize;
        let shape_bytes = r.get(T_SHAPE..T_SHAPE.checked_add(ndim.checked_mul(4)?)?)?;
        let shape: &'a [u32] = bytemuck::try_cast_slice(shape_bytes).ok()?;
        let dtype = DType::from_code(u32_at(r, T_DTYPE)?)?;
        let values = region(self.data, u64_at(r, T_DATA_OFFSET)?, u64_at(r, T_DATA_LEN)?)?;
        let data = match dtype {
            DType::F32 => TensorData::F32(bytemuck::try_cast_slice(values).ok()?),
            DType::F16 => TensorData::F16(bytemuck::try_cast_slice(values).ok()?),
            DType::Bf16 => TensorData::Bf16(bytemuck::try_cast_slice(values).ok()?),
            DType::F32Padded => TensorData::F32Padded(bytemuck::try_cast_slice(values).ok()?),
            DType::I8 | DType::I8Blocked => {
                let s = region(
                    self.data,
                    u64_at(r, T_SCALES_OFFSET)?,
                    u64_at(r, T_SCALES_LEN)?,
                )?;
                let values = bytemuck::try_cast_slice(values).ok()?;
                let scales = bytemuck::try_cast_slice(s).ok()?;
                if dtype == DType::I8 {
                    TensorData::I8 { values, scales }
                } else {
                    TensorData::I8Blocked { values, scales }
                }
            }
        };
        Some(Tensor { name, shape, data })
    }

    /// Index of the first tensor named `name`.
    pub(crate) fn find(&self, name: &str) -> Option<u32> {
        (0..self.count).find(|&i| {
            self.record(i)
                .and_then(|r| name_bytes(self.table, r))
                .is_some_and(|b| b == name.as_bytes())
        })
    }

    /// Validates both sections: every record, and the placement of every region in the data
    /// section (table order, each at the next multiple of 64, zero padding, no slack at the
    /// end). `data_file_offset` is the data section's offset in the file (for messages).
    pub(crate) fn parse(
        table: &'a [u8],
        data: &'a [u8],
        data_file_offset: u64,
    ) -> Result<Self, FormatError> {
        let sec = Section::TensorTable;
        let too_short = |needed: usize| FormatError::SectionLength {
            section: sec,
            expected: needed as u64,
            found: table.len() as u64,
        };
        if table.len() < TT_FIXED {
            return Err(too_short(TT_FIXED));
        }
        let count = u32_at(table, TT_COUNT).ok_or(too_short(TT_FIXED))?;
        let record_len = u32_at(table, TT_RECORD_LEN).ok_or(too_short(TT_FIXED))?;
        for off in [TT_RESERVED, TT_RESERVED + 4] {
            if u32_at(table, off) != Some(0) {
                return Err(FormatError::ReservedNonZero {
                    section: sec,
                    offset: off as u64,
                });
            }
        }
        check_cap(crate::error::Cap::Tensors, MAX_TENSORS as u64, count as u64)?;
        if (record_len as usize) < TENSOR_RECORD || record_len % 8 != 0 {
            return Err(FormatError::SectionLength {
                section: sec,
                expected: TENSOR_RECORD as u64,
                found: record_len as u64,
            });
        }
        let record_len = record_len as usize;
        let needed = (count as usize)
            .checked_mul(record_len)
            .and_then(|b| b.checked_add(TT_FIXED))
            .ok_or(too_short(usize::MAX))?;
        if table.len() < needed {
            return Err(too_short(needed));
        }
        let tt = TensorTable {
            table,
            record_len,
            count,
            data,
        };
        let mut prev_end: u64 = 0;
        for i in 0..count {
            let r = tt.record(i).ok_or(too_short(needed))?;
            prev_end = check_record(&tt, i, r, prev_end, data_file_offset)?;
        }
        if prev_end != data.len() as u64 {
            return Err(FormatError::SectionLength {
                section: Section::TensorData,
                expected: prev_end,
                found: data.len() as u64,
            });
        }
        Ok(tt)
    }
}

/// Name bytes of a record, `None` if the range is outside the table.
fn name_bytes<'a>(table: &'a [u8], r: &[u8]) -> Option<&'a [u8]> {
    let off = u32_at(r, T_NAME_OFFSET)? as usize;
    let len = u32_at(r, T_NAME_LEN)? as usize;
    table.get(off..off.checked_add(len)?)
}

fn region(data: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    data.get(start..end)
}

/// Validates one record; returns the end of its last region in the data section.
fn check_record(
    tt: &TensorTable<'_>,
    index: u32,
    r: &[u8],
    prev_end: u64,
    data_file_offset: u64,
) -> Result<u64, FormatError> {
    let sec = Section::TensorTable;
    let rec_off = (TT_FIXED + index as usize * tt.record_len) as u64;
    let field = |off: usize| u32_at(r, off).unwrap_or(0);
    let field64 = |off: usize| u64_at(r, off).unwrap_or(0);

    // Name.
    let name_off = field(T_NAME_OFFSET);
    let name_len = field(T_NAME_LEN);
    check_cap(
        crate::error::Cap::NameLen,
        MAX_NAME_LEN as u64,
        name_len as u64,
    )?;
    let name_end = name_off as u64 + name_len as u64;
    if name_end > tt.table.len() as u64 {
        return Err(FormatError::FieldOutOfBounds {
            section: sec,
            field: "tensor name",
            end: name_end,
            section_len: tt.table.len() as u64,
        });
    }
    let raw_name = &tt.table[name_off as usize..name_end as usize];
    let tensor = TensorName::new(index, raw_name);
    if raw_name.is_empty() || core::str::from_utf8(raw_name).is_err() {
        return Err(FormatError::BadTensorName { tensor });
    }

    // Dtype and shape.
    let code = field(T_DTYPE);
    let dtype = DType::from_code(code).ok_or(FormatError::UnknownDType { tensor, code })?;
    let ndim = field(T_NDIM);
    if ndim == 0 {
        return Err(FormatError::BadShape {
            tensor,
            reason: "no dimensions (ndim = 0)",
        });
    }
    check_cap(crate::error::Cap::TensorDims, MAX_DIMS as u64, ndim as u64)?;
    let mut count: u64 = 1;
    let mut overflow = false;
    for d in 0..MAX_DIMS as usize {
        let v = field(T_SHAPE + 4 * d);
        if d < ndim as usize {
            if v == 0 {
                return Err(FormatError::BadShape {
                    tensor,
                    reason: "zero dimension",
                });
            }
            match count.checked_mul(v as u64) {
                Some(c) => count = c,
                None => overflow = true,
            }
        } else if v != 0 {
            return Err(FormatError::ReservedNonZero {
                section: sec,
                offset: rec_off + (T_SHAPE + 4 * d) as u64,
            });
        }
    }
    if ndim != 2 {
        let reason = match dtype {
            DType::I8Blocked => Some("i8-blocked tensors must be 2-D [rows, cols]"),
            DType::F32Padded => Some("f32-padded tensors must be 2-D [rows, cols]"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(FormatError::BadShape { tensor, reason });
        }
    }
    let (rows, cols) = (field(T_SHAPE) as u64, field(T_SHAPE + 4) as u64);
    let bytes = match dtype {
        DType::I8Blocked => crate::i8_blocked_len(rows, cols),
        DType::F32Padded => crate::f32_padded_lda(cols)
            .and_then(|lda| rows.checked_mul(lda))
            .and_then(|n| n.checked_mul(4)),
        _ => count.checked_mul(dtype.size() as u64),
    };
    let bytes = match bytes {
        Some(b) if !overflow && usize::try_from(b).is_ok() => b,
        _ => return Err(FormatError::ShapeOverflow { tensor }),
    };
    let data_len = field64(T_DATA_LEN);
    if data_len != bytes {
        return Err(FormatError::TensorLength {
            tensor,
            part: "values",
            expected: bytes,
            found: data_len,
        });
    }
    let scales_off = field64(T_SCALES_OFFSET);
    let scales_len = field64(T_SCALES_LEN);
    let int8 = matches!(dtype, DType::I8 | DType::I8Blocked);
    let scales_expected = if int8 { rows * 4 } else { 0 };
    if scales_len != scales_expected {
        return Err(FormatError::TensorLength {
            tensor,
            part: "scales",
            expected: scales_expected,
            found: scales_len,
        });
    }
    if !int8 && scales_off != 0 {
        return Err(FormatError::ReservedNonZero {
            section: sec,
            offset: rec_off + T_SCALES_OFFSET as u64,
        });
    }

    // Placement.
    let end = place(
        tt.data,
        tensor,
        field64(T_DATA_OFFSET),
        data_len,
        prev_end,
        data_file_offset,
    )?;
    if int8 {
        place(
            tt.data,
            tensor,
            scales_off,
            scales_len,
            end,
            data_file_offset,
        )
    } else {
        Ok(end)
    }
}

/// Checks that a region starts at the first multiple of 64 after `prev_end`, fits in the data
/// section, and that the padding before it is zero. Returns its end.
fn place(
    data: &[u8],
    tensor: TensorName,
    offset: u64,
    len: u64,
    prev_end: u64,
    data_file_offset: u64,
) -> Result<u64, FormatError> {
    if !offset.is_multiple_of(64) {
        return Err(FormatError::MisalignedTensor { tensor, offset });
    }
    if offset < prev_end {
        return Err(FormatError::TensorOverlap {
            tensor,
            offset,
            previous_end: prev_end,
        });
    }
    let expected = align64(prev_end).unwrap_or(u64::MAX);
    if offset > expected {
        return Err(FormatError::TensorHole {
            tensor,
            offset,
            expected,
        });
    }
    let end = offset.saturating_add(len);
    if end > data.len() as u64 {
        return Err(FormatError::TensorPastEnd {
            tensor,
            end,
            section_len: data.len() as u64,
        });
    }
    // prev_end <= offset <= end <= data.len(): in range.
    let pad = &data[prev_end as usize..offset as usize];
    if let Some(p) = pad.iter().position(|&b| b != 0) {
        return Err(FormatError::NonZeroPadding {
            section: Section::TensorData,
            offset: data_file_offset + prev_end + p as u64,
        });
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::{Tensor, TensorData};

    /// `len` of a hand-made tensor whose shape product overflows usize saturates instead of
    /// panicking (debug) or wrapping to 0 and calling the tensor empty (release).
    #[test]
    fn len_of_an_overflowing_shape_saturates() {
        let shape = [u32::MAX; 4];
        let t = Tensor {
            name: "w",
            shape: &shape,
            data: TensorData::F32(&[]),
        };
        assert_eq!(t.len(), usize::MAX);
        assert!(!t.is_empty());
        let t = Tensor {
            name: "w",
            shape: &[3, 5],
            data: TensorData::F32(&[]),
        };
        assert_eq!(t.len(), 15);
    }
}
