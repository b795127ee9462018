//! The identified export: the identifiers a real store's log carries (email, phone, fbp, fbc,
//! gclid, client id, ip, user agent), derived from the user and session ids without any random
//! draw, so the event log and every pinned answer stay as they are.

use super::*;

/// User agents of the demo's devices (mobile, desktop, tablet).
const USER_AGENTS: [(&str, &str); 3] = [
    ("mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    ("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    ("tablet", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
];

/// Lower-case hex SHA-256 of `s`.
fn hex_sha256(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A number from 8 hex digits of `h` starting at `at`.
fn hex_u32(h: &str, at: usize) -> u64 {
    u64::from_str_radix(&h[at..at + 8], 16).unwrap_or(0)
}

/// The identifier cells of one demo row, derived from its user, session, device, channel and
/// the session's first time (no random draw, so the log itself is unchanged): an email for
/// about a third of users (some in mixed case with spaces, to be normalised), a national phone
/// number for a third of those, Meta's `_fbp` for every browser and `_fbc` on paid-social
/// sessions, a gclid on paid-search sessions, a documentation-range IP address, the device's
/// user agent and a GA4 client id.
fn identifier_cells(
    user: &str,
    session: &str,
    device: &str,
    channel: &str,
    start_ms: i64,
) -> String {
    let h = hex_sha256(&format!("optsignal-demo|{user}"));
    let b = |i: usize| hex_u32(&h, i * 8);
    let email = if b(0) % 100 < 35 {
        let domain = ["example.com", "example.org", "example.net"][(b(1) % 3) as usize];
        let local = format!("shopper.{}", &user[..user.len().min(8)]);
        if b(2) % 5 == 0 {
            format!(" Shopper.{}@{} ", &local[8..], domain.to_uppercase())
        } else {
            format!("{local}@{domain}")
        }
    } else {
        String::new()
    };
    let phone = if !email.is_empty() && b(3) % 3 == 0 {
        format!("0151 {:07}", b(4) % 10_000_000)
    } else {
        String::new()
    };
    let fbp = format!(
        "fb.1.{}.{:010}",
        1_757_203_200_000 + b(5) % 86_400_000,
        b(6) % 10_000_000_000
    );
    let fbc = if channel == "paid_social" {
        let c = hex_sha256(&format!("fbclid|{session}"));
        format!("fb.1.{start_ms}.IwAR{}", &c[..24])
    } else {
        String::new()
    };
    let gclid = if channel == "paid_search" {
        let g = hex_sha256(&format!("gclid|{session}"));
        format!("Cj0KCQiA{}", &g[..32])
    } else {
        String::new()
    };
    let ua = USER_AGENTS
        .iter()
        .find(|(d, _)| *d == device)
        .map_or(USER_AGENTS[0].1, |(_, u)| u);
    let quote = |s: &str| {
        if s.contains(',') || s.contains('"') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    format!(
        "{},{phone},{fbp},{fbc},203.0.113.{},{},{gclid},{}.{}",
        quote(&email),
        1 + b(7) % 254,
        quote(ua),
        1_000_000_000 + b(1) % 1_000_000_000,
        1_757_203_200 + b(2) % 86_400
    )
}

/// The last [`IDENTIFIED_DAYS`] days of the demo log `csv` (as [`generate`] writes it) with
/// the [`IDENTIFIED_COLUMNS`] appended to every row.
pub fn identified_csv(csv: &str) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or(HEADER);
    let rows: Vec<&str> = lines.collect();
    let last_day = rows.last().and_then(|r| r.get(..10)).unwrap_or("");
    let from = last_day
        .parse::<Date>()
        .ok()
        .and_then(|d| {
            d.checked_sub(jiff::Span::new().days(IDENTIFIED_DAYS as i64 - 1))
                .ok()
        })
        .map(|d| d.to_string())
        .unwrap_or_default();
    let mut out = format!("{header},{IDENTIFIED_COLUMNS}\n");
    let mut starts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for r in rows
        .iter()
        .filter(|r| r.get(..10).is_some_and(|d| d >= from.as_str()))
    {
        let f: Vec<&str> = r.split(',').collect();
        if f.len() < 6 {
            continue;
        }
        let ms = f[0]
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_millisecond());
        let start = *starts.entry(f[2]).or_insert(ms);
        out.push_str(r);
        out.push(',');
        out.push_str(&identifier_cells(f[1], f[2], f[4], f[5], start));
        out.push('\n');
    }
    out
}

/// Writes the demo's identified export of `spec` gzip-compressed to `path`, atomically.
pub fn write_identified_gz(spec: &DemoSpec, path: &Path) -> Result<(), DemoError> {
    let mut csv = Vec::new();
    generate(spec, &mut csv)?;
    let text = identified_csv(&String::from_utf8_lossy(&csv));
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    gz.write_all(text.as_bytes())?;
    let bytes = gz.finish()?;
    crate::fsutil::write_atomic(path, &bytes).map_err(|source| DemoError::File {
        path: path.to_path_buf(),
        source,
    })
}
