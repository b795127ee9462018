"""Reference figures for the proxy's own out-of-time AUC (src/stats/auc.rs, `binary_auc`).

For a binary score (the unit has the event or not) the AUC is (TPR + TNR) / 2 with ties counted
half. This script expands each 2x2 table into one row per unit and computes, independently of
the closed form in Rust:
- the AUC with sklearn.metrics.roc_auc_score;
- its DeLong variance with the general midrank algorithm (Sun & Xu 2014, any score, ties by
  midranks), and the 95% Wald interval AUC +/- z*SE clipped to [0, 1] (as pROC's ci.auc).
It also checks the closed form for a binary score against both. Writes
fixtures/reference/proxy_auc.json, read by the unit test in src/stats/auc.rs:

    python3 -m venv venv && venv/bin/pip install scikit-learn numpy scipy
    venv/bin/python scripts/reference_proxy_auc.py

Last run with scikit-learn 1.9.1, numpy 2.4.6, scipy 1.17.1.
"""
import json
import math
import os

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

# (a, b, c, d): with the event & purchased, with & not, without & purchased, without & not.
CASES = [
    (417, 2012, 120, 31000),  # a strong proxy (add_to_cart-like)
    (61, 2873, 480, 22611),  # an unrelated event: rate 2.1% with and without it, AUC ~0.5
    (5, 1654, 540, 33000),  # a sweepstakes sign_up: almost no buyers among many units
    (30, 10, 3, 40),  # small counts
    (12, 0, 3, 25),  # no negative has it (TNR = 1)
    (0, 40, 9, 300),  # no positive has it (AUC below 0.5)
    (9, 1, 1, 9),  # near-perfect with few units: the upper bound is clipped at 1
    (2, 3, 2, 3),  # the fewest units with a variance
]


def delong(y, s):
    """AUC and DeLong variance for labels y (1/0) and scores s, by midranks."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    tx, ty = rankdata(pos), rankdata(neg)
    tz = rankdata(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n  # per positive: share of negatives below, ties half
    v01 = 1 - (tz[m:] - ty) / m  # per negative: share of positives above, ties half
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    return auc, var


def main():
    z = float(norm.ppf(0.975))
    out = []
    for a, b, c, d in CASES:
        y = np.concatenate([np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)])
        s = np.concatenate([np.ones(a + b), np.zeros(c + d)])
        auc = float(roc_auc_score(y, s))
        auc_dl, var = delong(y, s)
        assert abs(auc - auc_dl) < 1e-12
        tpr, fpr = a / (a + c), b / (b + d)
        closed = tpr * (1 - tpr) / (4 * (a + c - 1)) + fpr * (1 - fpr) / (4 * (b + d - 1))
        assert abs(var - closed) < 1e-12, (var, closed)
        assert abs(auc - (tpr + 1 - fpr) / 2) < 1e-12
        se = math.sqrt(var)
        out.append({
            "a": a, "b": b, "c": c, "d": d,
            "auc": auc, "se": se,
            "lo": max(0.0, auc - z * se), "hi": min(1.0, auc + z * se),
        })
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "reference", "proxy_auc.json")
    with open(path, "w") as f:
        json.dump({
            "source": "scripts/reference_proxy_auc.py: sklearn.metrics.roc_auc_score and a midrank "
                      "DeLong variance on expanded units; 95% Wald interval clipped to [0, 1]",
            "z": z,
            "cases": out,
        }, f, indent=1)
        f.write("\n")
    for r in out:
        print(r)


if __name__ == "__main__":
    main()
