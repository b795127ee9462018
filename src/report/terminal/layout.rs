//! Text for a terminal that a name in the data cannot take over, fitted to the terminal's width.
//!
//! **Escaping.** Event, device, channel, account and ad-set names come from logs and APIs; one
//! holding `ESC]0;…` would retitle the terminal, `ESC[2J` clear it. [`escape`] shows every
//! control character as a visible escape (`\x1b`, `\n`, `\u{9b}`; also the bidirectional
//! overrides that reorder what is shown); table cells are escaped in [`add_row`], prose where a
//! name is inserted, and [`finish`] neutralises anything left except newlines and this module's
//! own colour codes. JSON keeps the names exact.
//!
//! **Width.** With a width ([`super::Style::with_width`]) tables arrange their columns to fit it
//! (comfy-table's dynamic arrangement, wrapping inside cells) and prose is wrapped at it
//! ([`wrap`]); without one (`--wide`, or stdout not a terminal) the full layout is kept, so pipes
//! and cron output stay stable whatever the terminal.

use std::borrow::Cow;
use std::fmt::Write;

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table, Width};
use unicode_width::UnicodeWidthChar;

/// Narrowest width the layout is fitted to; narrower requests are raised to this.
pub const MIN_WIDTH: usize = 40;

/// Whether a character is shown escaped: C0 controls (newline and tab included), DEL, C1
/// controls, and the bidirectional embedding, override and isolate marks.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character shown as a visible escape; borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) && (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The length in bytes of an SGR colour sequence (`ESC [ digits/; m`) at the start of `s`.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\x1b[")?;
    let n = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (rest.as_bytes().get(n) == Some(&b'm')).then_some(n + 3)
}

/// The finished terminal text: every control character escaped except newlines and SGR colour
/// codes (the only ones [`super::Style`] writes). A safety net under the escaping done where
/// names are inserted, so that no cursor, screen or title sequence can get through.
pub fn finish(text: String) -> String {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(n) = sgr_len(rest) {
            out.push_str(&rest[..n]);
            i += n;
            continue;
        }
        let c = rest.chars().next().unwrap_or('\0');
        if c == '\n' {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
        i += c.len_utf8();
    }
    out
}

/// `text` with every control character escaped except newlines: for terminal text that has no
/// colour of its own (`optsignal history`).
pub fn escape_text(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// Display width of `s` in columns, not counting SGR colour codes.
pub fn visible_width(s: &str) -> usize {
    let mut w = 0;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if let Some(n) = sgr_len(rest) {
            i += n;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        w += c.width().unwrap_or(0);
        i += c.len_utf8();
    }
    w
}

/// `text` after `first`, as is without a width; with one, wrapped at word boundaries so that no
/// line is wider than `width`, continuation lines starting with `rest` (a hanging indent). A word
/// wider than a whole line is cut. No trailing newline.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> String {
    let Some(width) = width else {
        return format!("{first}{text}");
    };
    let mut out = String::new();
    let mut line = first.to_string();
    let mut line_w = visible_width(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_string();
        loop {
            let ww = visible_width(&word);
            let gap = usize::from(!empty);
            if line_w + gap + ww <= width {
                if !empty {
                    line.push(' ');
                }
                line.push_str(&word);
                line_w += gap + ww;
                empty = false;
                break;
            }
            let room = width.saturating_sub(visible_width(rest));
            if !empty || ww <= room {
                // Start a new line and try again there.
                out.push_str(line.trim_end());
                out.push('\n');
                line = rest.to_string();
                line_w = visible_width(rest);
                empty = true;
                if ww <= room {
                    continue;
                }
            }
            // The word is wider than a whole line: cut it.
            let (head, tail) = split_at_width(&word, width.saturating_sub(line_w).max(1));
            line.push_str(&head);
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            line_w = visible_width(rest);
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    out.push_str(line.trim_end());
    out
}

/// Splits `word` after at most `cols` display columns (colour codes are not cut).
fn split_at_width(word: &str, cols: usize) -> (String, String) {
    let mut w = 0;
    let mut i = 0;
    while i < word.len() {
        let rest = &word[i..];
        if let Some(n) = sgr_len(rest) {
            i += n;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        let cw = c.width().unwrap_or(0);
        if w + cw > cols {
            break;
        }
        w += cw;
        i += c.len_utf8();
    }
    (word[..i].to_string(), word[i..].to_string())
}

/// A table with the report's look; arranged to fit `width` when there is one.
pub fn table(header: &[&str], width: Option<usize>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_header(header.iter().map(|h| Cell::new(escape(h))));
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w.max(MIN_WIDTH)).unwrap_or(u16::MAX));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// Arranges a filled table to fit its width (a no-op without one): first names in headers are
/// broken after `_`, `-` or `/` where that is what makes the table fit; then each column gets at
/// least the width of its longest word (cells wrap at spaces), the first column (the row's name)
/// first and then the smallest, as far as the width allows, so that numbers and names are not cut
/// mid-word when they need not be.
pub fn fit(t: &mut Table) {
    let Some(width) = t.width().map(usize::from) else {
        return;
    };
    let header: Vec<String> = t
        .header()
        .map(|h| h.cell_iter().map(|c| c.content()).collect())
        .unwrap_or_default();
    let n = header.len();
    let mut body = vec![0usize; n];
    // Cells wrap at spaces: what must fit on one line is a cell's longest word.
    for row in t.row_iter() {
        for (i, c) in row.cell_iter().enumerate().take(n) {
            let w = c
                .content()
                .split_whitespace()
                .map(visible_width)
                .max()
                .unwrap_or(0);
            body[i] = body[i].max(w);
        }
    }
    let breaks = |c: char| matches!(c, '_' | '-' | '/');
    let word = |h: &str, split: bool| {
        h.split([' ', '\n'])
            .flat_map(|w| {
                if split {
                    w.split_inclusive(breaks).collect::<Vec<_>>()
                } else {
                    vec![w]
                }
            })
            .map(visible_width)
            .max()
            .unwrap_or(0)
    };
    // Outer borders, one column of padding each side of a cell, one separator between cells.
    let budget = width.saturating_sub(2 + 2 * n + n.saturating_sub(1));
    let mut split = vec![false; n];
    let need = |i: usize, split: &[bool]| body[i].max(word(&header[i], split[i]));
    while (0..n).map(|i| need(i, &split)).sum::<usize>() > budget {
        let gain = |i: usize| need(i, &split) - body[i].max(word(&header[i], true));
        match (0..n)
            .filter(|i| !split[*i] && gain(*i) > 0)
            .max_by_key(|i| gain(*i))
        {
            Some(i) => split[i] = true,
            None => break,
        }
    }
    if split.iter().any(|s| *s) {
        let cells = header.iter().zip(&split).map(|(h, s)| {
            if *s {
                Cell::new(h.split_inclusive(breaks).collect::<Vec<_>>().join("\n"))
            } else {
                Cell::new(h)
            }
        });
        t.set_header(cells.collect::<Vec<_>>());
    }
    // The first column names the row (an event, a week, an account): it is sized first.
    let mut order: Vec<usize> = (1..n).collect();
    order.sort_by_key(|i| need(*i, &split));
    order.insert(0, 0);
    let mut used = 0;
    for (k, i) in order.iter().enumerate() {
        let w = need(*i, &split);
        // Leave at least 4 columns for each column not yet given its width.
        if used + w + 4 * (n - k - 1) > budget {
            break;
        }
        used += w;
        if let Some(c) = t.column_mut(*i) {
            // The bound counts the cell's padding (one column each side).
            c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                u16::try_from(w + 2).unwrap_or(u16::MAX),
            )));
        }
    }
}

/// The width of a table laid out in full (no wrapping), to decide whether a narrower
/// arrangement is needed at all.
pub fn natural_width(header: &[&str], rows: &[Vec<String>]) -> usize {
    let mut t = table(header, None);
    for r in rows {
        add_row(&mut t, r);
    }
    t.to_string().lines().map(visible_width).max().unwrap_or(0)
}

/// Adds a row of text cells, each [`escape`]d.
pub fn add_row<S: AsRef<str>>(t: &mut Table, cells: impl IntoIterator<Item = S>) {
    t.add_row(
        cells
            .into_iter()
            .map(|c| Cell::new(escape(c.as_ref())))
            .collect::<Vec<_>>(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_become_visible_escapes() {
        assert_eq!(escape("add_to_cart"), "add_to_cart");
        assert_eq!(
            escape("x\x1b]0;owned\x07\x1b[2J\u{9b}31m\u{202e}y\tz\n"),
            "x\\x1b]0;owned\\x07\\x1b[2J\\u{9b}31m\\u{202e}y\\tz\\n"
        );
    }

    #[test]
    fn finish_keeps_colour_codes_and_newlines_only() {
        let t = finish("\x1b[1mbold\x1b[0m\n\x1b[2J\x1b]0;t\x07".to_string());
        assert_eq!(t, "\x1b[1mbold\x1b[0m\n\\x1b[2J\\x1b]0;t\\x07");
    }

    #[test]
    fn wrap_fits_the_width_with_a_hanging_indent() {
        let text =
            "purchase is too rare: 19.3 per ad set per week against 50 per ad set per 7 days";
        let w = wrap(text, Some(30), "  ", "    ");
        for line in w.lines() {
            assert!(visible_width(line) <= 30, "{line:?}");
        }
        assert!(w.starts_with("  purchase") && w.lines().nth(1).unwrap().starts_with("    "));
        assert_eq!(w.split_whitespace().collect::<Vec<_>>().join(" "), text);
        assert_eq!(wrap(text, None, "- ", "  "), format!("- {text}"));
        let long = wrap(&"x".repeat(70), Some(30), "  ", "  ");
        assert!(long.lines().all(|l| l.len() <= 30), "{long}");
        assert_eq!(long.replace(['\n', ' '], ""), "x".repeat(70));
        assert_eq!(visible_width("\x1b[1;32mab\x1b[0m"), 2);
    }

    #[test]
    fn tables_fit_the_width_they_are_given() {
        let mut t = table(&["event", "odds ratio (adj.)", "95% CI", "flags"], Some(70));
        add_row(
            &mut t,
            [
                "add_shipping_info",
                "166.16",
                "138.36–199.55",
                "not_predictive, broken_surge",
            ],
        );
        fit(&mut t);
        let s = t.to_string();
        assert!(s.lines().all(|l| visible_width(l) <= 70), "{s}");
        assert!(
            s.contains("138.36–199.55"),
            "numbers are not cut when they fit:\n{s}"
        );
    }
}
