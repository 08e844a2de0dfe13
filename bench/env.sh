# Sourced by the bench scripts: the repository root, the shared release build, and the
# ROWS / RUNS knobs. Sets A to the assay binary (ASSAY=path uses that build instead of
# building the release one).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assay-target}"
ROWS="${ROWS:-10000000}"
RUNS="${RUNS:-5}"
if [ -n "${ASSAY-}" ]; then
  A="$ASSAY"
else
  cargo build --release --quiet
  A="$CARGO_TARGET_DIR/release/assay"
fi
