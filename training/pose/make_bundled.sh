#!/usr/bin/env bash
# Rebuild the bundled pose model pipan/models/pose.tflite from nothing but this checkout:
# synthetic frames -> training -> int8 conversion -> evaluation. Run from the repository
# root; about 40 minutes on 2 busy CPU cores. Seeds fix the data and the initial weights.
# (CPU training is not bit-for-bit repeatable across machines/thread counts.)
set -euo pipefail
RUNS=${RUNS:-runs}
PY=${PY:-python}
mkdir -p "$RUNS"
$PY -m training synth frames --out "$RUNS/synth-train" --images 3000 --seed 0
$PY -m training synth frames --out "$RUNS/synth-heldout" --images 200 --seed 1
nice -n 10 $PY -m training pose train --data "$RUNS/synth-train" --val "$RUNS/synth-heldout" \
    --out "$RUNS/pose-bundled" --epochs 12 --steps 120 --batch 6 --lr 2e-3 --seed 0 \
    --stages 1 --stage-width 64 --stage-depth 3 --sigma 1.5 --limb-width 1.5 \
    --rotate 15 --zoom 0.2 --shift 0.1 \
    --backbone-widths 24,32,32,64,64,96,96,128,128,192,384
$PY -m pipan convert "$RUNS/pose-bundled" --calibration "$RUNS/synth-train" \
    --out pipan/models/pose.tflite --samples 300 --seed 0
# Figures for pipan/models/MODEL_CARD.md (../shared holds the real data):
$PY -m training pose evaluate --model pipan/models/pose.tflite --data "$RUNS/synth-heldout" \
    --data ../shared/data/jhmdb-clip --data ../shared/data/coco-mini
