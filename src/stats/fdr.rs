//! False-discovery-rate control for the many proxy comparisons reported at once.

/// Benjamini–Hochberg q-values (adjusted p-values), in input order.
///
/// Step-up procedure: with the `m` present p-values sorted ascending, `q_(i) = min_{j ≥ i}
/// min(1, m·p_(j)/j)`, which makes q monotone in p and capped at 1. Rejecting every hypothesis
/// with `q ≤ α` controls the FDR at α for independent or positively dependent tests. `None`
/// entries (tests that could not be run) pass through as `None` and do not count in `m`; a NaN or
/// out-of-range p-value is treated the same way.
pub fn benjamini_hochberg(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut present: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.filter(|p| (0.0..=1.0).contains(p)).map(|p| (i, p)))
        .collect();
    let mut out = vec![None; p_values.len()];
    let m = present.len() as f64;
    present.sort_by(|x, y| x.1.total_cmp(&y.1));
    let mut running = 1.0_f64;
    for (rank, &(i, p)) in present.iter().enumerate().rev() {
        running = running.min(m * p / (rank + 1) as f64).min(1.0);
        out[i] = Some(running);
    }
    out
}

/// Holm's step-down adjusted p-values, in input order.
///
/// With the `m` present p-values sorted ascending, `h_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))`.
/// Rejecting every hypothesis with `h ≤ α` controls the family-wise error rate (the chance of any
/// false rejection) at α under any dependence between the tests. `None` entries, NaN and
/// out-of-range values pass through as `None` and do not count in `m`.
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut present: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.filter(|p| (0.0..=1.0).contains(p)).map(|p| (i, p)))
        .collect();
    let mut out = vec![None; p_values.len()];
    let m = present.len() as f64;
    present.sort_by(|x, y| x.1.total_cmp(&y.1));
    let mut running = 0.0_f64;
    for (rank, &(i, p)) in present.iter().enumerate() {
        running = running.max(((m - rank as f64) * p).min(1.0));
        out[i] = Some(running);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against statsmodels `multipletests(method="holm")` (scripts/reference_drift.py, fixtures/reference/drift.json).
    #[test]
    fn holm_matches_statsmodels() {
        let got = holm(&[
            Some(0.01),
            Some(0.04),
            None,
            Some(0.03),
            Some(0.005),
            Some(0.5),
        ]);
        // m = 5: sorted 0.005, 0.01, 0.03, 0.04, 0.5 → 0.025, 0.04, 0.09, 0.09, 0.5.
        let want = [
            Some(0.04),
            Some(0.09),
            None,
            Some(0.09),
            Some(0.025),
            Some(0.5),
        ];
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{got:?}"),
                (None, None) => {}
                _ => panic!("{got:?}"),
            }
        }
    }

    fn approx(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-12,
                (None, None) => true,
                _ => false,
            })
    }

    #[test]
    fn hand_example() {
        let q = benjamini_hochberg(&[Some(0.01), Some(0.04), Some(0.03), Some(0.005)]);
        assert!(
            approx(&q, &[Some(0.02), Some(0.04), Some(0.04), Some(0.02)]),
            "{q:?}"
        );
    }

    #[test]
    fn none_passes_through_and_is_not_counted() {
        let q = benjamini_hochberg(&[Some(0.01), None, Some(0.04), Some(f64::NAN)]);
        // m = 2: q = [min(0.02, 0.04), 0.04].
        assert!(approx(&q, &[Some(0.02), None, Some(0.04), None]), "{q:?}");
        assert!(benjamini_hochberg(&[]).is_empty());
        assert!(approx(
            &benjamini_hochberg(&[Some(0.9), Some(0.8)]),
            &[Some(0.9), Some(0.9)]
        ));
    }
}
