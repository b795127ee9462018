use std::io::{IsTerminal, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this read in well under a second: no bar.
const MIN_BYTES: u64 = 16 << 20;
/// Bytes between two updates of the bar (keeps its atomics out of the hot path).
const STEP: u64 = 1 << 20;

/// Counts the bytes read through it into the bar; clears the bar when dropped.
struct Counting<R> {
    inner: R,
    bar: ProgressBar,
    pending: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pending += n as u64;
        if self.pending >= STEP || n == 0 {
            self.bar.inc(self.pending);
            self.pending = 0;
        }
        Ok(n)
    }
}

impl<R> Drop for Counting<R> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The file itself, or the file counting into a bar when `enabled`, stderr is a terminal
/// and the file is large enough for a bar to help.
pub(super) fn wrap<R: Read + Send + 'static>(
    file: R,
    len: u64,
    path: &Path,
    enabled: bool,
) -> Box<dyn Read + Send> {
    if !enabled || len < MIN_BYTES || !std::io::stderr().is_terminal() {
        return Box::new(file);
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
            "[{bar:20}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta} {wide_msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    bar.set_message(name);
    Box::new(Counting {
        inner: file,
        bar,
        pending: 0,
    })
}
