#!/usr/bin/env python3
"""Independent reference figures for `optsignal experiment`, with pandas + statsmodels + scipy.

Written from these definitions only (no Rust code reused); tests/it/experiment.rs compares the
binary's JSON with fixtures/reference/experiment_ab.json and experiment_srm.json.

Definitions
-----------
* Test window: events with from <= timestamp < to + 1 day (UTC here).
* Assignment: every row (in the window or not) with a user id and a non-empty `variant`; a user
  with two different variants is a crossover and left out.
* Unit: a session, a distinct (user_id, session_id) among the window's events of assigned users.
  A session "has" an event if any of its events has that name. The user is the cluster.
* Segment of a user: "device × channel" of the user's first window event in file order.
  Segments with fewer than 100 users in either arm are pooled into one "other" segment.
* Per arm and event: the rate sessions-with-event / sessions and its cluster-robust standard
  error = the intercept of OLS(y ~ 1) with cov_type="cluster" (groups = user),
  use_correction=False; the interval is Wilson's on the effective sample n / deff, with
  deff = se^2 / (p(1-p)/n).
* Difference: Lin's interacted regression on both arms' sessions,
  y ~ 1 + T + sum_k (S_k - mean S_k) + T:(S_k - mean S_k) (one segment dummy dropped),
  cluster-robust by user (use_correction=False, normal inference): the coefficient of T is the
  segment-adjusted difference, its se, 95% interval and two-sided p. The intercept is control's
  adjusted rate; relative lift r1/r0 - 1 with a log-scale delta-method interval from the same
  covariance matrix.
* Holm over (micro, macro): statsmodels multipletests(method="holm").
* Sample ratio: scipy.stats.chisquare of users per arm against an equal split.
* Power reached on purchase: statsmodels normal_power(0.1 * r0 / se, nobs=1, alpha=0.05); the
  relative lift detectable with 80% power solves normal_power(d, 1, 0.05) = 0.8 (brentq) times
  se / r0.

Also the audience comparison's overlap-aware density difference on a fixed table
(audience_overlap.json; see reference_overlap).

Run: python3 scripts/reference_experiment.py (after scripts/experiment_fixture.py).
"""
import json
import os

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.optimize import brentq
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import normal_power
from statsmodels.stats.proportion import proportion_confint

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "fixtures")
STEPS = ["view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]
MICRO, MACRO = "add_to_cart", "purchase"
MIN_USERS = 100  # the test passes --min-segment-users 100, so that small segments are pooled


def sessions_of(path, start, end):
    ev = pd.read_csv(path, dtype=str, keep_default_na=False)
    variants = ev[ev["variant"] != ""].groupby("user_id")["variant"].agg(lambda s: sorted(set(s)))
    crossovers = int((variants.map(len) > 1).sum())
    assigned = variants[variants.map(len) == 1].map(lambda s: s[0])
    ts = pd.to_datetime(ev["timestamp"], utc=True)
    win = ev[(ts >= pd.Timestamp(start, tz="UTC")) & (ts < pd.Timestamp(end, tz="UTC"))].copy()
    win = win[win["user_id"].isin(assigned.index)]
    first = win.groupby("user_id", sort=False).head(1).set_index("user_id")
    segment = first["device"] + " × " + first["channel"]
    s = win.groupby(["user_id", "session_id"])["event_name"].agg(set).reset_index()
    for e in STEPS:
        s[e] = s["event_name"].map(lambda names, e=e: float(e in names))
    s["variant"] = s["user_id"].map(assigned)
    s["segment"] = s["user_id"].map(segment)
    return s, assigned, crossovers


def arm_rate(df, e):
    fit = sm.OLS(df[e].to_numpy(), np.ones((len(df), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["user_id"])[0],
                                      "use_correction": False})
    n = len(df)
    p = float(df[e].sum()) / n
    assert abs(float(fit.params[0]) - p) < 1e-12
    # An event in every session (or none): OLS's rounding would leave a 1e-16 variance.
    se = float(fit.bse[0]) if 0 < p < 1 else 0.0
    binom = p * (1 - p) / n
    deff = se * se / binom if binom > 0 else 1.0
    n_eff = max(n / max(deff, 1e-12), 1.0)
    lo, hi = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
    return {"units_with": int(df[e].sum()), "rate": p, "ci": [float(lo), float(hi)],
            "design_effect": deff}


def pooled_segments(s):
    users = s.drop_duplicates("user_id").groupby(["segment", "variant"]).size().unstack(fill_value=0)
    small = users[(users.get("control", 0) < MIN_USERS) | (users.get("treatment", 0) < MIN_USERS)]
    return s["segment"].where(~s["segment"].isin(small.index), "other"), len(users) - len(small), len(small)


def lin_difference(s, e, seg):
    t = (s["variant"] == "treatment").to_numpy(float)
    dummies = pd.get_dummies(seg).astype(float)
    dummies = dummies.iloc[:, :-1]
    centred = dummies - dummies.mean()
    x = np.column_stack([np.ones(len(s)), t, centred.to_numpy(), centred.to_numpy() * t[:, None]])
    fit = sm.OLS(s[e].to_numpy(), x).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(s["user_id"])[0],
                                      "use_correction": False}, use_t=False)
    r0, d = float(fit.params[0]), float(fit.params[1])
    r1 = r0 + d
    cov = fit.cov_params()[:2, :2]
    g = np.array([1 / r1 - 1 / r0, 1 / r1])
    se_log = float(np.sqrt(g @ cov @ g))
    lo, hi = fit.conf_int(alpha=0.05)[1]
    z = 1.959963984540054
    return {"control_rate": r0, "treatment_rate": r1, "difference": d, "se": float(fit.bse[1]),
            "ci": [float(lo), float(hi)], "p_value": float(fit.pvalues[1]),
            "relative": r1 / r0 - 1,
            "relative_ci": [float(np.exp(np.log(r1 / r0) - z * se_log) - 1),
                            float(np.exp(np.log(r1 / r0) + z * se_log) - 1)]}


def reference_ab():
    s, assigned, crossovers = sessions_of(os.path.join(FIX, "experiment", "ab_cart_only.csv.gz"),
                                          "2026-10-05", "2026-10-19")
    out = {"crossover_users": crossovers, "variants": {}, "comparison": {}}
    for v, df in s.groupby("variant"):
        out["variants"][v] = {"users": int(df["user_id"].nunique()), "units": len(df),
                              "metrics": {e: arm_rate(df, e) for e in STEPS}}
    seg, used, pooled = pooled_segments(s)
    out["segments_used"], out["segments_pooled"] = used, pooled
    for e in STEPS:
        if s[e].nunique() > 1:  # view_item fires in every session: nothing to test
            out["comparison"][e] = lin_difference(s, e, seg)
    holm = multipletests([out["comparison"][MICRO]["p_value"], out["comparison"][MACRO]["p_value"]],
                         method="holm")[1]
    out["comparison"][MICRO]["p_holm"], out["comparison"][MACRO]["p_holm"] = map(float, holm)
    users = [out["variants"][v]["users"] for v in ("control", "treatment")]
    chi2, p = chisquare(users)
    out["srm"] = {"chi2": float(chi2), "p_value": float(p)}
    m = out["comparison"][MACRO]
    d80 = brentq(lambda d: normal_power(d, 1, 0.05) - 0.8, 0.1, 10)
    out["macro_power"] = {"power": float(normal_power(0.1 * m["control_rate"] / m["se"], 1, 0.05)),
                          "detectable_at_80": float(d80 * m["se"] / m["control_rate"])}
    return out


def reference_srm():
    s, _, _ = sessions_of(os.path.join(FIX, "experiment", "srm.csv.gz"), "2026-10-05", "2026-10-19")
    users = [int(s[s["variant"] == v]["user_id"].nunique()) for v in ("control", "treatment")]
    chi2, p = chisquare(users)
    return {"users": users, "chi2": float(chi2), "p_value": float(p)}


# Audience comparison: units (and purchasers) in the first audience only, the second only, both.
OVERLAP_CELLS = {"a_only": [1200, 84], "b_only": [800, 24], "both": [300, 45]}


def reference_overlap():
    """Density difference of two overlapping audiences: OLS(y ~ 1 + in_b) on the stacked
    memberships (a unit in both audiences gives two rows), errors clustered by unit
    (use_correction=False, normal inference); the ratio's log-scale interval by the delta method
    on the same covariance matrix."""
    rows, unit = [], 0
    for cell, (units, buyers) in OVERLAP_CELLS.items():
        for i in range(units):
            y = 1.0 if i < buyers else 0.0
            if cell in ("a_only", "both"):
                rows.append((unit, 0.0, y))
            if cell in ("b_only", "both"):
                rows.append((unit, 1.0, y))
            unit += 1
    d = pd.DataFrame(rows, columns=["unit", "in_b", "y"])
    fit = sm.OLS(d["y"].to_numpy(), sm.add_constant(d["in_b"].to_numpy())).fit(
        cov_type="cluster", cov_kwds={"groups": d["unit"].to_numpy(), "use_correction": False},
        use_t=False)
    pa, pb = float(fit.params[0]), float(fit.params[0] + fit.params[1])
    cov = fit.cov_params()
    g = np.array([1 / pa - 1 / pb, -1 / pb])  # d log(pa/pb) / d(b0, b1), pb = b0 + b1
    se_log = float(np.sqrt(g @ cov @ g))
    lo, hi = fit.conf_int(alpha=0.05)[1]
    z = 1.959963984540054
    return {"cells": OVERLAP_CELLS, "density_a": pa, "density_b": pb,
            "difference": pa - pb, "se": float(fit.bse[1]),
            "difference_ci": [float(-hi), float(-lo)], "p_value": float(fit.pvalues[1]),
            "ratio": pa / pb,
            "ratio_ci": [float(np.exp(np.log(pa / pb) - z * se_log)),
                         float(np.exp(np.log(pa / pb) + z * se_log))]}


def main():
    for name, f in (("experiment_ab.json", reference_ab), ("experiment_srm.json", reference_srm),
                    ("audience_overlap.json", reference_overlap)):
        with open(os.path.join(FIX, "reference", name), "w") as out:
            json.dump(f(), out, indent=2, sort_keys=True)
            out.write("\n")


if __name__ == "__main__":
    main()
