#!/usr/bin/env python3
"""Independent reference figures for optsignal's predicted high-intent signal (statsmodels).

Written from the definitions below (and the session-level unit definitions of
reference_statsmodels.py, whose loading and unit-building functions it reuses); no Rust code
was read or reused. The Rust test tests/it/predicted.rs compares optsignal's report with the
JSON written here.

Definitions
-----------
* Units, features (an event strictly before the user's first purchase at or after the unit's
  start), labels (a purchase by the user within the label window) and segments (device,
  channel of the unit's first event): as in reference_statsmodels.py.
* Counted features (``--min-count view_item:2,3,4,5``): ``view_item_2x`` = 1 when the unit's
  2nd view_item (in (timestamp, row) order) exists and is strictly before the cut (or there is
  no cut).
* Week of a unit: the ISO week of its start (UTC). Measured weeks: as in
  reference_statsmodels.py (labels complete). Training weeks: the earlier half (rounded down)
  of the measured weeks; held-out weeks: the rest.
* Model: grouped binomial GLM (logit link, statsmodels defaults) of label on every feature that
  varies among the training units (some but not all have it) and dummies of device and
  channel; the reference level of each segment is its most frequent level among the training
  units (ties: by name), the other levels present get a dummy. Data: the distinct (features,
  device, channel) patterns of the training units with (purchasers, units).
* Score of a pattern: its fitted log odds (the linear predictor).
* Grid: for each share q of ``--tops``, training patterns sorted by score (descending), a cut at
  the first distinct score where the cumulative units reach q x training units; the point
  takes in every unit whose score is at least the cut. A point that takes in every training
  unit, or repeats a cut or a name, is skipped. Name: predicted_purchase_top<percent>, the
  percent q asked for (whole at 10 and above, else to a tenth, '.' as '_').
* Held out: on the held-out units, expected = sum of predicted probabilities; observed /
  expected; Brier score; AUC of the probability (ties half); calibration intercept and slope
  from the grouped binomial GLM of label on [1, score]; per grid point the units at or above
  the cut, their purchasers, precision, mean predicted probability, recall.
"""

import argparse
import json
import math
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_statsmodels import build_units, load, measured_weeks, sha256_of  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--timestamp-col", default="timestamp")
    p.add_argument("--user-col", default="user_id")
    p.add_argument("--session-col", default="session_id")
    p.add_argument("--event-col", default="event_name")
    p.add_argument("--device-col", default="device")
    p.add_argument("--channel-col", default="channel")
    p.add_argument("--timestamp-format", default="rfc3339")
    p.add_argument("--candidates", default="view_item,add_to_cart")
    p.add_argument("--min-count", default="", help="event:k1,k2,... counted features")
    p.add_argument("--purchase-event", default="purchase")
    p.add_argument("--window-days", type=float, default=7.0)
    p.add_argument("--tops", default="0.02,0.05,0.10,0.15,0.20,0.30,0.40,0.50")
    return p.parse_args(argv)


def counted_features(ev, units, event, ks):
    """f_<event>_<k>x: the k-th <event> of the unit exists and is before its cut."""
    key = ["user", "session"]
    e = ev[ev.event == event].copy()
    e["n"] = e.groupby(key).cumcount() + 1
    for k in ks:
        kth = e[e.n == k][key + ["ts", "row"]].rename(columns={"ts": "k_ts", "row": "k_row"})
        m = units[key].merge(kth, on=key, how="left")
        has = m["k_row"].notna().to_numpy()
        k_ts = m["k_ts"].dt.tz_convert(None).values
        k_row = m["k_row"].fillna(-1).to_numpy()
        c_ts, c_row = units["cut_ts"].values, units["cut_row"].to_numpy()
        before = has & ((k_ts < c_ts) | ((k_ts == c_ts) & (k_row < c_row)))
        units[f"f_{event}_{k}x"] = np.where(c_row >= 0, before, has).astype(np.int64)


def add_cut(ev, units, purchase):
    """The unit's cut: the user's first purchase at or after its start (NaT / -1 if none)."""
    pur = ev[ev.event == purchase]
    by_user = {u: (s["ts"].dt.tz_convert(None).values, s["row"].to_numpy()) for u, s in pur.groupby("user")}
    starts = units["start"].dt.tz_convert(None).values
    cut_ts = np.full(len(units), np.datetime64("NaT"), dtype="datetime64[ns]")
    cut_row = np.full(len(units), -1, dtype=np.int64)
    for i, u in enumerate(units["user"].to_numpy()):
        pr = by_user.get(u)
        if pr is None:
            continue
        j = np.searchsorted(pr[0], starts[i], side="left")
        if j < len(pr[0]):
            cut_ts[i], cut_row[i] = pr[0][j], pr[1][j]
    units["cut_ts"], units["cut_row"] = cut_ts, cut_row


def iso_week(ts):
    iso = ts.dt.tz_convert("UTC").dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def reference_levels(train, col):
    n = train.groupby(col)["units"].sum()
    return sorted(n.index, key=lambda l: (-n[l], l))


def design(groups, feats, dev_levels, ch_levels):
    cols = {f: groups[f].astype(float) for f in feats}
    for name, lv in (("device", dev_levels), ("channel", ch_levels)):
        for l in lv[1:]:
            cols[f"{name}={l}"] = (groups[name] == l).astype(float)
    x = pd.DataFrame(cols, index=groups.index)
    return sm.add_constant(x, has_constant="add")


def grouped_auc(p, pos, neg):
    order = np.argsort(p, kind="mergesort")
    p, pos, neg = p[order], pos[order], neg[order]
    u, neg_below, i = 0.0, 0.0, 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and p[j + 1] == p[i]:
            j += 1
        tp, tn = pos[i:j + 1].sum(), neg[i:j + 1].sum()
        u += tp * (neg_below + tn / 2)
        neg_below += tn
        i = j + 1
    return u / (pos.sum() * neg.sum())


def name_of(share):
    pct = f"{round(share * 100):g}" if share >= 0.1 else f"{round(share * 1000) / 10:g}".replace(".", "_")
    return f"predicted_purchase_top{pct}"


def grid(train_eta, train_units, tops):
    order = np.argsort(-train_eta, kind="mergesort")
    eta, units = train_eta[order], train_units[order]
    n = units.sum()
    out = []
    for q in tops:
        cum, cut = 0, None
        for k in range(len(eta)):
            cum += units[k]
            if (k + 1 < len(eta) and eta[k + 1] == eta[k]) or cum < q * n:
                continue
            cut = (eta[k], cum)
            break
        if cut is None:
            continue
        share = cut[1] / n
        name = name_of(q)
        if cut[1] >= n or any(p["log_odds_cut"] == cut[0] or p["name"] == name for p in out):
            continue
        out.append({"name": name, "top": q, "training_share": share,
                    "threshold": 1 / (1 + math.exp(-cut[0])), "log_odds_cut": float(cut[0])})
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    cands = [c for c in args.candidates.split(",") if c]
    window = pd.Timedelta(days=args.window_days)
    ev, n_rows, skipped, _ = load(args, {})
    units = build_units(ev, cands, args.purchase_event, window)
    add_cut(ev, units, args.purchase_event)
    feats = [f"f_{c}" for c in cands]
    if args.min_count:
        event, ks = args.min_count.split(":")
        ks = [int(k) for k in ks.split(",")]
        counted_features(ev, units, event, ks)
        feats += [f"f_{event}_{k}x" for k in ks]
    weeks, _ = measured_weeks(units, ev["ts"].max(), window)
    units["week"] = iso_week(units["start"])
    train_w, held_w = weeks[: len(weeks) // 2], weeks[len(weeks) // 2:]
    keys = feats + ["device", "channel"]

    def grouped(ws):
        u = units[units.week.isin(ws)]
        g = u.groupby(keys, sort=True).agg(units=("label", "size"), purchasers=("label", "sum")).reset_index()
        return g

    train, held = grouped(train_w), grouped(held_w)
    n = train["units"].sum()
    varying = [f for f in feats if 0 < train.loc[train[f] == 1, "units"].sum() < n]
    dev, ch = reference_levels(train, "device"), reference_levels(train, "channel")
    x = design(train, varying, dev, ch)
    endog = np.column_stack([train["purchasers"], train["units"] - train["purchasers"]]).astype(float)
    res = sm.GLM(endog, x, family=sm.families.Binomial()).fit()
    terms = [{"term": "intercept" if t == "const" else (t[2:] if t.startswith("f_") else t),
              "coefficient": float(res.params[t]), "std_error": float(res.bse[t])} for t in x.columns]
    train_eta = np.asarray(x.to_numpy() @ res.params.to_numpy())
    points = grid(train_eta, train["units"].to_numpy(), [float(q) for q in args.tops.split(",")])

    xh = design(held, varying, dev, ch)
    eta = np.asarray(xh.to_numpy() @ res.params.to_numpy())
    p = 1 / (1 + np.exp(-eta))
    y, m = held["purchasers"].to_numpy().astype(float), held["units"].to_numpy().astype(float)
    expected = float((m * p).sum())
    recal = sm.GLM(np.column_stack([y, m - y]), sm.add_constant(eta), family=sm.families.Binomial()).fit()
    held_points = []
    for pt in points:
        at = eta >= pt["log_odds_cut"] - 1e-12 * max(1.0, abs(pt["log_odds_cut"]))
        u, yy = int(m[at].sum()), int(y[at].sum())
        held_points.append({"name": pt["name"], "units": u, "purchasers": yy, "precision": yy / u if u else None,
                            "predicted": float((m[at] * p[at]).sum() / u) if u else None,
                            "recall": yy / y.sum()})
    command = " ".join(shlex.quote(a) for a in ["python3", "scripts/reference_predicted.py"] + argv)
    out = {
        "header": {"generator": "scripts/reference_predicted.py", "command": command,
                   "input_sha256": sha256_of(args.input), "python": platform.python_version(),
                   "pandas": pd.__version__, "numpy": np.__version__, "statsmodels": statsmodels.__version__,
                   "rows": n_rows, "skipped": skipped},
        "training_weeks": train_w, "held_out_weeks": held_w,
        "training_units": int(n), "training_purchasers": int(train["purchasers"].sum()),
        "reference_levels": {"device": dev[0], "channel": ch[0]},
        "terms": terms, "grid": points,
        "calibration": {"units": int(m.sum()), "purchasers": int(y.sum()), "expected": expected,
                        "observed_over_expected": float(y.sum() / expected),
                        "intercept": float(recal.params[0]), "slope": float(recal.params[1]),
                        "brier": float(((y * (1 - p) ** 2) + (m - y) * p ** 2).sum() / m.sum()),
                        "auc": float(grouped_auc(p, y, m - y)), "points": held_points},
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, allow_nan=False)
        f.write("\n")
    print(json.dumps({k: out[k] for k in ("training_weeks", "held_out_weeks", "terms")}, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
