#!/usr/bin/env python3
"""Reference figures for the user-clustered (CR0) intervals of a proxy's 2x2 table, with statsmodels.

Written from these definitions only (no Rust code reused); the unit test in src/stats/cluster.rs
reads fixtures/reference/clustered_table.json and compares within 1e-6 (relative).

Definitions
-----------
* Units are sessions; each belongs to one user (the cluster). Per unit: x = the proxy is a
  feature, y = the label. The 2x2 table is a = x&y, b = x&~y, c = ~x&y, d = ~x&~y.
* Precision p1 = a/(a+b): the intercept of OLS(y ~ 1) on the units with x = 1, cov_type="cluster"
  (groups = user), use_correction=False. Its design effect = se^2 / (p1(1-p1)/(a+b)).
* Odds ratio: Logit(y ~ 1 + x), cov_type="cluster", use_correction=False; the clustered variance
  of ln OR is the squared se of x; its design effect is that over the squared se of the
  nonrobust fit (which is Woolf's 1/a + 1/b + 1/c + 1/d).
* Lift p1 / base with base = (a+c)/N: the units stacked twice, the x = 1 units with g = 1 and
  every unit with g = 0, OLS(y ~ 1 + g) clustered by user (use_correction=False) gives the
  covariance of (base, p1 - base); the variance of ln lift follows by the delta method,
  Var p1 / p1^2 + Var base / base^2 - 2 Cov(p1, base) / (p1 base).

The fixture: 80 users with 1-5 sessions each from a seeded generator (numpy default_rng(12)); a
user's propensity is shared by their sessions, so sessions of one user are correlated.

Run: python3 scripts/reference_clustered.py (needs numpy, pandas, statsmodels).
"""
import json
import os

import numpy as np
import statsmodels.api as sm

HERE = os.path.dirname(__file__)
OUT = os.path.join(HERE, "..", "fixtures", "reference", "clustered_table.json")


def fixture():
    rng = np.random.default_rng(12)
    users = []
    for _ in range(80):
        k = int(rng.integers(1, 6))
        intent = rng.normal(0.0, 1.2)
        sessions = []
        for _ in range(k):
            x = int(rng.random() < 1 / (1 + np.exp(-(intent - 0.3))))
            y = int(rng.random() < 1 / (1 + np.exp(-(intent - 1.6 + 1.2 * x))))
            sessions.append([x, y])
        users.append(sessions)
    return users


def main():
    users = fixture()
    g = np.array([i for i, s in enumerate(users) for _ in s])
    x = np.array([u[0] for s in users for u in s], dtype=float)
    y = np.array([u[1] for s in users for u in s], dtype=float)
    a = int(((x == 1) & (y == 1)).sum())
    b = int(((x == 1) & (y == 0)).sum())
    c = int(((x == 0) & (y == 1)).sum())
    d = int(((x == 0) & (y == 0)).sum())
    n1, n = a + b, len(y)
    cl = {"groups": None, "use_correction": False}

    sel = x == 1
    prec = sm.OLS(y[sel], np.ones(sel.sum())).fit(
        cov_type="cluster", cov_kwds={**cl, "groups": g[sel]})
    p1 = float(prec.params[0])
    v1 = float(prec.bse[0] ** 2)

    X = sm.add_constant(x)
    robust = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={**cl, "groups": g})
    plain = sm.Logit(y, X).fit(disp=0)
    v_or = float(robust.bse[1] ** 2)
    woolf = float(plain.bse[1] ** 2)

    ys = np.concatenate([y[sel], y])
    gs = np.concatenate([g[sel], g])
    grp = np.concatenate([np.ones(sel.sum()), np.zeros(n)])
    st = sm.OLS(ys, sm.add_constant(grp)).fit(cov_type="cluster", cov_kwds={**cl, "groups": gs})
    cov = st.cov_params()
    base = float(st.params[0])
    var_b = float(cov[0, 0])
    var_p1 = float(cov[0, 0] + 2 * cov[0, 1] + cov[1, 1])
    cov_pb = float(cov[0, 0] + cov[0, 1])
    v_lift = var_p1 / p1**2 + var_b / base**2 - 2 * cov_pb / (p1 * base)
    # The multinomial delta-method variance of ln lift, for the design effect.
    pa, pb, pc = a / n, b / n, c / n
    row, col = pa + pb, pa + pc
    ga, gb, gc = 1 / pa - 1 / row - 1 / col, -1 / row, -1 / col
    naive_lift = (ga * ga * pa + gb * gb * pb + gc * gc * pc - 1) / n

    out = {
        "generator": "scripts/reference_clustered.py",
        "users": users,
        "table": [a, b, c, d],
        "precision": p1,
        "precision_variance": v1,
        "precision_design_effect": v1 / (p1 * (1 - p1) / n1),
        "log_odds_ratio": float(robust.params[1]),
        "log_odds_ratio_variance": v_or,
        "odds_ratio_design_effect": v_or / woolf,
        "lift": p1 / base,
        "log_lift_variance": v_lift,
        "lift_design_effect": v_lift / naive_lift,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print({k: v for k, v in out.items() if k != "users"})


if __name__ == "__main__":
    main()
