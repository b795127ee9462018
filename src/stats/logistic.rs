//! Grouped (binomial) logistic regression by Newton–Raphson, with a Firth fallback for separation.
//!
//! The data are distinct covariate patterns (rows of proxy-event indicators) with a count of
//! purchasers (`successes`) among the units (`trials`) showing that pattern. This is the binomial
//! GLM with logit link: `y_i ~ Binomial(n_i, π_i)`, `logit π_i = β₀ + x_iᵀβ`.
//!
//! # Why not linfa's `weights`
//!
//! linfa datasets carry sample weights as `f32`, which represents integers exactly only up to
//! 2²⁴ ≈ 16.8 million; session counts of a large shop exceed that. The targets here are therefore
//! an `n × 2` array of `(successes, trials)` in `f64`, which is exact to 2⁵³.
//!
//! # Estimation
//!
//! Maximum likelihood by Newton–Raphson (equal to IRLS / Fisher scoring for the canonical logit
//! link) with step halving on the log-likelihood
//! `L(β) = Σ y_i η_i − n_i log(1 + e^{η_i})`, evaluated in the overflow-free form
//! `log(1+e^η) = max(η, 0) + log1p(e^{−|η|})`. Score `U = Zᵀ(y − nπ)`, information
//! `I = ZᵀWZ` with `W = diag(n π (1−π))` and `Z = [1, X]`. Linear systems are solved with a
//! Cholesky factorisation written here (p is small, and the crate avoids LAPACK).
//!
//! # Separation and Firth
//!
//! With a zero cell (for example nobody buys without `begin_checkout`) the likelihood keeps
//! increasing as a coefficient goes to ±∞: the maximum likelihood estimate does not exist.
//! The fit is flagged as separated when the ML iteration
//! 1. does not converge within `max_iterations`, or
//! 2. meets an information matrix that is not numerically positive definite, or
//! 3. ends with some |coefficient| (intercept included) above 15 **and** a row whose observed
//!    proportion is exactly 0 (or 1) has a fitted probability within 1e-8 of 0 (or 1).
//!
//! Rule 3 needs both halves: a large intercept alone can be a genuine very rare event, and a
//! tiny fitted probability alone can be a legitimately rare cell, but together they are the
//! signature of an estimate running off to infinity. When separated and `firth_on_separation`
//! is set, the model is refitted by Firth's penalized likelihood `L(β) + ½ log|I(β)|`
//! (Jeffreys prior), whose estimates are always finite. For grouped data its modified score is
//! `U*(β) = Zᵀ(y − nπ + h ⊙ (½ − π))` where `h_i = w_i z_iᵀ I⁻¹ z_i` is the diagonal of the hat
//! matrix `W^{1/2} Z (ZᵀWZ)⁻¹ ZᵀW^{1/2}`. Iteration `β ← β + I⁻¹U*` with step halving on the
//! penalized log-likelihood. Standard errors are then Wald errors from `I(β̂)⁻¹` at the Firth
//! estimate (as in R's `logistf` with `pl = FALSE`). Without separation the result is the plain
//! MLE.
//!
//! # Not estimable columns
//!
//! A column that is constant over the rows with trials, or a linear combination of the
//! intercept and earlier columns, is dropped before fitting (modified Gram–Schmidt with
//! re-orthogonalisation, relative residual norm below 1e-9). Its index is listed in
//! [`GroupedLogistic::not_estimable`]; it is treated as a coefficient fixed at 0, so it holds
//! 0.0 in [`GroupedLogistic::coefficients`] and zero rows/columns in the covariance matrix, and
//! [`GroupedLogistic::coefficient`] returns `None` for it.

use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, ArrayView2, Data, Ix2};

use super::interval::{normal_sf, z_quantile};
use super::StatsError;
use crate::types::Interval;

/// |coefficient| above which, together with a saturated fitted cell, the ML fit counts as
/// separated (rule 3 in the module docs).
const SEPARATION_COEF: f64 = 15.0;
/// Distance of a fitted probability from 0 or 1 that counts as saturated (rule 3).
const SEPARATION_PROB: f64 = 1e-8;
/// Relative residual norm under which Gram–Schmidt declares a column linearly dependent.
const DEPENDENCE_TOL: f64 = 1e-9;
/// Relative pivot under which the Cholesky factorisation declares a matrix not positive definite.
const PIVOT_TOL: f64 = 1e-13;
/// Maximum number of step halvings in one Newton iteration.
const MAX_HALVINGS: usize = 60;

/// How the reported coefficients were estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Plain maximum likelihood (the data were not separated).
    MaximumLikelihood,
    /// Firth's penalized likelihood, used because the data were separated.
    Firth,
}

/// Unchecked hyperparameters of [`GroupedLogistic`]; `check()` validates them.
///
/// Defaults: 100 iterations, tolerance 1e-10 on the largest absolute Newton step or score
/// component, Firth refit on separation switched on.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedLogisticParams(GroupedLogisticValidParams);

/// Validated hyperparameters of [`GroupedLogistic`]; implements linfa's `Fit`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedLogisticValidParams {
    max_iterations: usize,
    tolerance: f64,
    firth_on_separation: bool,
}

impl Default for GroupedLogisticParams {
    fn default() -> Self {
        GroupedLogisticParams(GroupedLogisticValidParams {
            max_iterations: 100,
            tolerance: 1e-10,
            firth_on_separation: true,
        })
    }
}

impl GroupedLogisticParams {
    /// Maximum Newton iterations (per fit; the Firth refit gets the same budget).
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.0.max_iterations = n;
        self
    }

    /// Convergence tolerance on the largest absolute Newton step or score component.
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.0.tolerance = tol;
        self
    }

    /// Whether separated data are refitted by Firth's method (otherwise the fit fails with
    /// [`StatsError::Separation`]).
    pub fn firth_on_separation(mut self, on: bool) -> Self {
        self.0.firth_on_separation = on;
        self
    }
}

impl GroupedLogisticValidParams {
    /// Maximum Newton iterations.
    pub fn max_iterations(&self) -> usize {
        self.max_iterations
    }

    /// Convergence tolerance.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// Whether separation triggers a Firth refit.
    pub fn firth_on_separation(&self) -> bool {
        self.firth_on_separation
    }
}

impl ParamGuard for GroupedLogisticParams {
    type Checked = GroupedLogisticValidParams;
    type Error = StatsError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        if self.0.max_iterations == 0 {
            return Err(StatsError::InvalidParameter(
                "max_iterations must be at least 1".into(),
            ));
        }
        if !(self.0.tolerance.is_finite() && self.0.tolerance > 0.0) {
            return Err(StatsError::InvalidParameter(format!(
                "tolerance must be finite and positive, got {}",
                self.0.tolerance
            )));
        }
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// Wald summary of one coefficient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coef {
    /// Point estimate (log odds ratio per unit of the covariate).
    pub estimate: f64,
    /// Standard error from the inverse information matrix.
    pub std_error: f64,
    /// Wald statistic `estimate / std_error`.
    pub z: f64,
    /// Two-sided normal p-value of the Wald statistic.
    pub p_value: f64,
    /// 95 % Wald interval `estimate ± 1.96·std_error`.
    pub ci95: Interval,
}

impl Coef {
    fn new(estimate: f64, std_error: f64) -> Self {
        let z = estimate / std_error;
        let half = z_quantile(0.95) * std_error;
        Coef {
            estimate,
            std_error,
            z,
            p_value: (2.0 * normal_sf(z.abs())).min(1.0),
            ci95: Interval::new(estimate - half, estimate + half),
        }
    }
}

/// A fitted grouped logistic regression: `logit P(success) = intercept + x·coefficients`.
///
/// All stored numbers are finite (fitting fails otherwise). Coefficient arrays have one entry per
/// input column; not-estimable columns hold 0.0 there (see module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedLogistic {
    intercept: f64,
    coefficients: Array1<f64>,
    covariance: Array2<f64>,
    intercept_std_error: f64,
    std_errors: Array1<f64>,
    log_likelihood: f64,
    iterations: usize,
    converged: bool,
    method: Method,
    separation: bool,
    not_estimable: Vec<usize>,
}

impl GroupedLogistic {
    /// Default hyperparameters, in linfa's `Model::params()` style.
    pub fn params() -> GroupedLogisticParams {
        GroupedLogisticParams::default()
    }

    /// The fitted intercept (log odds of success when every covariate is 0).
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Coefficients per input column (0.0 for not-estimable columns).
    pub fn coefficients(&self) -> &Array1<f64> {
        &self.coefficients
    }

    /// Covariance matrix `I(β̂)⁻¹` of (intercept, coefficients): index 0 is the intercept, index
    /// `j+1` is input column `j`; rows and columns of not-estimable columns are 0.
    pub fn covariance(&self) -> &Array2<f64> {
        &self.covariance
    }

    /// Standard error of the intercept.
    pub fn intercept_std_error(&self) -> f64 {
        self.intercept_std_error
    }

    /// Standard errors per input column (0.0 for not-estimable columns, which are fixed at 0).
    pub fn std_errors(&self) -> &Array1<f64> {
        &self.std_errors
    }

    /// Binomial log-likelihood `Σ y η − n log(1+e^η)` at the estimate, without the constant
    /// `Σ log C(n, y)`; equal to the Bernoulli log-likelihood of the expanded units. For Firth fits
    /// this is the unpenalized log-likelihood.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// Newton iterations used by the reported fit (the Firth refit when there was one).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the reported fit met the tolerance within `max_iterations`.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Maximum likelihood or Firth.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Whether separation was detected in the maximum likelihood fit.
    pub fn separation(&self) -> bool {
        self.separation
    }

    /// Indices of input columns dropped as constant or linearly dependent.
    pub fn not_estimable(&self) -> &[usize] {
        &self.not_estimable
    }

    /// Number of input columns the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.coefficients.len()
    }

    /// Wald summary of the intercept.
    pub fn intercept_coef(&self) -> Coef {
        Coef::new(self.intercept, self.intercept_std_error)
    }

    /// Wald summary of input column `j`; `None` when `j` is out of range or not estimable.
    pub fn coefficient(&self, j: usize) -> Option<Coef> {
        if j >= self.n_features() || self.not_estimable.contains(&j) {
            return None;
        }
        Some(Coef::new(self.coefficients[j], self.std_errors[j]))
    }

    /// Odds ratio `exp(β_j)` with its 95 % Wald interval; `None` when the column is not estimable
    /// or the exponential would overflow.
    pub fn odds_ratio(&self, j: usize) -> Option<(f64, Interval)> {
        let c = self.coefficient(j)?;
        let (e, lo, hi) = (c.estimate.exp(), c.ci95.lo.exp(), c.ci95.hi.exp());
        (e.is_finite() && lo.is_finite() && hi.is_finite()).then(|| (e, Interval::new(lo, hi)))
    }

    /// Fitted success probabilities for covariate rows (same columns as the training records;
    /// not-estimable columns have coefficient 0 and so are ignored).
    ///
    /// # Panics
    /// When `x` does not have [`n_features`](Self::n_features) columns (a programming error,
    /// like a mismatched `dot`).
    pub fn predict_proba(&self, x: &Array2<f64>) -> Array1<f64> {
        self.probabilities(x.view())
    }

    fn probabilities(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        assert_eq!(
            x.ncols(),
            self.n_features(),
            "predict_proba: expected {} columns",
            self.n_features()
        );
        x.dot(&self.coefficients)
            .mapv(|eta| sigmoid(eta + self.intercept))
    }
}

/// Predicts success probabilities (linfa's `predict` then returns an `Array1<f64>`).
impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for GroupedLogistic {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one target per record");
        y.assign(&self.probabilities(x.view()));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// Fits on records = covariate patterns (no intercept column) and targets = `(successes,
/// trials)` per pattern. Rows with 0 trials are ignored.
///
/// Errors: [`StatsError::Shape`] for mismatched shapes, [`StatsError::InvalidData`] for
/// non-finite values, negative counts or successes above trials, [`StatsError::NoData`] when no
/// row has trials, [`StatsError::NoOutcomeVariation`] when all units succeeded or all failed (the
/// only finite answer would be invented by the penalty, so we refuse rather than report it),
/// [`StatsError::Separation`] when separated and Firth is off, and [`StatsError::Numerical`] if
/// the information matrix cannot be inverted at the final estimate. A Firth refit that does not
/// meet the tolerance within `max_iterations` is still returned (its numbers are finite) with
/// `converged() == false`, so callers can decide whether to trust it.
impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array2<f64>, StatsError>
    for GroupedLogisticValidParams
{
    type Object = GroupedLogistic;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array2<f64>>,
    ) -> Result<GroupedLogistic, StatsError> {
        fit_grouped(self, dataset.records.view(), dataset.targets.view())
    }
}

/// The design restricted to usable rows and estimable columns.
struct Design {
    /// `m × q` with a leading column of ones.
    z: Array2<f64>,
    y: Array1<f64>,
    n: Array1<f64>,
    /// Input column index of design column `k + 1`.
    kept: Vec<usize>,
    not_estimable: Vec<usize>,
}

fn build_design(x: ArrayView2<'_, f64>, t: ArrayView2<'_, f64>) -> Result<Design, StatsError> {
    if t.ncols() != 2 {
        return Err(StatsError::Shape(format!(
            "targets must have 2 columns (successes, trials), got {}",
            t.ncols()
        )));
    }
    if t.nrows() != x.nrows() {
        return Err(StatsError::Shape(format!(
            "{} records but {} target rows",
            x.nrows(),
            t.nrows()
        )));
    }
    let mut rows = Vec::new();
    for (i, tr) in t.outer_iter().enumerate() {
        let (s, n) = (tr[0], tr[1]);
        if !(s.is_finite() && n.is_finite() && s >= 0.0 && n >= 0.0 && s <= n) {
            return Err(StatsError::InvalidData(format!(
                "row {i}: need 0 ≤ successes ≤ trials, got ({s}, {n})"
            )));
        }
        if n > 0.0 {
            if x.row(i).iter().any(|v| !v.is_finite()) {
                return Err(StatsError::InvalidData(format!(
                    "row {i}: non-finite covariate"
                )));
            }
            rows.push(i);
        }
    }
    if rows.is_empty() {
        return Err(StatsError::NoData);
    }
    let y: Array1<f64> = rows.iter().map(|&i| t[[i, 0]]).collect();
    let n: Array1<f64> = rows.iter().map(|&i| t[[i, 1]]).collect();
    let (sy, sn) = (y.sum(), n.sum());
    if sy <= 0.0 || sy >= sn {
        return Err(StatsError::NoOutcomeVariation {
            successes: sy,
            trials: sn,
        });
    }
    // Modified Gram–Schmidt over the usable rows, starting from the intercept.
    let m = rows.len();
    let ones = Array1::from_elem(m, 1.0 / (m as f64).sqrt());
    let mut basis = vec![ones];
    let (mut kept, mut not_estimable) = (Vec::new(), Vec::new());
    for j in 0..x.ncols() {
        let col: Array1<f64> = rows.iter().map(|&i| x[[i, j]]).collect();
        let norm0 = col.dot(&col).sqrt();
        let mut v = col;
        for _ in 0..2 {
            for q in &basis {
                let c = q.dot(&v);
                v.scaled_add(-c, q);
            }
        }
        let norm = v.dot(&v).sqrt();
        if norm0 > 0.0 && norm > DEPENDENCE_TOL * norm0 {
            basis.push(v / norm);
            kept.push(j);
        } else {
            not_estimable.push(j);
        }
    }
    let mut z = Array2::ones((m, kept.len() + 1));
    for (k, &j) in kept.iter().enumerate() {
        for (r, &i) in rows.iter().enumerate() {
            z[[r, k + 1]] = x[[i, j]];
        }
    }
    Ok(Design {
        z,
        y,
        n,
        kept,
        not_estimable,
    })
}

/// Quantities of the model at one β.
struct Eval {
    pi: Array1<f64>,
    w: Array1<f64>,
    /// Lower Cholesky factor of the information, `None` when not positive definite.
    chol: Option<Array2<f64>>,
    loglik: f64,
}

impl Eval {
    fn at(d: &Design, beta: &Array1<f64>) -> Eval {
        let eta = d.z.dot(beta);
        let pi = eta.mapv(sigmoid);
        let w = &d.n * &pi.mapv(|p| p * (1.0 - p));
        let loglik = eta
            .iter()
            .zip(&d.y)
            .zip(&d.n)
            .map(|((&e, &y), &n)| y * e - n * log1pexp(e))
            .sum();
        let zw = &d.z * &w.view().insert_axis(ndarray::Axis(1));
        let info = d.z.t().dot(&zw);
        Eval {
            pi,
            w,
            chol: cholesky(&info),
            loglik,
        }
    }

    /// Firth's objective `L + ½ log|I|`; −∞ when `I` is singular (so step halving backs off).
    fn penalized(&self) -> f64 {
        match &self.chol {
            Some(l) => self.loglik + l.diag().iter().map(|v| v.ln()).sum::<f64>(),
            None => f64::NEG_INFINITY,
        }
    }

    fn objective(&self, firth: bool) -> f64 {
        if firth {
            self.penalized()
        } else {
            self.loglik
        }
    }

    /// The (Firth-modified when `firth`) score, given the Cholesky factor `l` of the information.
    fn score(&self, d: &Design, l: &Array2<f64>, firth: bool) -> Array1<f64> {
        let mut resid = &d.y - &(&d.n * &self.pi);
        if firth {
            for (r, zr) in d.z.outer_iter().enumerate() {
                let v = forward(l, zr);
                let h = self.w[r] * v.dot(&v);
                resid[r] += h * (0.5 - self.pi[r]);
            }
        }
        d.z.t().dot(&resid)
    }
}

/// Outcome of one Newton run.
struct Newton {
    beta: Array1<f64>,
    iterations: usize,
    converged: bool,
    singular: bool,
}

fn newton(p: &GroupedLogisticValidParams, d: &Design, firth: bool) -> Newton {
    let q = d.z.ncols();
    let mut beta = Array1::zeros(q);
    let rate = (d.y.sum() + 0.5) / (d.n.sum() + 1.0);
    beta[0] = (rate / (1.0 - rate)).ln();
    let mut ev = Eval::at(d, &beta);
    let mut out = Newton {
        beta: beta.clone(),
        iterations: 0,
        converged: false,
        singular: false,
    };
    for it in 1..=p.max_iterations {
        out.iterations = it;
        let Some(l) = ev.chol.clone() else {
            out.singular = true;
            break;
        };
        let u = ev.score(d, &l, firth);
        if max_abs(&u) < p.tolerance {
            out.converged = true;
            break;
        }
        let delta = back(&l, &forward(&l, u.view()));
        let old = ev.objective(firth);
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            let cand = &beta + &(&delta * step);
            let e = Eval::at(d, &cand);
            let obj = e.objective(firth);
            if obj.is_finite() && obj >= old - 1e-12 * (1.0 + old.abs()) {
                accepted = Some((cand, e));
                break;
            }
            step *= 0.5;
        }
        let Some((cand, e)) = accepted else {
            // No step improves the objective: we are at the optimum to machine precision.
            out.converged = max_abs(&delta) < p.tolerance.sqrt();
            break;
        };
        beta = cand;
        ev = e;
        if max_abs(&delta) < p.tolerance {
            out.converged = true;
            break;
        }
    }
    out.beta = beta;
    out
}

/// Rule 3 of the module docs: a large coefficient together with a saturated observed-0/1 cell.
fn saturated(d: &Design, beta: &Array1<f64>) -> bool {
    if max_abs(beta) <= SEPARATION_COEF {
        return false;
    }
    let pi = d.z.dot(beta).mapv(sigmoid);
    (0..d.y.len()).any(|r| {
        (d.y[r] == 0.0 && pi[r] < SEPARATION_PROB)
            || (d.y[r] == d.n[r] && pi[r] > 1.0 - SEPARATION_PROB)
    })
}

fn fit_grouped(
    p: &GroupedLogisticValidParams,
    x: ArrayView2<'_, f64>,
    t: ArrayView2<'_, f64>,
) -> Result<GroupedLogistic, StatsError> {
    let d = build_design(x, t)?;
    let ml = newton(p, &d, false);
    let separation = ml.singular || !ml.converged || saturated(&d, &ml.beta);
    let (fit, method) = if separation {
        if !p.firth_on_separation {
            return Err(StatsError::Separation);
        }
        (newton(p, &d, true), Method::Firth)
    } else {
        (ml, Method::MaximumLikelihood)
    };
    if fit.singular {
        return Err(StatsError::Numerical(
            "information matrix not positive definite during the Firth fit".into(),
        ));
    }
    let ev = Eval::at(&d, &fit.beta);
    let l = ev.chol.as_ref().ok_or_else(|| {
        StatsError::Numerical("information matrix not positive definite at the estimate".into())
    })?;
    let cov_small = inverse_from_cholesky(l);
    let q = d.z.ncols();
    let pcols = x.ncols();
    let mut coefficients = Array1::zeros(pcols);
    let mut std_errors = Array1::zeros(pcols);
    let mut covariance = Array2::zeros((pcols + 1, pcols + 1));
    let full = |k: usize| if k == 0 { 0 } else { d.kept[k - 1] + 1 };
    for a in 0..q {
        for b in 0..q {
            covariance[[full(a), full(b)]] = cov_small[[a, b]];
        }
    }
    for (k, &j) in d.kept.iter().enumerate() {
        coefficients[j] = fit.beta[k + 1];
        std_errors[j] = cov_small[[k + 1, k + 1]].sqrt();
    }
    let intercept_std_error = cov_small[[0, 0]].sqrt();
    let finite = fit.beta.iter().all(|v| v.is_finite())
        && cov_small.iter().all(|v| v.is_finite())
        && (0..q).all(|k| cov_small[[k, k]] > 0.0)
        && ev.loglik.is_finite();
    if !finite {
        return Err(StatsError::Numerical(
            "non-finite estimate or covariance".into(),
        ));
    }
    Ok(GroupedLogistic {
        intercept: fit.beta[0],
        coefficients,
        covariance,
        intercept_std_error,
        std_errors,
        log_likelihood: ev.loglik,
        iterations: fit.iterations,
        converged: fit.converged,
        method,
        separation,
        not_estimable: d.not_estimable,
    })
}

/// Logistic function, computed without overflow for either sign of `eta`.
fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^x)` without overflow: `max(x, 0) + log1p(e^{−|x|})`.
fn log1pexp(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn max_abs(v: &Array1<f64>) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Lower Cholesky factor `L` with `A = L Lᵀ`; `None` when a pivot is non-finite or below
/// `PIVOT_TOL` times the original diagonal entry (numerically not positive definite).
fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::zeros((n, n));
    for j in 0..n {
        let mut s = a[[j, j]];
        for k in 0..j {
            s -= l[[j, k]] * l[[j, k]];
        }
        if !(s.is_finite() && s > PIVOT_TOL * a[[j, j]].abs() && s > 0.0) {
            return None;
        }
        let ljj = s.sqrt();
        l[[j, j]] = ljj;
        for i in j + 1..n {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / ljj;
        }
    }
    Some(l)
}

/// Solves `L v = b` for lower-triangular `L`.
fn forward(l: &Array2<f64>, b: ArrayView1<'_, f64>) -> Array1<f64> {
    let n = b.len();
    let mut v = Array1::zeros(n);
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[[i, k]] * v[k];
        }
        v[i] = s / l[[i, i]];
    }
    v
}

/// Solves `Lᵀ x = v` for lower-triangular `L`.
fn back(l: &Array2<f64>, v: &Array1<f64>) -> Array1<f64> {
    let n = v.len();
    let mut x = Array1::zeros(n);
    for i in (0..n).rev() {
        let mut s = v[i];
        for k in i + 1..n {
            s -= l[[k, i]] * x[k];
        }
        x[i] = s / l[[i, i]];
    }
    x
}

/// `A⁻¹` from the Cholesky factor of `A`, column by column.
fn inverse_from_cholesky(l: &Array2<f64>) -> Array2<f64> {
    let n = l.nrows();
    let mut inv = Array2::zeros((n, n));
    for j in 0..n {
        let mut e = Array1::zeros(n);
        e[j] = 1.0;
        let col = back(l, &forward(l, e.view()));
        inv.column_mut(j).assign(&col);
    }
    // Symmetrise against rounding.
    let t = inv.t().to_owned();
    (inv + t) * 0.5
}

#[cfg(test)]
mod tests;
