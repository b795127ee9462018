#!/usr/bin/env python3
"""Runs optsignal's BigQuery pushdown SQL on a GA4-export-shaped NDJSON file with DuckDB.

The GoogleSQL (from `optsignal bigquery sql`) is transpiled to DuckDB by sqlglot; the export is
loaded with BigQuery's column types and exposed as the wildcard table `project.dataset.events_*`
with a `_TABLE_SUFFIX` column (the table's YYYYMMDD), so the statement runs unchanged. The result
is printed as a BigQuery `jobs.query` response (every scalar a string, NULL as null), which the
tests compare with the local reader, or serve from a mock BigQuery to `optsignal recommend`.

    python scripts/pushdown_duckdb.py --sql q.sql --events fixtures/ga4/events.ndjson.gz \
        --project p --dataset d [--prefix events_] [--duckdb-sql out.sql]

Requirements (pinned): scripts/requirements-pushdown.txt.
"""

import argparse
import json
import math
import sys

import duckdb
import sqlglot

# The GA4 export columns the pushdown reads, with BigQuery's types (INT64 arrives as JSON strings
# in `bq extract` files; DuckDB casts them).
COLUMNS = {
    "event_date": "VARCHAR",
    "event_timestamp": "BIGINT",
    "event_name": "VARCHAR",
    "event_params": "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT,"
    " float_value DOUBLE, double_value DOUBLE))[]",
    "user_pseudo_id": "VARCHAR",
    "device": "STRUCT(category VARCHAR)",
    "traffic_source": "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)",
    "session_traffic_source_last_click": "STRUCT(manual_campaign STRUCT(campaign_name VARCHAR,"
    " source VARCHAR, medium VARCHAR))",
    "ecommerce": "STRUCT(purchase_revenue DOUBLE, transaction_id VARCHAR)",
    "stream_id": "VARCHAR",
    "batch_page_id": "BIGINT",
    "batch_ordering_id": "BIGINT",
    "batch_event_index": "BIGINT",
}

TYPES = {"VARCHAR": "STRING", "BIGINT": "INTEGER", "HUGEINT": "INTEGER", "DOUBLE": "FLOAT",
         "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN"}


def cell(v):
    if v is None:
        return {"v": None}
    if isinstance(v, bool):
        return {"v": "true" if v else "false"}
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 2**53:
            return {"v": repr(float(v))}
        return {"v": repr(v)}
    return {"v": str(v)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sql", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--prefix", default="events_")
    ap.add_argument("--duckdb-sql", help="also write the transpiled SQL here")
    a = ap.parse_args()

    google_sql = open(a.sql, encoding="utf-8").read()
    duck_sql = sqlglot.transpile(google_sql, read="bigquery", write="duckdb", pretty=True)
    if len(duck_sql) != 1:
        sys.exit(f"expected one statement, got {len(duck_sql)}")
    duck_sql = duck_sql[0]
    if a.duckdb_sql:
        open(a.duckdb_sql, "w", encoding="utf-8").write(duck_sql + "\n")

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f'ATTACH \':memory:\' AS "{a.project}"')
    con.execute(f'CREATE SCHEMA "{a.project}"."{a.dataset}"')
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    path = a.events.replace("'", "''")
    con.execute(
        f'CREATE VIEW "{a.project}"."{a.dataset}"."{a.prefix}*" AS '
        f"SELECT *, event_date AS _TABLE_SUFFIX FROM read_json('{path}', "
        f"format = 'newline_delimited', columns = {columns})"
    )
    rel = con.execute(duck_sql)
    names = [d[0] for d in rel.description]
    types = [TYPES.get(str(d[1]).upper(), "STRING") for d in rel.description]
    rows = rel.fetchall()
    out = {
        "kind": "bigquery#queryResponse",
        "jobComplete": True,
        "jobReference": {"projectId": a.project, "jobId": "duckdb", "location": "EU"},
        "schema": {"fields": [{"name": n, "type": t, "mode": "NULLABLE"}
                              for n, t in zip(names, types)]},
        "rows": [{"f": [cell(v) for v in r]} for r in rows],
        "totalRows": str(len(rows)),
        "totalBytesProcessed": "0",
        "cacheHit": False,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
