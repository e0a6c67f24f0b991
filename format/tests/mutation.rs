//! Seeded mutation test: >= 100,000 mutations of small valid files of every family (bit flips,
//! byte sets, truncations, extensions, splices, field-targeted edits of counts, lengths and
//! offsets, most of them re-sealed so the checks behind the CRCs run). Every one must return
//! Ok or a typed Err without panicking, and every Ok must satisfy what the runtime relies on.
mod common;
use common::*;
use hdon_format::*;
use std::collections::HashSet;

const MUTATIONS: usize = 120_000;

/// Offsets of every u32 field worth targeting (u64 fields are covered by their low halves).
fn fields(f: &File) -> Vec<usize> {
    let mut v: Vec<usize> = [12, 16, 20, 24, 28, 32].to_vec();
    for i in 0..f.u32(28) as usize {
        let e = 48 + 32 * i;
        v.extend([e, e + 4, e + 8, e + 12, e + 16, e + 20]);
    }
    let a = f.arch();
    v.extend((0..16).map(|k| a + 4 * k));
    let tail = f.workspace(f.u32(a + 56) as usize);
    v.extend((a + 64..tail).step_by(4));
    let t = f.table();
    v.extend([t, t + 4]);
    for i in 0..f.u32(t) as usize {
        let r = f.tensor(i);
        v.extend((0..16).map(|k| r + 4 * k));
    }
    let m = f.meta();
    v.extend((0..32).map(|k| m + 4 * k));
    let (pairs_off, pairs) = (f.u32(m + 112) as usize, f.u32(m + 116) as usize);
    v.extend((0..pairs * 4).map(|k| m + pairs_off + 4 * k));
    v
}

fn interesting(rng: &mut Rng, old: u32) -> u32 {
    match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => u32::MAX,
        3 => old.wrapping_add(1),
        4 => old.wrapping_sub(1),
        5 => old.wrapping_add(64),
        6 => old.wrapping_sub(64),
        7 => old.wrapping_mul(2),
        8 => 1 << 31,
        9 => 63,
        10 => 65,
        11 => rng.below(20) as u32,
        12 => old ^ (1 << rng.below(32)),
        _ => rng.next() as u32,
    }
}

fn mutate(rng: &mut Rng, b: &mut Vec<u8>, fields: &[usize]) {
    for _ in 0..1 + rng.below(3) {
        if b.is_empty() {
            return;
        }
        let pos = rng.below(b.len() as u64) as usize;
        match rng.below(10) {
            0 => b[pos] ^= 1 << rng.below(8),
            1 => b[pos] = [0, 0xFF, 0x80, 1, rng.next() as u8][rng.below(5) as usize],
            2 => b.truncate(pos),
            3 => {
                let n = 1 + rng.below(130) as usize;
                let zero = rng.below(2) == 0;
                for _ in 0..n {
                    b.push(if zero { 0 } else { rng.next() as u8 });
                }
            }
            4 => {
                let n = (1 + rng.below(64) as usize).min(b.len() - pos);
                let src = rng.below((b.len() - n + 1) as u64) as usize;
                b.copy_within(src..src + n, pos);
            }
            _ => {
                let at = fields[rng.below(fields.len() as u64) as usize];
                if at + 4 <= b.len() {
                    let old = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
                    let new = interesting(rng, old);
                    b[at..at + 4].copy_from_slice(&new.to_le_bytes());
                }
            }
        }
    }
}

/// Uses everything a parsed file offers and checks the guarantees the runtime relies on.
fn exercise(file: &ModelFile<'_>) {
    let n = file.tensor_count();
    for t in file.tensors() {
        let count: usize = t.shape.iter().map(|&d| d as usize).product();
        assert_eq!(t.len(), count, "tensor {}", t.name);
        if let TensorData::I8 { scales, .. } | TensorData::I8Blocked { scales, .. } = t.data {
            assert_eq!(scales.len(), t.shape[0] as usize);
        }
        if let TensorData::F32Padded(v) = t.data {
            let lda = f32_padded_lda(t.shape[1] as u64).unwrap() as usize;
            assert_eq!(v.len(), t.shape[0] as usize * lda);
        }
        assert!(file.tensor_by_name(t.name).is_some());
    }
    let a = file.arch();
    for net in a.networks() {
        assert!(net.layer_count() >= 1);
        for l in net.layers() {
            let w = file.tensor(l.weight).expect("weight index valid");
            if net.role.is_target_side() {
                assert_eq!(w.shape, &[l.n_out, l.n_in + 1]);
                assert!(w.as_f32().is_some());
            } else {
                assert_eq!(w.shape, &[l.n_out, l.n_in]);
            }
            if let Some(b) = l.bias {
                assert_eq!(
                    file.tensor(b).unwrap().as_f32().unwrap().len(),
                    l.n_out as usize
                );
            }
        }
        let _ = (net.n_in(), net.n_out());
    }
    for &role in a.family.roles() {
        assert!(a.network(role).is_some());
    }
    let theta: u64 = a
        .target_layers()
        .map(|l| l.n_out as u64 * (l.n_in as u64 + 1))
        .sum();
    assert_eq!(theta, a.n_theta as u64);
    if let Some(c) = a.chunk_embeddings {
        assert!((c as usize) < n);
    }
    let _ = a.workspace_records().count();
    let m = file.metadata();
    assert_eq!(
        m.sensors.len(),
        a.n_sensors as usize * m.sensor_dim as usize
    );
    assert_eq!(m.domain_lower.len(), a.d_y as usize);
    let _ = m.pairs().count();
}

#[test]
fn mutations_never_panic() {
    let bases: Vec<Vec<u8>> = FAMILIES.iter().map(|&f| File::new(f).b).collect();
    let targets: Vec<Vec<usize>> = FAMILIES.iter().map(|&f| fields(&File::new(f))).collect();
    let mut rng = Rng(0x5EED_F00D_4D0E);
    let mut buf = vec![0u64; 1024];
    let (mut ok, mut err) = (0usize, 0usize);
    let mut kinds = HashSet::new();
    for i in 0..MUTATIONS {
        let k = i % bases.len();
        let mut f = File {
            b: bases[k].clone(),
        };
        mutate(&mut rng, &mut f.b, &targets[k]);
        if rng.below(4) != 0 && f.b.len() >= 192 {
            f.reseal();
        }
        let verify = rng.below(2) == 0;
        let len = f.b.len();
        if buf.len() * 8 < len {
            buf.resize(len / 8 + 1, 0);
        }
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut buf)[..len];
        bytes.copy_from_slice(&f.b);
        let bytes = &*bytes;
        let outcome = std::panic::catch_unwind(|| {
            match ModelFile::parse_with(
                bytes,
                ParseOptions {
                    verify_checksums: verify,
                },
            ) {
                Ok(file) => {
                    exercise(&file);
                    None
                }
                Err(e) => {
                    let _ = e.to_string();
                    Some(std::mem::discriminant(&e))
                }
            }
        });
        match outcome {
            Ok(None) => ok += 1,
            Ok(Some(d)) => {
                err += 1;
                kinds.insert(d);
            }
            Err(_) => panic!(
                "mutation {i} (family {:?}) panicked; file: {:02x?}",
                FAMILIES[k], f.b
            ),
        }
    }
    println!(
        "{MUTATIONS} mutations: {ok} Ok, {err} Err, {} distinct error variants",
        kinds.len()
    );
    assert!(
        kinds.len() >= 30,
        "mutations reach too few checks: {} variants",
        kinds.len()
    );
    assert!(ok > 0 && err > MUTATIONS / 2);
}
