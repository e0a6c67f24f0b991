//! Out-of-bounds safety of the unsafe paths: every input and output slice ends exactly at a
//! page boundary followed by a PROT_NONE page, so a read or write one element past the end
//! faults (and kills this test). Outputs are also checked against canaries written around
//! them inside one mapping.

#![cfg(unix)]

use half::{bf16, f16};
use hdon_kernels::*;

/// `len` elements of `T` placed so that the slice ends where an inaccessible page begins.
struct Guarded<T: Copy> {
    map: *mut libc::c_void,
    map_len: usize,
    data: *mut T,
    len: usize,
}

impl<T: Copy> Guarded<T> {
    fn new(values: &[T]) -> Guarded<T> {
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let bytes = std::mem::size_of_val(values);
        let data_pages = bytes.div_ceil(page).max(1);
        let map_len = (data_pages + 1) * page;
        // SAFETY: anonymous private mapping, checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let guard = unsafe { map.cast::<u8>().add(data_pages * page) };
        // SAFETY: `guard` is the last page of our mapping.
        assert_eq!(
            unsafe { libc::mprotect(guard.cast(), page, libc::PROT_NONE) },
            0
        );
        let data = unsafe { guard.sub(bytes) }.cast::<T>();
        assert_eq!(data as usize % std::mem::align_of::<T>(), 0);
        // SAFETY: `bytes` writable bytes before the guard page.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), data, values.len()) };
        Guarded {
            map,
            map_len,
            data,
            len: values.len(),
        }
    }
    fn get(&self) -> &[T] {
        // SAFETY: initialized in `new`, lives as long as the mapping.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
    fn get_mut(&mut self) -> &mut [T] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len) }
    }
}

impl<T: Copy> Drop for Guarded<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`.
        unsafe { libc::munmap(self.map, self.map_len) };
    }
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn paths() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_supported()).collect()
}

#[test]
fn mlp_eval_stays_inside_exact_buffers() {
    for sizes in [
        vec![1, 1],
        vec![2, 20, 20, 20, 1],
        vec![3, 7, 8],
        vec![4, 33, 5],
        vec![1, 9, 17, 2],
    ] {
        let k = sizes.len() - 1;
        let blocks: Vec<Guarded<f32>> = (0..k)
            .map(|i| Guarded::new(&values(sizes[i + 1] * (sizes[i] + 1), i as u32)))
            .collect();
        let layers: Vec<Layer<'_>> = (0..k)
            .map(|i| Layer {
                n_in: sizes[i],
                n_out: sizes[i + 1],
                act: Activation::Tanh,
                params: blocks[i].get(),
            })
            .collect();
        let d_out = sizes[k];
        let mut scratch = Guarded::new(&vec![0.0f32; mlp_scratch_len(&layers)]);
        for n in [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65] {
            let pts = Guarded::new(&values(n * sizes[0], 99));
            let mut want = vec![0.0f32; n * d_out];
            reference::mlp_eval(&layers, pts.get(), &mut want, scratch.get_mut()).unwrap();
            for path in paths() {
                let mut out = Guarded::new(&vec![f32::NAN; n * d_out]);
                mlp_eval_on(path, &layers, pts.get(), out.get_mut(), scratch.get_mut()).unwrap();
                for (g, w) in out.get().iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-5,
                        "{path:?} {sizes:?} n={n}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

#[test]
fn gemv_stays_inside_exact_buffers() {
    for (rows, cols) in [
        (1, 1),
        (3, 5),
        (8, 16),
        (9, 17),
        (17, 33),
        (5, 70),
        (19, 100),
        (20, 64),
        (33, 65),
        (3, 1024),
        (2, 1025),
    ] {
        let n = rows * cols;
        let wf = values(n, 1);
        let w32 = Guarded::new(&wf);
        let w16 = Guarded::new(&wf.iter().map(|&v| f16::from_f32(v)).collect::<Vec<_>>());
        let wb = Guarded::new(&wf.iter().map(|&v| bf16::from_f32(v)).collect::<Vec<_>>());
        let q = Guarded::new(&wf.iter().map(|&v| (v * 127.0) as i8).collect::<Vec<_>>());
        let sc = Guarded::new(&vec![0.01f32; rows]);
        let bias = Guarded::new(&values(rows, 3));
        for batch in [1, 2, 4, 5, 16, 21] {
            let x = Guarded::new(&values(batch * cols, 2));
            for data in [
                WeightData::F32(w32.get()),
                WeightData::F16(w16.get()),
                WeightData::Bf16(wb.get()),
                WeightData::I8 {
                    values: q.get(),
                    scales: sc.get(),
                },
            ] {
                let m = MatRef { rows, cols, data };
                let mut want = vec![0.0f32; batch * rows];
                reference::gemv_batch(
                    &m,
                    x.get(),
                    batch,
                    Some(bias.get()),
                    Activation::Silu,
                    &mut want,
                )
                .unwrap();
                for path in paths() {
                    let mut y = Guarded::new(&vec![f32::NAN; batch * rows]);
                    gemv_batch_on(
                        path,
                        &m,
                        x.get(),
                        batch,
                        Some(bias.get()),
                        Activation::Silu,
                        y.get_mut(),
                    )
                    .unwrap();
                    for (g, w) in y.get().iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                            "{path:?} {rows}x{cols}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn outputs_leave_canaries_untouched() {
    const CANARY: f32 = -12345.678;
    let sizes = [2usize, 20, 3];
    let p1 = values(20 * 3, 5);
    let p2 = values(3 * 21, 6);
    let layers = [
        Layer {
            n_in: 2,
            n_out: 20,
            act: Activation::Gelu,
            params: &p1,
        },
        Layer {
            n_in: 20,
            n_out: 3,
            act: Activation::Identity,
            params: &p2,
        },
    ];
    let mut scratch = vec![0.0f32; mlp_scratch_len(&layers)];
    for n in 1..=35 {
        let pts = values(n * sizes[0], 8);
        for path in paths() {
            let mut buf = vec![CANARY; n * 3 + 32];
            mlp_eval_on(path, &layers, &pts, &mut buf[16..16 + n * 3], &mut scratch).unwrap();
            assert!(
                buf[..16]
                    .iter()
                    .chain(&buf[16 + n * 3..])
                    .all(|&v| v == CANARY),
                "{path:?} n={n}"
            );
            let mut act = vec![CANARY; n + 32];
            act[16..16 + n].copy_from_slice(&pts[..n]);
            activate_on(path, Activation::Softplus, &mut act[16..16 + n]).unwrap();
            assert!(
                act[..16].iter().chain(&act[16 + n..]).all(|&v| v == CANARY),
                "{path:?} n={n}"
            );
        }
    }
}

/// `gemm` (every path; lane blocks of 64, 32 and 16 vectors, row blocks of 6/8, 4, 2, 1) and
/// `columns_to_rows` (16 x 16 register squares and element-wise edges) on slices that end at
/// a guard page.
#[test]
fn gemm_and_columns_to_rows_stay_inside_exact_buffers() {
    for (rows, cols) in [(1, 1), (7, 3), (9, 17), (17, 33), (33, 100)] {
        let w = Guarded::new(&values(rows * cols, 7));
        let bias = Guarded::new(&values(rows, 8));
        let m = MatRef {
            rows,
            cols,
            data: WeightData::F32(w.get()),
        };
        for n in [16, 32, 48, 64, 112] {
            let x = Guarded::new(&values(cols * n, 9));
            let mut want = vec![0.0f32; rows * n];
            reference::gemm(
                &m,
                x.get(),
                n,
                Some(bias.get()),
                Activation::Relu,
                &mut want,
            )
            .unwrap();
            for path in paths() {
                let mut y = Guarded::new(&vec![f32::NAN; rows * n]);
                gemm_on(
                    path,
                    &m,
                    x.get(),
                    n,
                    Some(bias.get()),
                    Activation::Relu,
                    y.get_mut(),
                )
                .unwrap();
                for (g, r) in y.get().iter().zip(&want) {
                    assert!(
                        (g - r).abs() <= 1e-4 * (1.0 + r.abs()),
                        "{path:?} {rows}x{cols} n={n}"
                    );
                }
            }
            // Columns back to rows: the last destination row ends at the guard page.
            let src = Guarded::new(&want);
            for (count, extra) in [(n, 0), (n - 1, 3)] {
                let stride = rows + extra;
                let mut dst = Guarded::new(&vec![0.0f32; (count - 1) * stride + rows]);
                columns_to_rows(src.get(), rows, n, count, dst.get_mut(), stride).unwrap();
                for c in 0..count {
                    for r in 0..rows {
                        assert_eq!(dst.get()[c * stride + r], want[r * n + c]);
                    }
                }
            }
        }
    }
}
