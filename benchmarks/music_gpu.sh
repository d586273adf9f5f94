#!/usr/bin/env bash
# Polyphonic music on one GPU: Nottingham at ~300k parameters and a few larger JSB Chorales models, all at once.
#
#     GALLERY_DATA_DIR=../shared/data KERAS_BACKEND=jax bash benchmarks/music_gpu.sh [OUT] [BUDGET_SECONDS]
#
# Every run is the full preset (dropout 0.5, transposition +-3, batch 16, Adam 2e-3, up to 300 epochs, patience 25)
# with the width or depth named below, and composes no samples (writing MIDI needs music21, which a GPU machine may
# lack). The training budget (default 330 s) is a guard for a lent machine's time; a run it stops says so in its log.
# Each run's log is OUT/<name>.log and its run folder OUT/<name>/ (gallery/music/README.md has the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${GALLERY_DATA_DIR:?set GALLERY_DATA_DIR to the folder holding jsb_chorales/ and nottingham/}"
OUT="${1:-runs/music/bench-gpu}"
BUDGET="${2:-330}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # JAX would otherwise give the first run 75% of the GPU's memory

go() {
  local name=$1 set=$2
  shift 2
  "$PYTHON" -m gallery.music --preset full --data "$DATA/$set" --samples 0 --budget-seconds "$BUDGET" \
    --out "$OUT/$name" "$@" >"$OUT/$name.log" 2>&1 || echo "$name failed: see $OUT/$name.log"
}
go nottingham-lstm220 nottingham --cell lstm --units 220 &
go nottingham-gru256 nottingham --cell gru --units 256 &
go jsb-lstm220 jsb_chorales --cell lstm --units 220 &
go jsb-lstm512 jsb_chorales --cell lstm --units 512 &
go jsb-lstm2x256 jsb_chorales --cell lstm --units 256 --layers 2 &
go jsb-gru512 jsb_chorales --cell gru --units 512 &
go jsb-lstm1024 jsb_chorales --cell lstm --units 1024 --dropout 0.6 &
wait
for log in "$OUT"/*.log; do
  echo "$(basename "$log" .log): $(grep -h '^test:' "$log" || echo 'no result') $(grep -ho 'time budget.*' "$log" || true)"
done
