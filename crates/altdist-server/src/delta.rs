//! Binary deltas between two app files, for `altdist admin app version create --delta-from`.
//!
//! The format is bsdiff 4's (`BSDIFF40`, bzip2-compressed), which the standard
//! `bspatch OLD NEW DELTA` applies, as do bsdiff libraries in most languages.
//!
//! bsdiff holds both files and a suffix array of the old one in memory, about
//! `5 × old + 2 × new` bytes, and the old file may be at most [`MAX_OLD_SIZE`] (4 GiB); the
//! search runs on one thread so that the same two files always give the same delta (and so the
//! same `fileChecksum`).

use std::path::Path;

use anyhow::Context as _;
use qbsdiff::{Bsdiff, Bspatch, ParallelScheme};

/// The delta format, as its files begin (`BSDIFF40`) and as the manifest names it.
pub const FORMAT: &str = "BSDIFF40";

/// The largest old file bsdiff can index (its suffix array has 32-bit entries).
pub const MAX_OLD_SIZE: usize = qbsdiff::bsdiff::MAX_LENGTH;

/// The delta that turns the file at `old` into the file at `new`. Blocking: run it off the
/// async runtime.
pub fn diff_files(old: &Path, new: &Path) -> anyhow::Result<Vec<u8>> {
    let old_bytes = std::fs::read(old).with_context(|| format!("cannot read {}", old.display()))?;
    let new_bytes = std::fs::read(new).with_context(|| format!("cannot read {}", new.display()))?;
    diff(&old_bytes, &new_bytes)
}

/// The delta that turns `old` into `new`.
pub fn diff(old: &[u8], new: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        old.len() <= MAX_OLD_SIZE,
        "the earlier file is {} bytes; bsdiff deltas start from files of at most {MAX_OLD_SIZE} bytes",
        old.len()
    );
    let mut patch = Vec::new();
    Bsdiff::new(old, new)
        .parallel_scheme(ParallelScheme::Never)
        .compare(std::io::Cursor::new(&mut patch))
        .context("cannot compute the delta")?;
    Ok(patch)
}

/// `old` with `patch` applied: what `bspatch` does.
pub fn apply(old: &[u8], patch: &[u8]) -> std::io::Result<Vec<u8>> {
    let patcher = Bspatch::new(patch)?;
    let mut new = Vec::with_capacity(usize::try_from(patcher.hint_target_size()).unwrap_or(0));
    patcher.apply(old, std::io::Cursor::new(&mut new))?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_applied_to_the_old_file_gives_the_new_one() {
        let old: Vec<u8> = (0..200_000_u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut new = old.clone();
        new[1000..1100].fill(0xab);
        new.extend_from_slice(b"appended in the new version");
        let patch = diff(&old, &new).unwrap();
        assert!(patch.starts_with(FORMAT.as_bytes()));
        assert!(patch.len() < new.len() / 10, "{} bytes", patch.len());
        assert_eq!(apply(&old, &patch).unwrap(), new);
        assert_eq!(diff(&old, &new).unwrap(), patch, "deterministic");
    }

    #[test]
    fn a_damaged_delta_is_an_error() {
        assert!(apply(b"old", b"not a delta").is_err());
    }
}
