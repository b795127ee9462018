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
    }
}
