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
