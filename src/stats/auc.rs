//! Discrimination and calibration of grouped predictions: Mann–Whitney AUC and Brier score.
//!
//! Data come grouped: each group (a covariate pattern, a proxy-event combination) has one score
//! and weighted counts of positive units (purchasers) and negative units. Both measures are
//! defined over the expanded units, but computed in O(g log g) over groups.

/// Checks lengths and values; returns `None` for mismatched lengths, non-finite scores, or
/// negative / non-finite counts.
fn valid(scores: &[f64], positives: &[f64], negatives: &[f64]) -> Option<()> {
    if scores.len() != positives.len() || scores.len() != negatives.len() {
        return None;
    }
    let ok_count = |c: &f64| c.is_finite() && *c >= 0.0;
    (scores.iter().all(|s| s.is_finite())
        && positives.iter().all(ok_count)
        && negatives.iter().all(ok_count))
    .then_some(())
}

/// Area under the ROC curve: the probability that a random positive unit scores above a random
/// negative one, ties counting ½ (the Mann–Whitney U statistic over `P·N`).
///
/// Groups are sorted by score and tied scores merged, so units sharing a score tie with each
/// other. `None` when lengths differ, a value is invalid, or there are no positives or no
/// negatives (the AUC is then undefined).
pub fn grouped_auc(scores: &[f64], positives: &[f64], negatives: &[f64]) -> Option<f64> {
    valid(scores, positives, negatives)?;
    let total_pos: f64 = positives.iter().sum();
    let total_neg: f64 = negatives.iter().sum();
    if total_pos <= 0.0 || total_neg <= 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    let mut neg_below = 0.0;
    let mut u = 0.0;
    let mut k = 0;
    while k < order.len() {
        // One block of tied scores.
        let s = scores[order[k]];
        let (mut pos_block, mut neg_block) = (0.0, 0.0);
        while k < order.len() && scores[order[k]] == s {
            pos_block += positives[order[k]];
            neg_block += negatives[order[k]];
            k += 1;
        }
        u += pos_block * (neg_below + 0.5 * neg_block);
        neg_below += neg_block;
    }
    let auc = u / (total_pos * total_neg);
    auc.is_finite().then(|| auc.clamp(0.0, 1.0))
}

/// AUC of a binary score (the indicator "the unit has the event") from its 2×2 table, with its
/// DeLong standard error.
///
/// `a` positives and `b` negatives have the event, `c` positives and `d` negatives do not. With
/// ties counted ½, `AUC = (TPR + TNR) / 2` where `TPR = a/(a+c)` and `TNR = d/(b+d)`. DeLong's
/// structural components of a binary score take two values half a unit apart, so his variance
/// `S10/n1 + S01/n0` (sample variances with `n − 1`) reduces to the closed form
/// `TPR(1−TPR) / (4(n1−1)) + FPR(1−FPR) / (4(n0−1))`, `n1 = a + c`, `n0 = b + d`.
/// `None` with fewer than 2 positives or 2 negatives (no variance).
pub fn binary_auc(a: u64, b: u64, c: u64, d: u64) -> Option<(f64, f64)> {
    let (n1, n0) = (a + c, b + d);
    if n1 < 2 || n0 < 2 {
        return None;
    }
    let tpr = a as f64 / n1 as f64;
    let fpr = b as f64 / n0 as f64;
    let auc = (tpr + 1.0 - fpr) / 2.0;
    let var =
        tpr * (1.0 - tpr) / (4.0 * (n1 - 1) as f64) + fpr * (1.0 - fpr) / (4.0 * (n0 - 1) as f64);
    Some((auc, var.sqrt()))
}

/// [`binary_auc`] with its Wald interval `AUC ± z·SE` clipped to [0, 1] (as pROC's DeLong
/// interval): `(auc, lo, hi)`.
pub fn binary_auc_interval(a: u64, b: u64, c: u64, d: u64, z: f64) -> Option<(f64, f64, f64)> {
    let (auc, se) = binary_auc(a, b, c, d)?;
    Some((
        auc,
        (auc - z * se).clamp(0.0, 1.0),
        (auc + z * se).clamp(0.0, 1.0),
    ))
}

/// Brier score: mean squared difference between score and outcome over all units,
/// `Σ [pos·(1−s)² + neg·s²] / Σ (pos+neg)`.
///
/// Scores are meant to be probabilities but are not checked to lie in [0, 1]. `None` when lengths
/// differ, a value is invalid, or there are no units.
pub fn brier(scores: &[f64], positives: &[f64], negatives: &[f64]) -> Option<f64> {
    valid(scores, positives, negatives)?;
    let mut sse = 0.0;
    let mut n = 0.0;
    for ((&s, &p), &q) in scores.iter().zip(positives).zip(negatives) {
        sse += p * (1.0 - s) * (1.0 - s) + q * s * s;
        n += p + q;
    }
    let b = sse / n;
    (n > 0.0 && b.is_finite()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands grouped counts (integers) into (score, label) units.
    fn expand(scores: &[f64], pos: &[f64], neg: &[f64]) -> Vec<(f64, bool)> {
        let mut v = Vec::new();
        for i in 0..scores.len() {
            v.extend(std::iter::repeat_n((scores[i], true), pos[i] as usize));
            v.extend(std::iter::repeat_n((scores[i], false), neg[i] as usize));
        }
        v
    }

    fn brute_auc(units: &[(f64, bool)]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for &(sp, lp) in units.iter().filter(|u| u.1) {
            for &(sn, _) in units.iter().filter(|u| !u.1) {
                let _ = lp;
                den += 1.0;
                num += if sp > sn {
                    1.0
                } else if sp == sn {
                    0.5
                } else {
                    0.0
                };
            }
        }
        num / den
    }

    #[test]
    fn auc_and_brier_match_brute_force_with_ties() {
        let scores = [0.1, 0.4, 0.4, 0.8, 0.05, 0.8, 0.3];
        let pos = [1.0, 3.0, 2.0, 5.0, 0.0, 1.0, 2.0];
        let neg = [20.0, 6.0, 4.0, 1.0, 9.0, 2.0, 7.0];
        let units = expand(&scores, &pos, &neg);
        let auc = grouped_auc(&scores, &pos, &neg).unwrap();
        assert!((auc - brute_auc(&units)).abs() < 1e-12);
        let b = brier(&scores, &pos, &neg).unwrap();
        let bb: f64 = units
            .iter()
            .map(|&(s, y)| (s - if y { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / units.len() as f64;
        assert!((b - bb).abs() < 1e-12);
    }

    /// Reference figures from `scripts/reference_proxy_auc.py`: sklearn's `roc_auc_score` and a
    /// general (midrank) DeLong variance on the expanded units, with the 95% interval.
    #[test]
    fn binary_auc_matches_sklearn_and_a_general_delong() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/reference/proxy_auc.json"
        ))
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let z = v["z"].as_f64().unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 5);
        for case in cases {
            let n = |k: &str| case[k].as_u64().unwrap();
            let f = |k: &str| case[k].as_f64().unwrap();
            let (a, b, c, d) = (n("a"), n("b"), n("c"), n("d"));
            let (auc, se) = binary_auc(a, b, c, d).unwrap();
            assert!((auc - f("auc")).abs() < 1e-12, "{case}: auc {auc}");
            assert!((se - f("se")).abs() < 1e-12, "{case}: se {se}");
            let (_, lo, hi) = binary_auc_interval(a, b, c, d, z).unwrap();
            assert!(
                (lo - f("lo")).abs() < 1e-12 && (hi - f("hi")).abs() < 1e-12,
                "{case}"
            );
            // The grouped Mann–Whitney AUC of the indicator agrees too.
            let g = grouped_auc(&[1.0, 0.0], &[a as f64, c as f64], &[b as f64, d as f64]);
            assert!((g.unwrap() - auc).abs() < 1e-12);
        }
        assert_eq!(binary_auc(1, 5, 0, 5), None);
        assert_eq!(binary_auc(3, 0, 2, 1), None);
    }

    #[test]
    fn auc_extremes_and_degenerate_inputs() {
        assert_eq!(
            grouped_auc(&[0.9, 0.1], &[5.0, 0.0], &[0.0, 5.0]),
            Some(1.0)
        );
        assert_eq!(
            grouped_auc(&[0.9, 0.1], &[0.0, 5.0], &[5.0, 0.0]),
            Some(0.0)
        );
        assert_eq!(
            grouped_auc(&[0.5, 0.5], &[1.0, 2.0], &[3.0, 4.0]),
            Some(0.5)
        );
        assert_eq!(grouped_auc(&[0.5], &[0.0], &[3.0]), None);
        assert_eq!(grouped_auc(&[0.5], &[1.0], &[0.0]), None);
        assert_eq!(grouped_auc(&[f64::NAN], &[1.0], &[1.0]), None);
        assert_eq!(grouped_auc(&[0.5], &[1.0, 2.0], &[1.0]), None);
        assert_eq!(brier(&[0.5], &[0.0], &[0.0]), None);
        assert_eq!(brier(&[0.5], &[-1.0], &[2.0]), None);
    }
}
