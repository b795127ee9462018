//! Number formatting for people, shared by flag messages, reasons and the terminal report so that
//! the same quantity reads the same everywhere.

/// A p- or q-value: `< 1e-16` below double precision's resolution, scientific below 0.001, else
/// three decimals.
pub fn p_value(p: f64) -> String {
    if p < 1e-16 {
        "< 1e-16".into()
    } else if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// A share as a percentage: one decimal below 10%, none above.
pub fn percent(x: f64) -> String {
    let v = x * 100.0;
    if v.abs() < 10.0 {
        format!("{v:.1}%")
    } else {
        format!("{v:.0}%")
    }
}

/// A count-like quantity: whole numbers as such, one decimal below 100.
pub fn amount(x: f64) -> String {
    if x >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A count with its noun in the right number: `1 session`, `0 sessions`, `2 accounts`. The one
/// place English plurals are chosen, so that no message says "1 sessions".
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", noun(n, singular, plural))
}

/// The noun for `n` things: `singular` for exactly one, else `plural`.
pub fn noun<'a>(n: u64, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 {
        singular
    } else {
        plural
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_well() {
        assert_eq!(p_value(0.0), "< 1e-16");
        assert_eq!(p_value(5.72e-18), "< 1e-16");
        assert_eq!(p_value(2.3e-7), "2.3e-7");
        assert_eq!(p_value(0.42), "0.420");
        assert_eq!(percent(0.029), "2.9%");
        assert_eq!(percent(0.416), "42%");
        assert_eq!(amount(50.0), "50");
        assert_eq!(amount(19.34), "19.3");
        assert_eq!(amount(128.4), "128");
        assert_eq!(count(1, "session", "sessions"), "1 session");
        assert_eq!(count(0, "account", "accounts"), "0 accounts");
        assert_eq!(count(2, "week", "weeks"), "2 weeks");
    }
}
