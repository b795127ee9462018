"""Reference figures for the stratified drift test and Holm's correction (src/stats/drift.rs,
src/stats/fdr.rs), computed with statsmodels:

- `StratifiedTable(...).test_null_odds(correction=False)`: the Cochran–Mantel–Haenszel statistic
  (its square root, signed, is `stratified_change`'s z at dispersion 1);
- `multipletests(method="holm")`: Holm's adjusted p-values.

Writes fixtures/reference/drift.json; the unit tests carry the same figures.

    pip install statsmodels numpy scipy && python3 scripts/reference_drift.py
"""
import json, math, os
import numpy as np
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests

# Per stratum: (recent n, recent y, baseline n, baseline y).
CASES = {
    "three_strata": [(400, 52, 1200, 120), (900, 45, 2500, 150), (150, 30, 300, 51)],
    "two_strata_decrease": [(1000, 20, 4000, 160), (500, 25, 1500, 90)],
}
out = {"cmh": {}, "holm": {}}
for name, strata in CASES.items():
    tables = [np.array([[y1, n1 - y1], [y0, n0 - y0]], dtype=float) for n1, y1, n0, y0 in strata]
    st = StratifiedTable(tables)
    res = st.test_null_odds(correction=False)
    a = sum(t[0, 0] for t in tables)
    e = sum(t[0].sum() * t[:, 0].sum() / t.sum() for t in tables)
    z = math.copysign(math.sqrt(res.statistic), a - e)
    smr = a / sum(n1 * y0 / n0 for n1, _, n0, y0 in strata)
    out["cmh"][name] = {"strata": strata, "chi2": res.statistic, "p_two_sided": res.pvalue,
                        "z": z, "ratio": smr}
# The standardized-ratio test (`standardized_ratio_test`) in closed form, one baseline week
# (dispersion 1): R = O/E, z = ln((O + 1/2)/E) / sqrt(1/(O + 1/2) + sum n1^2 p0 (1-p0)/n0 / E^2).
# "sweepstakes" are the counts of a simulated 3k store whose paid-social segments surged.
SMR = dict(CASES, sweepstakes=[(9, 1, 49, 3), (631, 0, 54, 2), (11, 0, 42, 1), (11, 0, 111, 6),
                                (3, 1, 19, 2), (1, 0, 42, 6), (294, 0, 30, 2), (6, 0, 38, 2),
                                (12, 4, 67, 13), (1, 0, 14, 2), (3, 1, 9, 1), (72, 0, 10, 0),
                                (1, 0, 9, 1)])
out["smr"] = {}
for name, strata in SMR.items():
    n1, y1, n0, y0 = (np.array(v, dtype=float) for v in zip(*strata))
    p0 = y0 / n0
    o, e = y1.sum(), (n1 * p0).sum()
    var_e = (n1 ** 2 * p0 * (1 - p0) / n0).sum()
    z = math.log((o + 0.5) / e) / math.sqrt(1 / (o + 0.5) + var_e / e ** 2)
    out["smr"][name] = {"strata": strata, "ratio": o / e, "z": z,
                        "p_decrease": float(__import__("scipy.stats").stats.norm.cdf(z))}
p = [0.01, 0.04, 0.03, 0.005, 0.5]
out["holm"] = {"p": p, "adjusted": list(multipletests(p, method="holm")[1])}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "reference", "drift.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out, indent=1))
