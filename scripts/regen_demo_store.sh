#!/usr/bin/env bash
# Re-derive the committed demo model store (fixtures/demo/models/) from the demo log, week by
# week, exactly as tests/it/store.rs does. Run it in the commit that changes a decision rule or a
# stored field, and review the diff: tests/it/store.rs compares a fresh run with these files.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/optsignal"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for w in 38 39 40 41 42 43 44 45 46; do
  OPTSIGNAL_STORE__PATH="$tmp" "$bin" recommend --config fixtures/demo/optsignal.toml \
    --as-of "2026-W$w" --format json --save >/dev/null
done
for f in "$tmp"/*/*.json; do
  dest="fixtures/demo/models/$(basename "$(dirname "$f")")"
  mkdir -p "$dest"
  cp "$f" "$dest/"
done
git status --short fixtures/demo/models
