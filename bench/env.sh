# Sourced by the bench scripts: the repository root, the shared release build, and the
# ROWS / RUNS knobs. Sets A to the assay binary.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assay-target}"
ROWS="${ROWS:-10000000}"
RUNS="${RUNS:-5}"
cargo build --release --quiet
A="$CARGO_TARGET_DIR/release/assay"
