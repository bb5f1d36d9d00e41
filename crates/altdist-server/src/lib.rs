//! `altdist serve` and `altdist admin`.

pub mod cli;
