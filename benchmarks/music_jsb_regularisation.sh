#!/usr/bin/env bash
# JSB Chorales, two-layer LSTMs with more regularisation than the full preset's dropout 0.5: recurrent dropout
# (one mask per sequence on the state fed back), AdamW weight decay, and both; all runs at once on one GPU.
#
#     GALLERY_DATA_DIR=../shared/data KERAS_BACKEND=jax bash benchmarks/music_jsb_regularisation.sh [OUT] [BUDGET_SECONDS]
#
# Every run is the full preset (LSTM 256, dropout 0.5, transposition +-3, batch 16, Adam 2e-3, up to 300 epochs,
# patience 25) with the changes named below, and composes no samples. The training budget (default 330 s) guards a
# lent machine's time; a run it stops says so in its log. Logs: OUT/<name>.log; run folders: OUT/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${GALLERY_DATA_DIR:?set GALLERY_DATA_DIR to the folder holding jsb_chorales/}"
OUT="${1:-runs/music/jsb-regularisation}"
BUDGET="${2:-330}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
PRESET="${PRESET:-full}"  # smoke: a dry run of this script in seconds
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # JAX would otherwise give the first run 75% of the GPU's memory

go() {
  local name=$1
  shift
  "$PYTHON" -m gallery.music --preset "$PRESET" --data "$DATA/jsb_chorales" --samples 0 --budget-seconds "$BUDGET" \
    --layers 2 --out "$OUT/$name" "$@" >"$OUT/$name.log" 2>&1 || echo "$name failed: see $OUT/$name.log"
}
go 2x256-wd0.1 --weight-decay 0.1 &
go 2x256-wd0.5 --weight-decay 0.5 &
go 2x256-rd0.25 --recurrent-dropout 0.25 &
go 2x256-rd0.25-wd0.1 --recurrent-dropout 0.25 --weight-decay 0.1 &
go 2x384-rd0.3-wd0.1 --units 384 --recurrent-dropout 0.3 --weight-decay 0.1 &
go 3x256-rd0.2 --layers 3 --recurrent-dropout 0.2 &
wait
for log in "$OUT"/*.log; do
  echo "$(basename "$log" .log): $(grep -h '^test:' "$log" || echo 'no result') $(grep -ho 'time budget.*' "$log" || true)"
done
