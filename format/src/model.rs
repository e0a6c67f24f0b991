//! [`ModelFile`]: the header, the section table, and the whole-file validation.

use crate::arch::Architecture;
use crate::crc32c::{crc32c, crc32c_append};
use crate::error::{Cap, FormatError, Section};
use crate::layout::*;
use crate::metadata::Metadata;
use crate::tensor::{Tensor, TensorTable};

/// Options of [`ModelFile::parse_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Verify the header and section CRC32Cs (structure is always validated). Default: true.
    /// Turn off only for bytes already verified once (e.g. at flash time).
    pub verify_checksums: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            verify_checksums: true,
        }
    }
}

/// A parsed, fully validated model file: zero-copy views into the caller's buffer.
///
/// Everything a runtime needs is checked once here (see docs/FORMAT.md "Validation"), so the
/// accessors are infallible in practice (they return `Option` only for out-of-range indices).
#[derive(Clone, Copy, Debug)]
pub struct ModelFile<'a> {
    bytes: &'a [u8],
    version: (u16, u16),
    arch: Architecture<'a>,
    metadata: Metadata<'a>,
    tensors: TensorTable<'a>,
}

/// Location of one known section.
#[derive(Clone, Copy)]
struct Loc {
    offset: usize,
    len: usize,
}

impl<'a> ModelFile<'a> {
    /// Parses and validates `bytes`, checksums included.
    ///
    /// `bytes` must start at a 4-byte aligned address (else [`FormatError::BufferMisaligned`]).
    ///
    /// # Errors
    /// The first problem found, as a [`FormatError`] that names the part of the file (header,
    /// section, tensor by index and name, network and layer, field) and the expected and found
    /// values: truncation, bad magic or version, checksum mismatch, layout (overlaps, holes,
    /// padding), caps, unknown codes, and shapes or dtypes that disagree with the architecture.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FormatError> {
        Self::parse_with(bytes, ParseOptions::default())
    }

    /// Parses and validates `bytes` with options. Cost: O(sections + tensors) plus, when
    /// checksums are verified, one CRC32C pass over the file.
    ///
    /// # Errors
    /// As [`ModelFile::parse`] (without the checksum errors when `opts.verify_checksums` is
    /// false).
    pub fn parse_with(bytes: &'a [u8], opts: ParseOptions) -> Result<Self, FormatError> {
        if cfg!(target_endian = "big") {
            return Err(FormatError::BigEndianTarget);
        }
        let n = bytes.len() as u64;
        if bytes.len() < HEADER_FIXED {
            return Err(FormatError::TruncatedHeader {
                needed: HEADER_FIXED as u64,
                found: n,
            });
        }
        let addr = bytes.as_ptr() as usize;
        if !addr.is_multiple_of(4) {
            return Err(FormatError::BufferMisaligned {
                required: 4,
                found: addr % 4,
            });
        }
        let h = |off: usize| u32_at(bytes, off).unwrap_or(0);
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[H_MAGIC..H_MAGIC + 8]);
        if magic != crate::MAGIC {
            return Err(FormatError::BadMagic { found: magic });
        }
        let major = u16_at(bytes, H_MAJOR).unwrap_or(0);
        let minor = u16_at(bytes, H_MINOR).unwrap_or(0);
        if major != crate::VERSION_MAJOR {
            return Err(FormatError::UnsupportedVersion { major, minor });
        }
        let section_count = h(H_SECTION_COUNT);
        check_cap(Cap::Sections, MAX_SECTIONS as u64, section_count as u64)?;
        let table_end = HEADER_FIXED + section_count as usize * SECTION_ENTRY;
        let header_len = align64(table_end as u64).unwrap_or(u64::MAX);
        let recorded = h(H_HEADER_LEN) as u64;
        if recorded != header_len {
            return Err(FormatError::HeaderLength {
                expected: header_len,
                found: recorded,
            });
        }
        if n < header_len {
            return Err(FormatError::TruncatedHeader {
                needed: header_len,
                found: n,
            });
        }
        let header_len = header_len as usize;
        let stored_crc = h(H_CRC);
        if opts.verify_checksums {
            let c = crc32c(&bytes[..H_CRC]);
            let c = crc32c_append(c, &[0; 4]);
            let c = crc32c_append(c, &bytes[H_CRC + 4..header_len]);
            if c != stored_crc {
                return Err(FormatError::HeaderChecksum {
                    expected: stored_crc,
                    found: c,
                });
            }
        }
        let flags = h(H_FLAGS);
        if flags != 0 {
            return Err(FormatError::UnsupportedFlags {
                section: Section::Header,
                found: flags,
            });
        }
        if h(H_ALIGN) != crate::ALIGN as u32 {
            return Err(FormatError::BadAlignment { found: h(H_ALIGN) });
        }
        for off in [H_RESERVED, H_RESERVED + 4] {
            if h(off) != 0 {
                return Err(FormatError::ReservedNonZero {
                    section: Section::Header,
                    offset: off as u64,
                });
            }
        }
        zero_padding(bytes, Section::Header, table_end, header_len)?;
        let file_len = u64_at(bytes, H_FILE_LEN).unwrap_or(0);
        for found in [file_len, n] {
            check_cap(Cap::FileSize, MAX_FILE_LEN, found)?;
        }

        // Section table: contiguous, in table order, each at the next multiple of 64.
        let mut known: [Option<Loc>; 4] = [None; 4];
        let mut prev_end = header_len as u64;
        for i in 0..section_count as usize {
            let e = HEADER_FIXED + i * SECTION_ENTRY;
            let kind = h(e + S_KIND);
            let section = Section::from_code(kind);
            let sflags = h(e + S_FLAGS);
            if sflags != 0 {
                return Err(FormatError::UnsupportedFlags {
                    section,
                    found: sflags,
                });
            }
            if h(e + S_RESERVED) != 0 {
                return Err(FormatError::ReservedNonZero {
                    section: Section::Header,
                    offset: (e + S_RESERVED) as u64,
                });
            }
            let offset = u64_at(bytes, e + S_OFFSET).unwrap_or(0);
            let length = u64_at(bytes, e + S_LENGTH).unwrap_or(0);
            if !offset.is_multiple_of(64) {
                return Err(FormatError::SectionMisaligned { section, offset });
            }
            if offset < prev_end {
                return Err(FormatError::SectionOverlap {
                    section,
                    offset,
                    previous_end: prev_end,
                });
            }
            let expected = align64(prev_end).unwrap_or(u64::MAX);
            if offset > expected {
                return Err(FormatError::SectionHole {
                    section,
                    offset,
                    expected,
                });
            }
            let end = offset.saturating_add(length);
            if end > file_len {
                return Err(FormatError::SectionPastEnd {
                    section,
                    end,
                    file_len,
                });
            }
            if (KIND_METADATA..=KIND_TENSOR_DATA).contains(&kind) {
                let slot = &mut known[(kind - 1) as usize];
                if slot.is_some() {
                    return Err(FormatError::DuplicateSection { section });
                }
                // end <= file_len <= 2^32: fits usize on 32-bit targets once n >= end (below).
                *slot = Some(Loc {
                    offset: offset as usize,
                    len: length as usize,
                });
            }
            prev_end = end;
        }
        let expected_len = align64(prev_end).unwrap_or(u64::MAX);
        if file_len != expected_len {
            return Err(FormatError::FileLength {
                expected: expected_len,
                found: file_len,
            });
        }
        if n < file_len {
            // Name the first section (with its padding) that the buffer cuts.
            let mut cut = Section::Header;
            let mut cut_end = file_len;
            for i in 0..section_count as usize {
                let e = HEADER_FIXED + i * SECTION_ENTRY;
                let end = u64_at(bytes, e + S_OFFSET)
                    .unwrap_or(0)
                    .saturating_add(u64_at(bytes, e + S_LENGTH).unwrap_or(0));
                let padded = align64(end).unwrap_or(u64::MAX);
                if padded > n {
                    cut = Section::from_code(h(e + S_KIND));
                    cut_end = padded;
                    break;
                }
            }
            return Err(FormatError::TruncatedSection {
                section: cut,
                end: cut_end,
                found: n,
            });
        }
        if n > file_len {
            return Err(FormatError::TrailingBytes {
                expected: file_len,
                found: n,
            });
        }
        for (k, slot) in known.iter().enumerate() {
            if slot.is_none() {
                return Err(FormatError::MissingSection {
                    section: Section::from_code(k as u32 + 1),
                });
            }
        }
        // Padding after each section, and checksums.
        for i in 0..section_count as usize {
            let e = HEADER_FIXED + i * SECTION_ENTRY;
            let offset = u64_at(bytes, e + S_OFFSET).unwrap_or(0) as usize;
            let end = offset + u64_at(bytes, e + S_LENGTH).unwrap_or(0) as usize;
            let padded = align64(end as u64).unwrap_or(0) as usize;
            zero_padding(bytes, Section::from_code(h(e + S_KIND)), end, padded)?;
            if opts.verify_checksums {
                let stored = h(e + S_CRC);
                let c = crc32c(&bytes[offset..end]);
                if c != stored {
                    let section = Section::from_code(h(e + S_KIND));
                    return Err(FormatError::SectionChecksum {
                        section,
                        expected: stored,
                        found: c,
                    });
                }
            }
        }

        let sec = |k: u32| {
            let l = known[(k - 1) as usize].unwrap_or(Loc { offset: 0, len: 0 });
            (&bytes[l.offset..l.offset + l.len], l.offset as u64)
        };
        let arch = Architecture::parse(sec(KIND_ARCHITECTURE).0)?;
        let (data, data_offset) = sec(KIND_TENSOR_DATA);
        let tensors = TensorTable::parse(sec(KIND_TENSOR_TABLE).0, data, data_offset)?;
        arch.check_tensors(&tensors)?;
        let metadata = Metadata::parse(sec(KIND_METADATA).0, &arch)?;
        Ok(ModelFile {
            bytes,
            version: (major, minor),
            arch,
            metadata,
            tensors,
        })
    }

    /// `(major, minor)` version of the file.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// Length of the file in bytes.
    pub fn file_len(&self) -> usize {
        self.bytes.len()
    }

    /// The whole file's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The architecture.
    pub fn arch(&self) -> &Architecture<'a> {
        &self.arch
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata<'a> {
        &self.metadata
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.tensors.count() as usize
    }

    /// Tensor `index` (as referenced by [`crate::Layer::weight`] etc.), `None` if out of range.
    pub fn tensor(&self, index: u32) -> Option<Tensor<'a>> {
        self.tensors.get(index)
    }

    /// The first tensor named `name` (linear search; names are unique in files the writer
    /// produced).
    pub fn tensor_by_name(&self, name: &str) -> Option<Tensor<'a>> {
        self.tensors.get(self.tensors.find(name)?)
    }

    /// Index of the first tensor named `name`.
    pub fn tensor_index(&self, name: &str) -> Option<u32> {
        self.tensors.find(name)
    }

    /// All tensors in table order.
    pub fn tensors(&self) -> impl Iterator<Item = Tensor<'a>> + 'a {
        let t = self.tensors;
        (0..t.count()).filter_map(move |i| t.get(i))
    }
}

/// Checks that `bytes[start..end]` (file offsets), the padding after `section`, are zero.
fn zero_padding(
    bytes: &[u8],
    section: Section,
    start: usize,
    end: usize,
) -> Result<(), FormatError> {
    let pad = bytes.get(start..end).unwrap_or(&[]);
    match pad.iter().position(|&b| b != 0) {
        Some(p) => Err(FormatError::NonZeroPadding {
            section,
            offset: (start + p) as u64,
        }),
        None => Ok(()),
    }
}
