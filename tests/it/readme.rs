//! The README's command examples name files that exist in the repository, so a new user can
//! paste them as they are.

use crate::util;

use util::root;

/// Every `sh` code block of the README, with the line it starts at.
fn sh_blocks(readme: &str) -> Vec<(usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (i, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => current = Some((i + 1, Vec::new())),
            (Some(_), l) if l.starts_with("```") => blocks.extend(current.take()),
            (Some((_, lines)), _) => lines.push(line.to_string()),
            _ => {}
        }
    }
    blocks
}

/// The input files a command line names: the values of `--events`, `-c` and `--config`.
fn named_inputs(line: &str) -> Vec<String> {
    let command = line.split(" #").next().unwrap_or(line);
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "--events" | "-e" | "-c" | "--config"))
        .map(|w| w[1].to_string())
        .collect()
}

#[test]
fn readme_examples_name_files_that_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for (start, lines) in sh_blocks(&readme) {
        for (k, line) in lines.iter().enumerate() {
            for file in named_inputs(line) {
                // `optsignal.toml` is the reader's own config, built from the TOML fragments
                // shown just above it; absolute paths are the reader's server (the cron line).
                if file == "optsignal.toml" || file.starts_with('/') {
                    continue;
                }
                checked += 1;
                if !root().join(&file).is_file() {
                    missing.push(format!("README.md:{}: {file}", start + k + 1));
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} file arguments found");
    assert!(
        missing.is_empty(),
        "examples name missing files: {missing:#?}"
    );
}
