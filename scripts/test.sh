#!/usr/bin/env bash
# Every test of segcore, from a clean checkout: formatting, lints, docs, and the Rust suites
# (unit, integration, property, the shared conformance corpus, doc tests; examples and
# benches are compiled). The Python and Node suites join this script as their packages land.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== cargo test"
cargo test --workspace
