//! The worked example of docs/FORMAT.md, built byte by byte from the spec (not with the
//! writer): the parser must accept it, the writer must produce the same bytes from the same
//! model, and the hex dump in docs/FORMAT.md must be exactly these bytes.
use hdon_format::*;

struct Bytes(Vec<u8>);

impl Bytes {
    fn put(&mut self, off: usize, b: &[u8]) {
        self.0[off..off + b.len()].copy_from_slice(b);
    }
    fn u16(&mut self, off: usize, v: u16) {
        self.put(off, &v.to_le_bytes());
    }
    fn u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_le_bytes());
    }
    fn u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }
    fn f32(&mut self, off: usize, v: f32) {
        self.put(off, &v.to_le_bytes());
    }
    /// Writes u32 words starting at `off`.
    fn words(&mut self, off: usize, ws: &[u32]) {
        for (i, &w) in ws.iter().enumerate() {
            self.u32(off + 4 * i, w);
        }
    }
}

/// docs/FORMAT.md "Worked example": a hyper model, m = 1, d_y = 1, d_out = 1, target net
/// [1, 1] identity (n_theta = 2), hypernet one layer 1 -> 2 without bias, weight [0.5, -2.0].
fn example_by_hand() -> Vec<u8> {
    const NONE: u32 = 0xFFFF_FFFF;
    let mut f = Bytes(vec![0u8; 704]);
    // Header (0..192): fixed part, 4 section entries (48..176), zero padding (176..192).
    f.put(0, b"HDON\x00\r\n\x1a");
    f.u16(8, 1); // major
    f.u16(10, 0); // minor
    f.u32(12, 0); // flags
    f.u64(16, 704); // file_len
    f.u32(24, 64); // alignment
    f.u32(28, 4); // section_count
    f.u32(32, 192); // header_len = align64(48 + 32 * 4)
    let sections = [
        (2u32, 192u64, 128u64),
        (1, 320, 142),
        (3, 512, 94),
        (4, 640, 8),
    ];
    for (i, &(kind, off, len)) in sections.iter().enumerate() {
        let e = 48 + 32 * i;
        f.u32(e, kind);
        f.u64(e + 8, off);
        f.u64(e + 16, len);
    }
    // Architecture (192..320).
    f.words(192, &[64, 4, 1, 1, 1, 0, 1, 2, 0, 0, 0, NONE, 1, 1, 1, 0]);
    f.words(256, &[2, 1]); // network: role hyper, 1 layer
    f.words(264, &[1, 2, 0, 0, 0, NONE]); // layer: 1 -> 2, identity, slope 0, weight #0, no bias
    f.words(288, &[1, 1, 0, 0]); // target layer: 1 -> 1, identity
    f.words(304, &[1, 0]); // workspace record: batch 1, reserved
    f.u64(312, 8); //                          f32 count 8
                   // Metadata (320..462, padded to 512).
    let m = 320;
    f.words(m, &[128, 0, 1, 0]); // fixed_len, flags, sensor_dim, test_rel_l2
    f.words(m + 16, &[140, 2]); // model_name
    f.words(m + 40, &[128, 1, 132, 1, 136, 1]); // sensors, domain_lower, domain_upper
    f.f32(m + 128, 0.5); // sensor x_1
    f.f32(m + 132, 0.0); // domain lower
    f.f32(m + 136, 1.0); // domain upper
    f.put(m + 140, b"ex");
    // Tensor table (512..606, padded to 640).
    let t = 512;
    f.words(t, &[1, 64, 0, 0]); // count, record_len
    f.words(t + 16, &[80, 14, 0, 2, 2, 1, 0, 0]); // name (80, 14), f32, ndim 2, shape [2, 1]
    f.u64(t + 16 + 32, 0); // data offset
    f.u64(t + 16 + 40, 8); // data length
    f.put(t + 80, b"hyper.0.weight");
    // Tensor data (640..648, padded to 704).
    f.f32(640, 0.5);
    f.f32(644, -2.0);
    // Checksums: each section, then the header with its CRC field as zero.
    for (i, &(_, off, len)) in sections.iter().enumerate() {
        let c = crc32c(&f.0[off as usize..(off + len) as usize]);
        f.u32(48 + 32 * i + 24, c);
    }
    let c = crc32c(&f.0[..192]);
    f.u32(36, c);
    f.0
}

fn example_with_writer() -> Vec<u8> {
    let mut b = ModelBuilder::new(ArchSpec {
        family: Family::HyperDeepONet,
        n_sensors: 1,
        d_y: 1,
        d_out: 1,
        p: 0,
        theta_layout: 1,
        n_theta: 2,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: vec![NetworkSpec {
            role: Role::Hyper,
            layers: vec![Layer {
                n_in: 1,
                n_out: 2,
                activation: Activation::Identity,
                weight: 0,
                bias: None,
            }],
        }],
        target: vec![TargetLayer {
            n_in: 1,
            n_out: 1,
            activation: Activation::Identity,
        }],
    });
    assert_eq!(
        b.add_tensor("hyper.0.weight", &[2, 1], TensorBuf::F32(vec![0.5, -2.0])),
        0
    );
    b.set_metadata(MetadataSpec {
        model_name: "ex".into(),
        sensors: vec![0.5],
        sensor_dim: 1,
        domain_lower: vec![0.0],
        domain_upper: vec![1.0],
        ..Default::default()
    });
    b.set_workspace(&[(1, 8)]);
    b.to_bytes().unwrap()
}

/// The hex dump between the markers in docs/FORMAT.md (`offset: 16 bytes`, `*` for lines of
/// zeros as `xxd -a` prints them).
fn example_from_doc() -> Vec<u8> {
    let doc = include_str!("../../docs/FORMAT.md");
    let start = doc
        .find("<!-- example-hex-begin -->")
        .expect("begin marker");
    let end = doc.find("<!-- example-hex-end -->").expect("end marker");
    let mut out: Vec<u8> = Vec::new();
    let mut zeros_pending = false;
    for line in doc[start..end].lines() {
        let line = line.trim();
        if line == "*" {
            zeros_pending = true;
            continue;
        }
        let Some((off, rest)) = line.split_once(": ") else {
            continue;
        };
        let Ok(off) = usize::from_str_radix(off, 16) else {
            continue;
        };
        if zeros_pending {
            out.resize(off, 0);
            zeros_pending = false;
        }
        assert_eq!(out.len(), off, "hex dump offset {off:#x}");
        let hex: String = rest
            .split("  ")
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        for i in (0..hex.len()).step_by(2) {
            out.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    out
}

/// Renders bytes like `xxd -a -g 2`... simplified: 16 bytes a line, 4-byte groups, `*` for
/// repeated zero lines. Printed by `cargo test --test spec_example -- --nocapture`.
fn dump(b: &[u8]) -> String {
    let mut s = String::new();
    let mut star = false;
    for (i, line) in b.chunks(16).enumerate() {
        let zero = line.iter().all(|&x| x == 0);
        let last = (i + 1) * 16 >= b.len();
        if zero && i > 0 && !last && b[(i - 1) * 16..i * 16].iter().all(|&x| x == 0) {
            if !star {
                s.push_str("*\n");
                star = true;
            }
            continue;
        }
        star = false;
        s.push_str(&format!("{:08x}: ", i * 16));
        for g in line.chunks(4) {
            for x in g {
                s.push_str(&format!("{x:02x}"));
            }
            s.push(' ');
        }
        s.push(' ');
        for &x in line {
            s.push(if x.is_ascii_graphic() || x == b' ' {
                x as char
            } else {
                '.'
            });
        }
        s.push('\n');
    }
    s
}

#[test]
fn hand_built_example_parses_and_matches_writer_and_doc() {
    let hand = example_by_hand();
    println!("{}", dump(&hand));
    let a = AlignedBytes::from_slice(&hand);
    let file = ModelFile::parse(&a).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.arch().family, Family::HyperDeepONet);
    assert_eq!(file.arch().n_theta, 2);
    assert_eq!(file.arch().workspace_len(1), Some(8));
    assert_eq!(
        file.tensor_by_name("hyper.0.weight").unwrap().as_f32(),
        Some(&[0.5f32, -2.0][..])
    );
    assert_eq!(file.metadata().model_name, "ex");
    assert_eq!(file.metadata().sensors, &[0.5]);
    assert_eq!(
        example_with_writer(),
        hand,
        "writer output differs from the spec example"
    );
    assert_eq!(
        example_from_doc(),
        hand,
        "docs/FORMAT.md hex dump differs from the spec example"
    );
}

#[test]
fn crc32c_check_value_from_the_spec() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}
