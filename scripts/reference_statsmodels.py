#!/usr/bin/env python3
"""Independent reference figures for optsignal, computed with pandas + statsmodels.

Purpose
-------
optsignal (Rust) measures how well micro-conversion events (view_item,
add_to_cart, ...) predict a purchase, with 2x2 tables and logistic regression.
This script recomputes the same figures from the raw event log with pandas and
statsmodels, written from the definitions below only (no Rust code was read or
reused), so that the Rust implementation can be tested against its JSON output.

Definitions (session-level observations)
----------------------------------------
* Event names are mapped through the alias map (``--aliases``); names not in
  the map are kept unchanged (they are counted but are never candidates unless
  listed in ``--candidates``).
* Event order: by timestamp, ties broken by row order in the file (0-based row
  index after the header).
* A unit (session) is a distinct (user_id, session_id) pair. Rows with an empty
  session_id, an empty user_id or an unparseable (or empty) timestamp are
  skipped; the number of skipped rows is reported (by reason).
* Unit start = earliest timestamp of the unit's events.
* The unit's first purchase = its earliest purchase event (by timestamp, then
  row order), if any.
* The unit's cut = the same user's first purchase event (in any of the user's
  sessions) with timestamp >= unit_start, earliest by (timestamp, row order).
  It is at or before the unit's own first purchase.
* Feature for candidate event e = 1 if the unit has an event e strictly before
  its cut in the (timestamp, row order) ordering; if there is no cut, 1 if it
  has any event e. (An event after the user's purchase never predicts it, even
  in a separate session such as a thank-you page's.)
* Label = 1 if the same user_id has any purchase event (in any of the user's
  sessions, among the kept rows) with timestamp t, unit_start <= t <=
  unit_start + window (default 7 days; both ends inclusive). Purchases in the
  unit itself count.
* 2x2 table per candidate: a = feature & label, b = feature & no label,
  c = no feature & label, d = no feature & no label.
  precision = a/(a+b), recall = a/(a+c), base rate = (a+c)/N,
  lift = precision / base rate. Wilson 95% intervals (statsmodels
  ``proportion_confint(method="wilson")``) for precision, recall, base rate.
* Model per candidate: ``sm.Logit(label, add_constant(X))`` where X is the
  feature and, when segment columns are given, dummy variables of each segment
  (``pd.get_dummies(..., drop_first=True)``: levels sorted, the first is the
  reference), i.e. ``label ~ feature + C(device) + C(channel)``. Newton's
  method, statsmodels defaults (maxiter=35). Reported: coefficient, std error,
  z, p-value, odds ratio exp(beta), its 95% Wald CI exp(beta -/+ 1.959964*SE)
  from ``result.conf_int()``, and the intercept (and every segment term).
* Design effects (user-clustered, CR0: ``cov_type="cluster"``, groups = user_id,
  ``use_correction=False``): precision = squared se of the intercept of
  ``OLS(label ~ 1)`` on the units with the feature over p(1-p)/n; odds ratio =
  squared se of the feature in ``Logit(label ~ feature)`` clustered over the
  same unclustered; lift = the delta-method variance of ln(precision / base
  rate) from ``OLS(label ~ group)`` on the feature's units (group 1) stacked
  over all units (group 0), over the multinomial delta-method variance.
  Written under ``"design_effect"`` per candidate, with the segment-adjusted
  model's interval and p-value as optsignal widens them: se * sqrt(max(1,
  odds-ratio design effect)) (``"adjusted_clustered"``).
* A unit's segment value (device, channel) is the value on its first event in
  the (timestamp, row order) ordering; an empty value becomes the level
  "(missing)". Units whose segment varies within the unit are counted.
* Measured weeks: a unit's week is the ISO week (UTC) of its start. A week is
  measured when its end (the next Monday 00:00 UTC) plus the window lies at most
  one day after the last kept event; when no week is, every week is. The 2x2
  tables, the models and the precision interval use the units of the measured
  weeks only (a later week's late buyers are not seen yet); the design effects
  use every unit (their variance ratio carries over). ``"units"`` counts every
  unit, ``"measured_units"`` and ``"measured_weeks"`` the measured ones.
* A candidate whose feature is constant over units (or a label constant over
  units) is not estimable: recorded as ``"not_estimable": true`` with the
  reason, no fit is attempted.
* A fit that fails is recorded with ``"fit_error"`` (the error text) instead of
  crashing. statsmodels >= 0.14 only *warns* on perfect separation
  (PerfectSeparationWarning); this script turns that warning into an error so
  that perfect separation is recorded as a failed fit, as in older
  statsmodels. Other warnings (convergence, Hessian) are listed under
  ``"warnings"`` next to the estimates. Non-finite numbers are written as null.
* Quasi-complete separation: if any binary model column (the feature or a
  segment dummy) has an empty cell in its cross-tab with the label, the MLE
  does not exist (the coefficient diverges; statsmodels then stops at maxiter
  with a ConvergenceWarning and meaningless numbers). Such a candidate is
  recorded as ``"not_estimable": true`` with the reason, the empty cells
  (``"separation"``) and the statsmodels warning text as ``"fit_error"``; no
  estimates are written. The same applies to any fit that does not converge
  or yields non-finite estimates.

How to run
----------
REES46 (the committed fixture; run from the repository root)::

    python3 scripts/reference_statsmodels.py \\
        --input /work/shared/data/real/rees46_multicategory/2019-Oct_head.csv \\
        --timestamp-col event_time --user-col user_id \\
        --session-col user_session --event-col event_type \\
        --timestamp-format '%Y-%m-%d %H:%M:%S UTC' \\
        --aliases view=view_item,cart=add_to_cart,purchase=purchase \\
        --candidates view_item,add_to_cart \\
        --output fixtures/reference/rees46_session.json

Canonical optsignal CSV with segments (timestamp RFC 3339, user_id,
session_id, event_name, device, channel, value)::

    python3 scripts/reference_statsmodels.py --input demo.csv \\
        --timestamp-col timestamp --user-col user_id --session-col session_id \\
        --event-col event_name --device-col device --channel-col channel \\
        --timestamp-format rfc3339 --candidates view_item,add_to_cart \\
        --output fixtures/reference/demo_session.json

``--timestamp-format`` is a strptime format (interpreted as UTC when it has no
offset) or ``rfc3339`` / ``iso8601`` (offsets honoured, converted to UTC).
Requires pandas and statsmodels (``pip install statsmodels pandas``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shlex
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import scipy.stats
import statsmodels
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

Z_95 = 1.959964  # documented critical value; conf_int() uses the exact norm.ppf(0.975)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Session-level reference statistics (pandas + statsmodels) for optsignal.")
    p.add_argument("--input", required=True, help="CSV event log (with header row)")
    p.add_argument("--output", required=True, help="JSON file to write")
    p.add_argument("--timestamp-col", default="timestamp")
    p.add_argument("--user-col", default="user_id")
    p.add_argument("--session-col", default="session_id")
    p.add_argument("--event-col", default="event_name")
    p.add_argument("--device-col", default=None, help="segment column -> C(device)")
    p.add_argument("--channel-col", default=None, help="segment column -> C(channel)")
    p.add_argument("--timestamp-format", default="rfc3339",
                   help="strptime format (UTC assumed) or 'rfc3339'/'iso8601'")
    p.add_argument("--aliases", default="",
                   help="raw=canonical pairs, comma separated, e.g. view=view_item,cart=add_to_cart")
    p.add_argument("--candidates", default="view_item,add_to_cart",
                   help="comma-separated canonical candidate event names")
    p.add_argument("--purchase-event", default="purchase", help="canonical name of the purchase event")
    p.add_argument("--window-days", type=float, default=7.0, help="label window length in days")
    p.add_argument("--command", default=None,
                   help="command string to record in the header (default: the actual argv)")
    return p.parse_args(argv)


def parse_aliases(text):
    out = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        raw, sep, canon = part.partition("=")
        if not sep or not raw or not canon:
            raise SystemExit(f"bad alias entry {part!r}; expected raw=canonical")
        out[raw] = canon
    return out


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fnum(x):
    """JSON-safe float: non-finite -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def wilson(k, n):
    if n == 0:
        return None
    lo, hi = proportion_confint(int(k), int(n), alpha=0.05, method="wilson")
    return [fnum(lo), fnum(hi)]


def ratio(num, den):
    return fnum(num / den) if den else None


def parse_timestamps(series, fmt):
    s = series.where(series.str.strip() != "", None)
    if fmt.lower() in ("rfc3339", "iso8601"):
        return pd.to_datetime(s, format="ISO8601", utc=True, errors="coerce")
    ts = pd.to_datetime(s, format=fmt, errors="coerce")
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize("UTC")
    else:
        ts = ts.dt.tz_convert("UTC")
    return ts


def load(args, aliases):
    cols = [args.timestamp_col, args.user_col, args.session_col, args.event_col]
    seg_cols = [c for c in (args.device_col, args.channel_col) if c]
    raw = pd.read_csv(args.input, dtype=str, keep_default_na=False, na_filter=False)
    missing = [c for c in cols + seg_cols if c not in raw.columns]
    if missing:
        raise SystemExit(f"columns not found in {args.input}: {missing}; have {list(raw.columns)}")
    df = pd.DataFrame({
        "row": np.arange(len(raw), dtype=np.int64),  # row index after the header
        "user": raw[args.user_col].str.strip(),
        "session": raw[args.session_col].str.strip(),
        "raw_event": raw[args.event_col].str.strip(),
    })
    df["event"] = df["raw_event"].map(lambda e: aliases.get(e, e))
    df["ts"] = parse_timestamps(raw[args.timestamp_col], args.timestamp_format)
    if args.device_col:
        df["device"] = raw[args.device_col].str.strip().replace("", "(missing)")
    if args.channel_col:
        df["channel"] = raw[args.channel_col].str.strip().replace("", "(missing)")

    bad_user = df["user"] == ""
    bad_session = df["session"] == ""
    bad_ts = df["ts"].isna()
    skip = bad_user | bad_session | bad_ts
    skipped = {
        "total": int(skip.sum()),
        "empty_user_id": int(bad_user.sum()),
        "empty_session_id": int(bad_session.sum()),
        "unparseable_timestamp": int(bad_ts.sum()),
    }
    counts_all = {
        "raw_event_counts_all_rows": {k: int(v) for k, v in df["raw_event"].value_counts().sort_index().items()},
    }
    kept = df.loc[~skip].sort_values(["ts", "row"], kind="mergesort").reset_index(drop=True)
    return kept, len(raw), skipped, counts_all


def build_units(ev, candidates, purchase, window):
    """One row per (user, session) unit with start, label, features, segments."""
    key = ["user", "session"]
    g = ev.groupby(key, sort=True)
    units = g.agg(start=("ts", "min"), n_events=("row", "size")).reset_index()
    first = g.head(1).set_index(key)  # ev is sorted by (ts, row): first event per unit
    for seg in ("device", "channel"):
        if seg in ev.columns:
            units[seg] = first.loc[list(zip(units.user, units.session)), seg].to_numpy()
            units[seg + "_varies_within_unit"] = g[seg].nunique().to_numpy() > 1

    # first purchase per unit, (ts, row) ordering -> head(1) on the sorted frame
    pur = ev[ev.event == purchase]
    fp = pur.groupby(key, sort=False).head(1)[key + ["ts", "row"]].rename(
        columns={"ts": "fp_ts", "row": "fp_row"})
    units = units.merge(fp, on=key, how="left")
    units["has_purchase"] = units["fp_row"].notna()

    # cut: the user's first purchase (any session) at or after the unit's start
    cut_ts = np.full(len(units), np.datetime64("NaT"), dtype="datetime64[ns]")
    cut_row = np.full(len(units), -1, dtype=np.int64)
    by_user = {u: (s["ts"].dt.tz_convert(None).values, s["row"].to_numpy())
               for u, s in pur.groupby("user")}  # pur is sorted by (ts, row)
    unit_starts = units["start"].dt.tz_convert(None).values
    for i, u in enumerate(units["user"].to_numpy()):
        pr = by_user.get(u)
        if pr is None:
            continue
        j = np.searchsorted(pr[0], unit_starts[i], side="left")
        if j < len(pr[0]):
            cut_ts[i], cut_row[i] = pr[0][j], pr[1][j]
    has_cut = cut_row >= 0
    for e in candidates:
        fe = ev[ev.event == e].groupby(key, sort=False).head(1)[key + ["ts", "row"]].rename(
            columns={"ts": "e_ts", "row": "e_row"})
        m = units[key].merge(fe, on=key, how="left")
        has_e = m["e_row"].notna().to_numpy()
        # earliest e lexicographically before the cut <=> some e before it
        e_ts = m["e_ts"].dt.tz_convert(None).values
        e_row = m["e_row"].to_numpy()
        before = has_e & ((e_ts < cut_ts) | ((e_ts == cut_ts) & (e_row < cut_row)))
        feat = np.where(has_cut, before, has_e)
        units["f_" + e] = feat.astype(np.int64)
        units["any_" + e] = has_e.astype(np.int64)

    # label: any purchase by the same user with start <= t <= start + window
    label = np.zeros(len(units), dtype=np.int64)
    pts = {u: np.sort(s.to_numpy()) for u, s in pur.groupby("user")["ts"]}
    starts = units["start"].to_numpy()
    ends = (units["start"] + window).to_numpy()
    for i, u in enumerate(units["user"].to_numpy()):
        t = pts.get(u)
        if t is None:
            continue
        j = np.searchsorted(t, starts[i], side="left")
        label[i] = int(j < len(t) and t[j] <= ends[i])
    units["label"] = label
    return units


def measured_weeks(units, last_ts, window):
    """The measured ISO weeks ("YYYY-Www") and their units (see the docstring)."""
    start = units["start"].dt.tz_convert("UTC")
    iso = start.dt.isocalendar()
    label = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    monday = start.dt.normalize() - pd.to_timedelta(start.dt.day_of_week, unit="D")
    ok = monday + pd.Timedelta(days=7) + window <= last_ts + pd.Timedelta(days=1)
    if not ok.any():
        ok = pd.Series(True, index=units.index)
    return sorted(label[ok].unique().tolist()), units[ok.to_numpy()].reset_index(drop=True)


def two_by_two(f, y):
    a = int(((f == 1) & (y == 1)).sum())
    b = int(((f == 1) & (y == 0)).sum())
    c = int(((f == 0) & (y == 1)).sum())
    d = int(((f == 0) & (y == 0)).sum())
    n = a + b + c + d
    precision = ratio(a, a + b)
    base = ratio(a + c, n)
    return {
        "a_feature_label": a, "b_feature_nolabel": b,
        "c_nofeature_label": c, "d_nofeature_nolabel": d, "n": n,
        "precision": precision, "precision_wilson95": wilson(a, a + b),
        "recall": ratio(a, a + c), "recall_wilson95": wilson(a, a + c),
        "base_rate": base, "base_rate_wilson95": wilson(a + c, n),
        "lift": fnum(precision / base) if precision is not None and base else None,
        "feature_prevalence": ratio(a + b, n),
    }


def term_dict(res, name, ci):
    beta = res.params[name]
    lo, hi = ci.loc[name]
    return {
        "coef": fnum(beta), "std_err": fnum(res.bse[name]), "z": fnum(res.tvalues[name]),
        "p_value": fnum(res.pvalues[name]),
        "odds_ratio": fnum(np.exp(beta)),
        "odds_ratio_ci95": [fnum(np.exp(lo)), fnum(np.exp(hi))],
        "coef_ci95": [fnum(lo), fnum(hi)],
    }


def fit_model(units, cand, seg_cols):
    y = units["label"].astype(float)
    f = units["f_" + cand]
    if f.nunique() < 2:
        return {"not_estimable": True,
                "reason": f"feature '{cand}' is constant over units (all {int(f.iloc[0])}); "
                          "its coefficient is not identified, no fit attempted"}
    if y.nunique() < 2:
        return {"not_estimable": True,
                "reason": f"label is constant over units (all {int(y.iloc[0])}); no fit attempted"}
    X = pd.DataFrame({"feature": f.astype(float)})
    reference_levels = {}
    for seg in seg_cols:
        levels = sorted(units[seg].unique())
        reference_levels[seg] = levels[0]
        d = pd.get_dummies(units[seg], prefix=f"C({seg})", prefix_sep="[T.", drop_first=True, dtype=float)
        d.columns = [c + "]" for c in d.columns]
        X = pd.concat([X, d], axis=1)
    X = sm.add_constant(X, has_constant="add")
    out = {"not_estimable": False, "formula": "label ~ feature" + "".join(f" + C({s})" for s in seg_cols),
           "exog_names": list(X.columns), "n_obs": int(len(y))}
    if seg_cols:
        out["segment_reference_levels"] = reference_levels
    # A binary column whose cross-tab with the label has an empty cell gives
    # (quasi-)complete separation: with an intercept in the model the
    # likelihood keeps increasing along a direction that moves that column's
    # coefficient to +/- infinity, so the MLE does not exist.
    separated = []
    for col in X.columns:
        if col == "const":
            continue
        x = X[col].to_numpy() == 1.0
        lab = y.to_numpy() == 1.0
        cells = {"col1_label1": int((x & lab).sum()), "col1_label0": int((x & ~lab).sum()),
                 "col0_label1": int((~x & lab).sum()), "col0_label0": int((~x & ~lab).sum())}
        empty = [k for k, v in cells.items() if v == 0]
        if empty:
            separated.append({"term": col, "empty_cells": empty, "cells": cells})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            res = sm.Logit(y, X).fit(disp=0)
        except Exception as exc:  # perfect separation, singular Hessian, ...
            out["fit_error"] = f"{type(exc).__name__}: {exc}"
            out["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
            if separated:
                out["not_estimable"] = True
                out["reason"] = "separation in the data (see 'separation'); MLE does not exist"
                out["separation"] = separated
            return out
    warn_texts = [f"{w.category.__name__}: {w.message}" for w in caught]
    converged = bool(res.mle_retvals.get("converged", False))
    finite = bool(np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.bse)))
    if separated or not converged or not finite:
        # statsmodels returns a results object anyway (diverging estimates,
        # astronomically large SEs); those numbers are artefacts of where
        # Newton stopped, not reference values, so they are not reported.
        out["not_estimable"] = True
        reasons = []
        if separated:
            reasons.append("quasi-complete separation: "
                           + "; ".join(f"{s['term']} has empty cell(s) {s['empty_cells']}" for s in separated)
                           + " -> the MLE does not exist (coefficient diverges)")
            out["separation"] = separated
        if not converged:
            reasons.append(f"Newton did not converge in {res.mle_retvals.get('iterations')} iterations")
        if not finite:
            reasons.append("non-finite estimates or standard errors")
        out["reason"] = "; ".join(reasons)
        out["fit_error"] = "; ".join(warn_texts) if warn_texts else out["reason"]
        out["warnings"] = warn_texts
        return out
    ci = res.conf_int(alpha=0.05)
    out["converged"] = converged
    out["iterations"] = int(res.mle_retvals.get("iterations", -1))
    out["warnings"] = warn_texts
    out["feature"] = term_dict(res, "feature", ci)
    out["intercept"] = term_dict(res, "const", ci)
    out["segment_terms"] = {n: term_dict(res, n, ci) for n in X.columns if n.startswith("C(")}
    out["llf"] = fnum(res.llf)
    out["llnull"] = fnum(res.llnull)
    out["llr_p_value"] = fnum(res.llr_pvalue)
    out["pseudo_r2_mcfadden"] = fnum(res.prsquared)
    return out


def design_effects(units, cand):
    y = units["label"].to_numpy(dtype=float)
    f = units["f_" + cand].to_numpy(dtype=float)
    g = pd.factorize(units["user"])[0]
    cl = {"use_correction": False}
    sel = f == 1
    n1, n = int(sel.sum()), len(y)
    a = float(y[sel].sum())
    c = float(y[~sel].sum())
    b, d = n1 - a, (n - n1) - c
    out = {}
    if n1 == 0:
        return None
    p1 = a / n1
    prec = sm.OLS(y[sel], np.ones(n1)).fit(cov_type="cluster", cov_kwds={**cl, "groups": g[sel]})
    out["precision"] = fnum(prec.bse[0] ** 2 / (p1 * (1 - p1) / n1)) if 0 < p1 < 1 else 1.0
    if min(a, b, c, d) > 0:
        X = sm.add_constant(f)
        robust = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={**cl, "groups": g})
        plain = sm.Logit(y, X).fit(disp=0)
        out["odds_ratio"] = fnum(robust.bse[1] ** 2 / plain.bse[1] ** 2)
    else:
        out["odds_ratio"] = None
    if a > 0:
        ys = np.concatenate([y[sel], y])
        gs = np.concatenate([g[sel], g])
        grp = np.concatenate([np.ones(n1), np.zeros(n)])
        st = sm.OLS(ys, sm.add_constant(grp)).fit(cov_type="cluster", cov_kwds={**cl, "groups": gs})
        cov = st.cov_params()
        base = float(st.params[0])
        var_p1 = cov[0, 0] + 2 * cov[0, 1] + cov[1, 1]
        v = var_p1 / p1**2 + cov[0, 0] / base**2 - 2 * (cov[0, 0] + cov[0, 1]) / (p1 * base)
        pa, pb, pc = a / n, b / n, c / n
        row, col = pa + pb, pa + pc
        ga, gb, gc = 1 / pa - 1 / row - 1 / col, -1 / row, -1 / col
        out["lift"] = fnum(v / ((ga * ga * pa + gb * gb * pb + gc * gc * pc - 1) / n))
    else:
        out["lift"] = None
    return out


def diagnostics(ev, units, purchase, window, raw_session_users):
    """Facts about the data that a reader of the figures should know."""
    diag = {}
    multi = raw_session_users[raw_session_users > 1]
    diag["session_ids_shared_by_multiple_users"] = int(len(multi))
    diag["users_with_multiple_sessions"] = int((units.groupby("user").size() > 1).sum())
    diag["units_with_purchase"] = int(units["has_purchase"].sum())
    diag["purchase_events_in_units_with_purchase_max"] = int(
        ev[ev.event == purchase].groupby(["user", "session"]).size().max()) if units["has_purchase"].any() else 0
    pu = units[units["has_purchase"]]
    if "f_add_to_cart" in units:
        diag["purchase_units_without_add_to_cart_before_first_purchase"] = int((pu["f_add_to_cart"] == 0).sum())
        diag["purchase_units_with_add_to_cart_only_after_first_purchase"] = int(
            ((pu["f_add_to_cart"] == 0) & (pu["any_add_to_cart"] == 1)).sum())
        diag["purchase_units_without_any_add_to_cart"] = int((pu["any_add_to_cart"] == 0).sum())
    if "f_view_item" in units:
        diag["purchase_units_without_view_item_before_first_purchase"] = int((pu["f_view_item"] == 0).sum())
    # first event of the unit is the purchase itself
    first_evt = ev.groupby(["user", "session"], sort=True).head(1)
    diag["units_whose_first_event_is_purchase"] = int((first_evt["event"] == purchase).sum())
    diag["label1_units_without_own_purchase"] = int(((units["label"] == 1) & ~units["has_purchase"]).sum())
    # ties: a candidate event shares the first purchase's timestamp (row order decides)
    ties = 0
    if units["has_purchase"].any():
        m = ev.merge(units.loc[units.has_purchase, ["user", "session", "fp_ts", "fp_row"]], on=["user", "session"])
        tie = m[(m.ts == m.fp_ts) & (m.row != m.fp_row) & (m.event != purchase)]
        ties = int(tie[["user", "session"]].drop_duplicates().shape[0])
    diag["purchase_units_with_non_purchase_event_at_same_timestamp_as_first_purchase"] = ties
    tmin, tmax = ev["ts"].min(), ev["ts"].max()
    diag["data_time_range_utc"] = [tmin.isoformat(), tmax.isoformat()]
    diag["units_with_label_window_beyond_data_end"] = int((units["start"] + window > tmax).sum())
    diag["units_starting_at_data_start"] = int((units["start"] == tmin).sum())
    for seg in ("device", "channel"):
        col = seg + "_varies_within_unit"
        if col in units:
            diag[f"units_where_{seg}_varies_within_unit"] = int(units[col].sum())
    return diag


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    aliases = parse_aliases(args.aliases)
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    window = pd.Timedelta(days=args.window_days)
    seg_cols = [s for s, c in (("device", args.device_col), ("channel", args.channel_col)) if c]

    ev, n_rows, skipped, counts_all = load(args, aliases)
    print(f"rows read: {n_rows}; rows skipped: {skipped['total']} {skipped}")
    raw_session_users = ev.groupby("session")["user"].nunique()
    units = build_units(ev, candidates, args.purchase_event, window)
    weeks, measured = measured_weeks(units, ev["ts"].max(), window)

    command = args.command or " ".join(shlex.quote(a) for a in ["python3", sys.argv[0]] + argv)
    result = {
        "header": {
            "generator": "scripts/reference_statsmodels.py",
            "command": command,
            "input_file": args.input,
            "input_sha256": sha256_of(args.input),
            "python": platform.python_version(),
            "pandas": pd.__version__,
            "statsmodels": statsmodels.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "column_mapping": {
                "timestamp": args.timestamp_col, "user_id": args.user_col,
                "session_id": args.session_col, "event_name": args.event_col,
                "device": args.device_col, "channel": args.channel_col,
            },
            "timestamp_format": args.timestamp_format,
            "aliases": aliases,
            "candidates": candidates,
            "purchase_event": args.purchase_event,
            "label_window": f"unit_start <= t <= unit_start + {args.window_days:g} days (inclusive)",
            "unit": "distinct (user_id, session_id)",
            "event_order": "timestamp, then row index after header (0-based)",
            "model": "statsmodels Logit, Newton, defaults; CI = result.conf_int(alpha=0.05), OR = exp(.)",
        },
        "rows": {"read": n_rows, "kept": int(len(ev)), "skipped": skipped},
        "event_counts": {
            **counts_all,
            "canonical_event_counts_kept_rows": {k: int(v) for k, v in ev["event"].value_counts().sort_index().items()},
        },
        "units": int(len(units)),
        "distinct_users": int(units["user"].nunique()),
        "label1_units": int(units["label"].sum()),
        "label0_units": int((units["label"] == 0).sum()),
        "measured_weeks": weeks,
        "measured_units": int(len(measured)),
        "candidates": {},
    }
    for seg in seg_cols:
        result.setdefault("segment_unit_counts", {})[seg] = {
            k: int(v) for k, v in units[seg].value_counts().sort_index().items()}
    for cand in candidates:
        deff = design_effects(units, cand)
        model = fit_model(measured, cand, seg_cols)
        adjusted_clustered = None
        if deff and "feature" in model:
            k = max(1.0, deff["odds_ratio"] if deff["odds_ratio"] is not None else deff["precision"])
            beta, se = model["feature"]["coef"], model["feature"]["std_err"] * math.sqrt(k)
            zq = scipy.stats.norm.ppf(0.975)
            adjusted_clustered = {
                "odds_ratio_ci95": [fnum(np.exp(beta - zq * se)), fnum(np.exp(beta + zq * se))],
                "p_value": fnum(2 * scipy.stats.norm.sf(abs(beta) / se)),
            }
        if deff:
            # Wilson's interval on the effective sample n / max(1, deff), by its formula.
            t = two_by_two(measured["f_" + cand].to_numpy(), measured["label"].to_numpy())
            n_eff = (t["a_feature_label"] + t["b_feature_nolabel"]) / max(1.0, deff["precision"])
            p, zq = t["precision"], scipy.stats.norm.ppf(0.975)
            centre = (p + zq * zq / (2 * n_eff)) / (1 + zq * zq / n_eff)
            half = zq / (1 + zq * zq / n_eff) * math.sqrt(p * (1 - p) / n_eff + zq * zq / (4 * n_eff * n_eff))
            deff["precision_ci95"] = [fnum(centre - half), fnum(centre + half)]
        result["candidates"][cand] = {
            "units_with_feature": int(measured["f_" + cand].sum()),
            "units_with_any_event": int(measured["any_" + cand].sum()),
            "table": two_by_two(measured["f_" + cand].to_numpy(), measured["label"].to_numpy()),
            "model": model,
            "design_effect": deff,
            "adjusted_clustered": adjusted_clustered,
        }
    result["diagnostics"] = diagnostics(ev, units, args.purchase_event, window, raw_session_users)

    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, allow_nan=False)
        f.write("\n")

    print(f"units {result['units']}, users {result['distinct_users']}, label=1 {result['label1_units']}")
    print("event counts (kept rows):", result["event_counts"]["canonical_event_counts_kept_rows"])
    for cand, r in result["candidates"].items():
        t, m = r["table"], r["model"]
        print(f"[{cand}] a={t['a_feature_label']} b={t['b_feature_nolabel']} "
              f"c={t['c_nofeature_label']} d={t['d_nofeature_nolabel']} "
              f"precision={t['precision']} wilson95={t['precision_wilson95']} "
              f"recall={t['recall']} base={t['base_rate']} lift={t['lift']}")
        if m.get("not_estimable"):
            print(f"  not estimable: {m['reason']}")
        elif "fit_error" in m:
            print(f"  fit error: {m['fit_error']}")
        else:
            fe = m["feature"]
            print(f"  coef={fe['coef']} se={fe['std_err']} z={fe['z']} p={fe['p_value']} "
                  f"OR={fe['odds_ratio']} CI95={fe['odds_ratio_ci95']} "
                  f"intercept={m['intercept']['coef']} warnings={m['warnings']}")
    print("diagnostics:", json.dumps(result["diagnostics"], indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
