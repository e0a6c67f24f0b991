//! `hdon`: export, inspect, run, bench, verify and demo for operator-network models.
fn main() {
    println!("hdon {}", env!("CARGO_PKG_VERSION"));
}
