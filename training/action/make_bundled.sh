#!/usr/bin/env bash
# Rebuild the bundled action model pipan/models/action.tflite from nothing but this checkout
# (no third-party data goes into it): synthetic skeleton motions + synthetic videos run
# through pipan's own runtime (bundled pose net, decoder, tracker, keypoint smoothing) ->
# training -> int8 conversion -> evaluation. Run from the repository root; about 10 minutes
# of data and 15 of training on 2 busy CPU cores. Seeds fix the data and the initial
# weights (CPU training is not bit-for-bit repeatable across machines/thread counts).
# The detected clips depend on pipan/models/pose.tflite and pipan.smoothing: rebuild this
# model whenever either changes.
set -euo pipefail
RUNS=${RUNS:-runs}
PY=${PY:-python}
mkdir -p "$RUNS"
$PY -m training synth motions --out "$RUNS/synth_motions_s1.npz" --clips 1520 --seed 1
nice -n 10 $PY -m training synth detected --out "$RUNS/detected_s1.npz" --videos 150 \
    --seed 1 --workers 2
nice -n 10 $PY -m training action train --data "$RUNS/synth_motions_s1.npz" \
    --data "$RUNS/detected_s1.npz" --out "$RUNS/action_detected" --epochs 40 --seed 0 --quiet
$PY -m pipan convert "$RUNS/action_detected" -c "$RUNS/detected_s1.npz" \
    -o pipan/models/action.tflite
# Figures for pipan/models/MODEL_CARD.md: held-out clean synthetic clips, held-out detected
# clips (whole videos never trained on), the demo end to end, and (with ../shared) JHMDB.
M=pipan/models/action.tflite
$PY -m training action evaluate --model $M --data "$RUNS/synth_motions_s1.npz" --json
$PY -m training action evaluate --model $M --data "$RUNS/detected_s1.npz" --json
$PY benchmarks/demo_e2e.py --smooth on off
SHARED=${SHARED:-../shared}
if [ -f "$SHARED/data/jhmdb14/jhmdb14_split1.npz" ]; then
    $PY -m training action evaluate --model $M --data "$SHARED/data/jhmdb14/jhmdb14_split1.npz" \
        --json --data-classes-only
fi
