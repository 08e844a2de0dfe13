# Sourced by the bench scripts: the repository root, the shared release build, and the
# ROWS / RUNS knobs. Sets A to the assay binary and B to assay-baseline, the engines
# driven directly (ASSAY=path and ASSAY_BASELINE=path use those builds instead of
# building the release ones).
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
if [ -n "${ASSAY_BASELINE-}" ]; then
  B="$ASSAY_BASELINE"
else
  B="$CARGO_TARGET_DIR/release/assay-baseline"
fi
# Builds assay-baseline when a script needs it (it links assay's library once more).
needs_baseline() {
  [ -n "${ASSAY_BASELINE-}" ] || cargo build --release --quiet -p assay-baseline
}
# Installs what a bench script needs and the machine lacks (as .ci/run does for the
# tests): `apt:COMMAND[=PACKAGE]` a command from Debian's packages, `pip:MODULE[=PACKAGE]`
# a Python module and `pipcmd:COMMAND[=PACKAGE]` a command from PyPI. Latest versions;
# BENCHMARKS.md names the versions measured.
needs() {
  local want kind name pkg
  for want in "$@"; do
    kind=${want%%:*}; name=${want#*:}; pkg=${name#*=}; name=${name%%=*}
    case $kind in
      apt) command -v "$name" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$pkg"; } ;;
      pip|pipcmd)
        if [ "$kind" = pip ]; then python3 -c "import $name" 2>/dev/null && continue
        else command -v "$name" >/dev/null && continue; fi
        python3 -m pip install --quiet "$pkg" \
          || python3 -m pip install --quiet --break-system-packages "$pkg" ;;
    esac
  done
}
