#!/usr/bin/env bash
# The language model's full preset on tinyshakespeare for each cell (and LSTM 2x1024), the four runs at once.
#
#     GALLERY_DATA_DIR=../shared/data KERAS_BACKEND=jax bash benchmarks/language_model_full.sh [OUT]
#
# Meant for one GPU: the runs share it. The 420 s training budget is only a guard; on an H100 no run reached it
# (gallery/language_model/README.md). Each run's log is OUT/<name>.log; its run folder OUT/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${GALLERY_DATA_DIR:?set GALLERY_DATA_DIR to the folder holding tinyshakespeare/input.txt}/tinyshakespeare/input.txt"
OUT="${1:-runs/language_model/bench-full}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # JAX would otherwise give the first run 75% of the GPU's memory

go() {
  local name=$1
  shift
  "$PYTHON" -m gallery.language_model --preset full --data "$DATA" --out "$OUT/$name" --budget-seconds 420 "$@" \
    >"$OUT/$name.log" 2>&1 || echo "$name failed: see $OUT/$name.log"
}
go lstm --cell lstm &
go gru --cell gru &
go rnn --cell rnn &
go lstm1024 --cell lstm --units 1024 --dropout 0.3 &
wait
for name in lstm gru rnn lstm1024; do
  echo "$name: $(grep -h '^best weights' "$OUT/$name.log" || echo 'no result')"
done
