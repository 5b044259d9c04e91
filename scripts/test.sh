#!/usr/bin/env bash
# Every test of segcore, from a clean checkout: formatting, lints, docs, the Rust suites
# (unit, integration, property, the shared conformance corpus, doc tests; examples and
# benches are compiled), the Python package (built into a virtual environment under target/,
# tested with pytest, warnings as errors, its stubs checked with mypy), and the Node package
# (built with @napi-rs/cli, tested with node --test, its types checked with tsc).
# Needs only Rust, Python 3.10+ with pip, Node 18+ with npm, and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== the fuzz crate compiles (outside the workspace; running it needs cargo-fuzz)"
CARGO_TARGET_DIR=target/fuzz-check cargo check --quiet --manifest-path fuzz/Cargo.toml --bins
echo "== cargo test"
# The Python and Node extensions are tested from Python and Node below (they link against
# their host at load time).
cargo test --workspace --exclude segcore-python --exclude segcore-node

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

echo "== Node: build the addon (npm install, napi build) and check the generated files"
(
    cd bindings-node
    # `npm install --no-save` rather than `npm ci`: npm's lock check trips over the optional
    # per-platform packages of @napi-rs/cli's dependencies (a known npm bug); this installs
    # what the lock names without rewriting it.
    npm install --no-save --no-audit --no-fund --loglevel=error
    npx napi build --platform --release --js index.js --dts index.d.ts
    if ! git diff --quiet -- index.js index.d.ts; then
        echo "index.js / index.d.ts differ from what the build generates: commit the generated files" >&2
        git diff --stat -- index.js index.d.ts >&2
        exit 1
    fi
)
echo "== node --test"
(cd bindings-node && node --test test/)
echo "== tsc --noEmit (index.d.ts, over a typed usage file)"
(cd bindings-node && npx tsc --noEmit --strict --module commonjs --moduleResolution node \
    --target es2020 test/usage.ts)
