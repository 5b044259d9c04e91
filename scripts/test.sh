#!/usr/bin/env bash
# Every test of segcore, from a clean checkout: formatting, lints, docs, the Rust suites
# (unit, integration, property, the shared conformance corpus, doc tests; examples and
# benches are compiled), and the Python package: built into a virtual environment under
# target/, tested with pytest (warnings are errors) and its stubs checked with mypy.
# Needs only Rust, Python 3.10+ with pip, and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== cargo test"
# The Python extension is tested from Python below (it links against the interpreter).
cargo test --workspace --exclude segcore-python

echo "== Python: build the package into target/py-venv"
PYTHON="${PYTHON:-python3}"
VENV="$PWD/target/py-venv"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r bindings-python/requirements-test.txt
(cd bindings-python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop --release --quiet)
echo "== pytest"
(cd bindings-python && "$VENV/bin/python" -m pytest -q)
echo "== mypy (the stubs, over a typed usage file)"
(cd bindings-python && "$VENV/bin/python" -m mypy --strict typecheck/usage.py)
