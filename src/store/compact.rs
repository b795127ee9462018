//! Compact JSON for stored weeks: flat arrays on one line, the rest pretty-printed.

/// Puts every JSON array that holds no array or object on one line (`[1, 2, 3]`), leaving the
/// rest of a pretty-printed document as it is: stored weeks stay readable and diffable without
/// one number per line.
pub(super) fn compact_flat_arrays(pretty: &str) -> String {
    let b = pretty.as_bytes();
    let mut out = String::with_capacity(pretty.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() {
                out.push_str(&pretty[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            // Push whole UTF-8 characters.
            let len = utf8_len(c);
            out.push_str(&pretty[i..i + len]);
            i += len;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push('"');
                i += 1;
            }
            b'[' => match flat_array_end(b, i) {
                Some(end) => {
                    out.push('[');
                    let inner = &pretty[i + 1..end];
                    let items: Vec<&str> = split_items(inner);
                    out.push_str(&items.join(", "));
                    out.push(']');
                    i = end + 1;
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            _ => {
                let len = utf8_len(c);
                out.push_str(&pretty[i..i + len]);
                i += len;
            }
        }
    }
    out
}

pub(super) fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Index of the `]` closing the array opened at `start` when it holds no nested array or object.
pub(super) fn flat_array_end(b: &[u8], start: usize) -> Option<usize> {
    let mut in_str = false;
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'[' | b'{' => return None,
                b']' => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The trimmed items of a flat array's inside, split at commas outside strings.
pub(super) fn split_items(inner: &str) -> Vec<&str> {
    let b = inner.as_bytes();
    let mut items = Vec::new();
    let (mut in_str, mut from, mut i) = (false, 0, 0);
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == b',' {
            items.push(inner[from..i].trim());
            from = i + 1;
        }
        i += 1;
    }
    let last = inner[from..].trim();
    if !last.is_empty() {
        items.push(last);
    }
    items
}
