"""Writes fixtures/ga4/duplicates.ndjson.gz: the GA4 export fixture with the duplicates real
exports carry, for the deduplication tests (tests/it/ga4_export.rs, tests/it/pushdown.rs).

- exact duplicates: every 700th row repeated byte for byte right after itself, and row 5 again
  at the very end of the file (far from its original);
- reloaded thank-you pages: every 9th purchase repeated 3 hours later with the same
  transaction_id in a new session (new ga_session_id, batch ids), appended at the end; one of
  them is put at the very start of the file instead, so the earliest copy by time is not the
  first in the file.

Deterministic: the same input gives the same output.

    python3 scripts/ga4_duplicates_fixture.py
"""

import gzip
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "fixtures", "ga4", "events.ndjson.gz")
OUT = os.path.join(ROOT, "fixtures", "ga4", "duplicates.ndjson.gz")


def reload(row, hours=3):
    r = json.loads(json.dumps(row))
    ts = int(r["event_timestamp"]) + hours * 3600 * 1_000_000
    r["event_timestamp"] = str(ts)
    sid = str(ts // 1_000_000)
    for p in r.get("event_params", []):
        if p["key"] == "ga_session_id":
            p["value"]["int_value"] = sid
    r["batch_page_id"] = str(ts // 1000)
    r["batch_ordering_id"] = "1"
    r["batch_event_index"] = "0"
    return r


def main():
    with gzip.open(SRC, "rt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    out, tail, head = [], [], []
    purchases = 0
    exact = 0
    for i, line in enumerate(lines):
        out.append(line)
        if i % 700 == 699:
            out.append(line)
            exact += 1
        row = json.loads(line)
        if row.get("event_name") == "purchase" and row.get("ecommerce", {}).get("transaction_id"):
            purchases += 1
            if purchases % 9 == 0:
                copy = json.dumps(reload(row), separators=(",", ":"), sort_keys=True)
                (head if not head else tail).append(copy)
    tail.append(lines[5])
    exact += 1
    with gzip.GzipFile(OUT, "wb", mtime=0) as g:
        g.write(("\n".join(head + out + tail) + "\n").encode("utf-8"))
    print(f"{OUT}: {exact} exact duplicates, {len(head) + len(tail) - 1} repeated purchases")


if __name__ == "__main__":
    main()
