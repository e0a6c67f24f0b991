//! Cross-crate test support for hdon; the tests themselves live in `tests/tests/`.
//!
//! - [`reference`](mod@reference): an independent f64 implementation of the six families (paper layout).
//! - [`random`]: random models in paper form.
//! - [`build`]: turns a paper-form model into a `.hdon` file the way `hdon export` does.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod build;
pub mod random;
pub mod reference;

/// The six families by their spec names (`random::Spec::small` takes these).
pub const FAMILIES: [&str; 6] = [
    "deeponet",
    "shift",
    "flex",
    "nomad",
    "hyper",
    "chunked_hyper",
];

/// Relative L2 error `||a - b|| / ||b||` (0 if both are zero).
pub fn rel_l2(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}
