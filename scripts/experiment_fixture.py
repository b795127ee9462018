#!/usr/bin/env python3
"""Writes the simulated A/B test logs in fixtures/experiment/ (deterministic, numpy seed).

* ab_cart_only.csv.gz: 2026-10-05 .. 2026-10-18 (two ISO weeks, UTC), users split 50/50 between
  `control` and `treatment` in a `variant` column. The treatment multiplies the add_to_cart
  probability of every session by 1.2 and divides purchase-given-cart by 1.2, so it lifts
  add_to_cart by +20% and leaves purchase per session unchanged: "interest without resolving
  the final objection". Users have their own propensity (their sessions correlate), 1-4
  sessions, a device and a channel per session (the segment is their first one's). Also: two
  days of pre-test events (empty variant), 3% of users outside the test (empty variant), and
  four users who show up in both variants (crossovers).
* variants.csv: the same assignment as a user_id,variant mapping file.
* srm.csv.gz: an A/A test whose treatment lost users (a redirect that drops 12% of them): the
  split is 53/47 instead of 50/50.

Run: python3 scripts/experiment_fixture.py (needs numpy). Then scripts/reference_experiment.py.
"""
import csv
import gzip
import io
import os
from datetime import datetime, timedelta, timezone

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "experiment")
START = datetime(2026, 10, 5, tzinfo=timezone.utc)
DAYS = 14
DEVICES = [("mobile", 0.6), ("desktop", 0.32), ("tablet", 0.08)]
CHANNELS = [("paid_social", 0.4), ("organic_search", 0.3), ("email", 0.15), ("direct", 0.15)]
CART = {"mobile": 0.09, "desktop": 0.13, "tablet": 0.08}
CHANNEL_CART = {"paid_social": 0.8, "organic_search": 1.1, "email": 1.4, "direct": 1.2}


def pick(rng, options):
    names = [o[0] for o in options]
    return names[rng.choice(len(options), p=[o[1] for o in options])]


def session_rows(rng, uid, sid, t, device, channel, variant, cart_lift, taste):
    rows = [(t, "session_start"), (t + timedelta(seconds=5), "view_item")]
    if rng.random() < 0.5:
        rows.append((t + timedelta(seconds=40), "view_item"))
    p_cart = min(1.0, CART[device] * CHANNEL_CART[channel] * taste * cart_lift)
    if rng.random() < p_cart:
        rows.append((t + timedelta(seconds=90), "add_to_cart"))
        if rng.random() < 0.55 / cart_lift:
            rows.append((t + timedelta(seconds=150), "begin_checkout"))
            if rng.random() < 0.8:
                rows.append((t + timedelta(seconds=200), "add_payment_info"))
                if rng.random() < 0.7:
                    rows.append((t + timedelta(seconds=260), "purchase"))
    return [(ts, uid, sid, name, device, channel, variant) for ts, name in rows]


def simulate(seed, users, share_treatment, cart_lift, drop_treatment=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(users):
        uid = f"u{seed % 1000:03d}{i:05d}"
        in_test = rng.random() >= 0.03
        variant = ("treatment" if rng.random() < share_treatment else "control") if in_test else ""
        if variant == "treatment" and rng.random() < drop_treatment:
            continue
        taste = [0.5, 1.0, 1.5][rng.integers(0, 3)]
        lift = cart_lift if variant == "treatment" else 1.0
        sessions = 1 + min(3, rng.geometric(0.6) - 1)
        for s in range(sessions):
            t = START + timedelta(seconds=int(rng.integers(0, DAYS * 86400 - 3600)))
            rows += session_rows(rng, uid, f"{uid}s{s}", t, pick(rng, DEVICES),
                                 pick(rng, CHANNELS), variant, lift, taste)
        if rng.random() < 0.2:  # a pre-test visit: before the test, no variant yet
            t = START - timedelta(seconds=int(rng.integers(3600, 2 * 86400)))
            rows += session_rows(rng, uid, f"{uid}p", t, pick(rng, DEVICES),
                                 pick(rng, CHANNELS), "", 1.0, taste)
    return rows


def write(name, rows):
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["timestamp", "user_id", "session_id", "event_name", "device", "channel", "variant"])
    for ts, *rest in rows:
        w.writerow([ts.strftime("%Y-%m-%dT%H:%M:%SZ"), *rest])
    with open(os.path.join(OUT, name), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue().encode())
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = simulate(20, 16_000, 0.5, 1.2)
    # Crossovers: four treatment users also seen once as control (a cookie reset).
    crossed = sorted({r[1] for r in rows if r[6] == "treatment"})[:4]
    for uid in crossed:
        first = next(r for r in rows if r[1] == uid and r[6] == "treatment")
        rows.append((first[0] + timedelta(hours=30), uid, f"{uid}x", "view_item",
                     first[4], first[5], "control"))
    rows = write("ab_cart_only.csv.gz", rows)
    assigned = {}
    for r in rows:
        if r[6]:
            assigned.setdefault(r[1], set()).add(r[6])
    with open(os.path.join(OUT, "variants.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "variant"])
        for uid in sorted(assigned):
            for v in sorted(assigned[uid]):
                w.writerow([uid, v])
    write("srm.csv.gz", simulate(23, 5_000, 0.5, 1.0, drop_treatment=0.12))


if __name__ == "__main__":
    main()
