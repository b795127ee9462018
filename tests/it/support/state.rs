//! The weekly report job's state files, as a test sees them.

use std::path::Path;

/// The sent-state files (`*.sent.json`) in `dir/state`, sorted; none when the folder is absent.
pub fn sent_files(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir.join("state")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sent.json"))
        .collect();
    v.sort();
    v
}
