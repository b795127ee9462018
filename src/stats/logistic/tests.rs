//! Unit tests of the grouped logistic fits (IRLS, Firth, clustered errors) against closed
//! forms and statsmodels figures.

use super::*;
use linfa::traits::Predict;
use linfa::Dataset;
use ndarray::array;

fn fit(x: Array2<f64>, t: Array2<f64>) -> Result<GroupedLogistic, StatsError> {
    GroupedLogistic::params().fit(&Dataset::new(x, t))
}

/// One binary feature as a grouped data set from the 2×2 table (a, b; c, d).
fn two_by_two(a: f64, b: f64, c: f64, d: f64) -> (Array2<f64>, Array2<f64>) {
    (array![[1.0], [0.0]], array![[a, a + b], [c, c + d]])
}

#[test]
fn one_binary_feature_matches_closed_form() {
    let (a, b, c, d) = (40.0, 160.0, 25.0, 775.0);
    let (x, t) = two_by_two(a, b, c, d);
    let m = fit(x.clone(), t).unwrap();
    assert_eq!(m.method(), Method::MaximumLikelihood);
    assert!(!m.separation() && m.converged());
    let f: f64 = a * d / (b * c);
    assert!((m.coefficients()[0] - f.ln()).abs() < 1e-8);
    let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
    assert!((m.std_errors()[0] - se).abs() < 1e-8);
    assert!((m.intercept() - (c / d).ln()).abs() < 1e-8);
    let coef = m.coefficient(0).unwrap();
    assert!((coef.z - f.ln() / se).abs() < 1e-6);
    assert!(coef.ci95.contains(f.ln()) && coef.p_value < 1e-6);
    let (or, ci) = m.odds_ratio(0).unwrap();
    assert!((or - f).abs() < 1e-6 && ci.contains(f));
    // Fitted probabilities reproduce the observed proportions (saturated model).
    let p = m.predict_proba(&x);
    assert!((p[0] - a / (a + b)).abs() < 1e-10 && (p[1] - c / (c + d)).abs() < 1e-10);
    let p2: Array1<f64> = m.predict(&x);
    assert_eq!(p, p2);
    // Log-likelihood of the saturated model, by hand.
    let ll = a * (a / (a + b)).ln()
        + b * (b / (a + b)).ln()
        + c * (c / (c + d)).ln()
        + d * (d / (c + d)).ln();
    assert!((m.log_likelihood() - ll).abs() < 1e-8);
    assert!((m.covariance()[[1, 1]] - se * se).abs() < 1e-8);
}

/// 2 binary features and a 3-level categorical (2 dummies): 12 covariate patterns.
fn grouped_example() -> (Array2<f64>, Array2<f64>) {
    let mut x = Vec::new();
    let mut t = Vec::new();
    let mut i = 0usize;
    for f1 in [0.0, 1.0] {
        for f2 in [0.0, 1.0] {
            for level in 0..3 {
                let (c1, c2) = (f64::from(level == 1), f64::from(level == 2));
                let eta = -2.0 + 1.1 * f1 - 0.6 * f2 + 0.4 * c1 + 0.9 * c2;
                let n = (40 + 13 * (i % 5)) as f64;
                // Model-based counts with a deterministic wobble so the fit is not exact.
                let wobble = [1.0, -1.0, 2.0, 0.0, -2.0, 1.0][i % 6];
                let s = (n * sigmoid(eta)).round() + wobble;
                x.extend([f1, f2, c1, c2]);
                t.extend([s.max(1.0), n]);
                i += 1;
            }
        }
    }
    (
        Array2::from_shape_vec((12, 4), x).unwrap(),
        Array2::from_shape_vec((12, 2), t).unwrap(),
    )
}

#[test]
fn matches_linfa_logistic_on_expanded_units() {
    let (x, t) = grouped_example();
    let m = fit(x.clone(), t.clone()).unwrap();
    assert_eq!(m.method(), Method::MaximumLikelihood);
    assert!(m.not_estimable().is_empty());
    // Expand to one row per unit.
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for i in 0..x.nrows() {
        let (s, n) = (t[[i, 0]] as usize, t[[i, 1]] as usize);
        for u in 0..n {
            rows.extend(x.row(i).iter().copied());
            labels.push(u < s);
        }
    }
    let purchases = labels.iter().filter(|&&l| l).count();
    assert!(
        purchases * 2 < labels.len(),
        "purchases must be the minority class"
    );
    let xe = Array2::from_shape_vec((labels.len(), 4), rows).unwrap();
    let ds = Dataset::new(xe, Array1::from(labels));
    let lr = linfa_logistic::LogisticRegression::default()
        .alpha(0.0)
        .max_iterations(1000)
        .gradient_tolerance(1e-10)
        .fit(&ds)
        .unwrap();
    // linfa-logistic 0.8.1 makes the more frequent class the positive one, so its parameters
    // are the log odds of NOT purchasing here: flip the sign unless `true` is positive.
    let sign = if lr.labels().pos.class { 1.0 } else { -1.0 };
    assert_eq!(sign, -1.0);
    assert!((m.intercept() - sign * lr.intercept()).abs() < 1e-5);
    for j in 0..4 {
        let diff = (m.coefficients()[j] - sign * lr.params()[j]).abs();
        assert!(diff < 1e-5, "column {j}: {diff}");
    }
}

#[test]
fn matches_statsmodels_glm_binomial() {
    // Reference: statsmodels 0.15 `GLM(Binomial())` on the same grouped data, tol=1e-14.
    let (x, t) = grouped_example();
    let m = fit(x, t).unwrap();
    let want = [
        -1.898536425467,
        1.107007660814,
        -0.705708383588,
        0.174155500075,
        0.952067598129,
    ];
    let want_se = [
        0.242475341748,
        0.19208120314,
        0.187435295278,
        0.241836075745,
        0.224021544485,
    ];
    assert!((m.intercept() - want[0]).abs() < 1e-8);
    assert!((m.intercept_std_error() - want_se[0]).abs() < 1e-8);
    for j in 0..4 {
        assert!((m.coefficients()[j] - want[j + 1]).abs() < 1e-8);
        assert!((m.std_errors()[j] - want_se[j + 1]).abs() < 1e-8);
    }
    assert!((m.log_likelihood() - -369.72164915136705).abs() < 1e-8);
}

#[test]
fn rare_but_unseparated_events_keep_the_mle() {
    // Intercept ≈ −16.6 is a genuine rare event, not separation: no observed-0 cell.
    let (a, b, c, d) = (30.0, 1000.0, 3.0, 50_000_000.0);
    let (x, t) = two_by_two(a, b, c, d);
    let m = fit(x, t).unwrap();
    assert_eq!(m.method(), Method::MaximumLikelihood);
    assert!((m.intercept() - (c / d).ln()).abs() < 1e-8);
    let f: f64 = a * d / (b * c);
    assert!((m.coefficients()[0] - f.ln()).abs() < 1e-8);
}

#[test]
fn zero_cell_uses_firth_and_matches_haldane_anscombe() {
    // Nobody buys without the proxy (c = 0).
    let (a, b, c, d) = (30.0, 70.0, 0.0, 900.0);
    let (x, t) = two_by_two(a, b, c, d);
    let m = fit(x.clone(), t.clone()).unwrap();
    assert!(m.separation());
    assert_eq!(m.method(), Method::Firth);
    assert!(m.converged());
    let beta = ((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))).ln();
    assert!((m.coefficients()[0] - beta).abs() < 1e-6, "{m:?}");
    assert!((m.intercept() - ((c + 0.5) / (d + 0.5)).ln()).abs() < 1e-6);
    let coef = m.coefficient(0).unwrap();
    assert!(coef.std_error.is_finite() && coef.p_value.is_finite());
    assert!(m.odds_ratio(0).is_some());
    // Without the fallback the fit refuses instead of reporting a runaway estimate.
    let strict = GroupedLogistic::params()
        .firth_on_separation(false)
        .fit(&Dataset::new(x, t));
    assert!(matches!(strict, Err(StatsError::Separation)));
}

#[test]
fn separation_with_more_covariates_stays_finite() {
    // Nobody with feature 0 ever buys, whatever feature 1 is (quasi-complete separation).
    let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let t = array![[5.0, 100.0], [0.0, 100.0], [10.0, 80.0], [0.0, 90.0]];
    let m = fit(x, t).unwrap();
    assert!(m.separation() && m.method() == Method::Firth);
    // Reference: Firth's iteration run by numpy on the 370 expanded Bernoulli units
    // (independent of the grouped hat-diagonal formula used here).
    let want = [-2.854753493973, -3.617055981248, 0.949273250025];
    let want_se = [0.436283698133, 1.424417732073, 0.543565437901];
    assert!((m.intercept() - want[0]).abs() < 1e-6, "{m:?}");
    assert!((m.intercept_std_error() - want_se[0]).abs() < 1e-6);
    for j in 0..2 {
        assert!((m.coefficients()[j] - want[j + 1]).abs() < 1e-6, "{m:?}");
        assert!((m.std_errors()[j] - want_se[j + 1]).abs() < 1e-6);
    }
    // A zero cell that the additive model cannot reproduce is not separation: plain MLE.
    let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let t = array![[5.0, 100.0], [20.0, 100.0], [0.0, 80.0], [30.0, 90.0]];
    let m = fit(x, t).unwrap();
    assert!(
        !m.separation() && m.method() == Method::MaximumLikelihood,
        "{m:?}"
    );
    assert!(m.coefficients().iter().all(|v| v.is_finite()));
    assert!(m.covariance().iter().all(|v| v.is_finite()));
}

#[test]
fn complete_separation_with_many_columns_stays_finite() {
    // Purchase happens exactly when column 0 is 1; 8 binary columns, 256 patterns.
    let mut x = Array2::zeros((256, 8));
    let mut t = Array2::zeros((256, 2));
    for i in 0..256 {
        for j in 0..8 {
            x[[i, j]] = f64::from((i >> j) as u8 & 1);
        }
        let n = (3 + i % 7) as f64;
        t[[i, 0]] = if i & 1 == 1 { n } else { 0.0 };
        t[[i, 1]] = n;
    }
    let m = fit(x.clone(), t).unwrap();
    assert!(m.separation() && m.method() == Method::Firth && m.converged());
    assert!(m.coefficients()[0] > 3.0);
    assert!(m.covariance().iter().all(|v| v.is_finite()));
    assert!(m.predict_proba(&x).iter().all(|p| p.is_finite()));
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(256))]
    /// Arbitrary small grouped data sets either fit with finite numbers or fail cleanly.
    #[test]
    fn never_returns_non_finite_numbers(
        cells in proptest::collection::vec((0u8..4, 0u32..30, 0u32..30), 1..12)
    ) {
        let mut x = Array2::zeros((cells.len(), 3));
        let mut t = Array2::zeros((cells.len(), 2));
        for (i, &(pattern, s, f)) in cells.iter().enumerate() {
            x[[i, 0]] = f64::from(pattern & 1);
            x[[i, 1]] = f64::from(pattern >> 1);
            x[[i, 2]] = f64::from(pattern & 1); // always a duplicate of column 0
            t[[i, 0]] = f64::from(s);
            t[[i, 1]] = f64::from(s + f);
        }
        let result = fit(x, t);
        proptest::prop_assert!(
            matches!(result, Ok(_) | Err(StatsError::NoOutcomeVariation { .. } | StatsError::NoData)),
            "{result:?}"
        );
        if let Ok(m) = result {
            proptest::prop_assert!(m.not_estimable().contains(&2));
            proptest::prop_assert!(m.intercept().is_finite());
            proptest::prop_assert!(m.coefficients().iter().all(|v| v.is_finite()));
            proptest::prop_assert!(m.covariance().iter().all(|v| v.is_finite()));
            proptest::prop_assert!(m.log_likelihood().is_finite());
            for j in 0..3 {
                if let Some(c) = m.coefficient(j) {
                    proptest::prop_assert!(c.z.is_finite() && c.p_value.is_finite());
                }
            }
        }
    }
}

#[test]
fn constant_and_duplicated_columns_are_not_estimable() {
    let (x, t) = grouped_example();
    // Columns: f1, const (differs only on a zero-trial row), f2, c1, c2, copy of f1,
    // f1 + f2 - 3 (dependent on intercept and earlier columns).
    let mut wide = Array2::zeros((13, 7));
    let mut tt = Array2::zeros((13, 2));
    for i in 0..12 {
        let r = x.row(i);
        wide.row_mut(i).assign(&array![
            r[0],
            2.0,
            r[1],
            r[2],
            r[3],
            r[0],
            r[0] + r[1] - 3.0
        ]);
        tt.row_mut(i).assign(&t.row(i));
    }
    wide.row_mut(12)
        .assign(&array![0.0, 7.0, 1.0, 0.0, 0.0, 1.0, 5.0]);
    let m = fit(wide, tt).unwrap();
    assert_eq!(m.not_estimable(), &[1, 5, 6]);
    assert!(m.coefficient(1).is_none() && m.odds_ratio(5).is_none());
    assert!(m.coefficient(9).is_none());
    let base = fit(x, t).unwrap();
    for (j, k) in [(0, 0), (2, 1), (3, 2), (4, 3)] {
        assert!((m.coefficients()[j] - base.coefficients()[k]).abs() < 1e-9);
        assert!((m.std_errors()[j] - base.std_errors()[k]).abs() < 1e-9);
    }
    assert_eq!(m.coefficients()[5], 0.0);
    assert_eq!(
        m.covariance().row(6).iter().map(|v| v.abs()).sum::<f64>(),
        0.0
    );
}

#[test]
fn no_outcome_variation_or_no_data_is_an_error() {
    let x = array![[1.0], [0.0]];
    let zeros = fit(x.clone(), array![[0.0, 10.0], [0.0, 20.0]]);
    assert!(matches!(zeros, Err(StatsError::NoOutcomeVariation { .. })));
    let ones = fit(x.clone(), array![[10.0, 10.0], [20.0, 20.0]]);
    assert!(matches!(ones, Err(StatsError::NoOutcomeVariation { .. })));
    let none = fit(x.clone(), array![[0.0, 0.0], [0.0, 0.0]]);
    assert!(matches!(none, Err(StatsError::NoData)));
    let bad = fit(x.clone(), array![[3.0, 2.0], [0.0, 5.0]]);
    assert!(matches!(bad, Err(StatsError::InvalidData(_))));
    let shape = fit(x, array![[1.0, 2.0]]);
    assert!(matches!(shape, Err(StatsError::Shape(_))));
    let params = GroupedLogistic::params().tolerance(0.0).check();
    assert!(matches!(params, Err(StatsError::InvalidParameter(_))));
}

#[test]
fn large_counts_are_exact_beyond_f32() {
    // Counts above 2^24 that f32 weights could not represent.
    let (a, b, c, d) = (1_234_567.0, 40_000_001.0, 765_433.0, 90_000_003.0);
    let (x, t) = two_by_two(a, b, c, d);
    let m = fit(x, t).unwrap();
    let f: f64 = a * d / (b * c);
    assert!((m.coefficients()[0] - f.ln()).abs() < 1e-8);
}
