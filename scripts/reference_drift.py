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
p = [0.01, 0.04, 0.03, 0.005, 0.5]
out["holm"] = {"p": p, "adjusted": list(multipletests(p, method="holm")[1])}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "reference", "drift.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out, indent=1))
