#!/usr/bin/env bash
# Rebuild the bundled action model pipan/models/action.tflite from nothing but this checkout
# (no third-party data goes into it): synthetic skeleton motions + synthetic videos run
# through pipan's own runtime (bundled pose net, decoder, tracker, keypoint smoothing) ->
# training -> int8 conversion -> evaluation. Runs from the repository root; about 10 minutes
# of data and 15 of training on 2 busy CPU cores. Seeds fix the data and the initial
# weights (CPU training is not bit-for-bit repeatable across machines/thread counts).
# The detected clips depend on pipan/models/pose.tflite and pipan.smoothing: rebuild this
# model whenever either changes.
set -euo pipefail
# From the repository root, and from a clean commit (training/clean_checkout.sh).
source "$(dirname "$0")/../clean_checkout.sh"
RUNS=${RUNS:-runs}
PY=${PY:-python}
mkdir -p "$RUNS"
$PY -m training synth motions --out "$RUNS/synth_motions_s1.npz" --clips 1520 --seed 1
nice -n 10 $PY -m training synth detected --out "$RUNS/detected_s1.npz" --videos 150 \
    --seed 1 --workers 2
# The detected clips are given twice (about 60% of the training clips): measured better
# than once on the held-out videos and the detected held-out clips (MODEL_CARD.md).
# --rate-augment 0.5: half the clips at every 2nd or 3rd frame (15 or 10 fps), so the model
# still works when the runtime processes fewer frames (measured: MODEL_CARD.md).
# --joint-embed 0 --sum-nodes --no-stats-head: the paper's per-frame network without the
# statistics head. Retrained with the training default's joint embedding and concatenated
# clusters it is better on clean synthetic clips and clearly worse through the pose net
# (MODEL_CARD.md). The bundle has no statistics head, which is measured on JHMDB only.
nice -n 10 $PY -m training action train --data "$RUNS/synth_motions_s1.npz" \
    --data "$RUNS/detected_s1.npz" --data "$RUNS/detected_s1.npz" \
    --out "$RUNS/action_rate" --epochs 40 --seed 0 --rate-augment 0.5 \
    --joint-embed 0 --sum-nodes --no-stats-head --quiet
# --range-percentile 100: min/max activation ranges. A conversion with the action default
# (95th percentile) agrees better with float on held-out clips but fails the demo test
# under emulated arm64 (MODEL_CARD.md), so the bundle keeps min/max.
$PY -m pipan convert "$RUNS/action_rate" -c "$RUNS/detected_s1.npz" \
    -o pipan/models/action.tflite --range-percentile 100
# Figures for pipan/models/MODEL_CARD.md: held-out clean synthetic clips, held-out detected
# clips (whole videos never trained on), the demo end to end, and (with ../shared) JHMDB.
M=pipan/models/action.tflite
$PY -m training action evaluate --model $M --data "$RUNS/synth_motions_s1.npz" --json
$PY -m training action evaluate --model $M --data "$RUNS/detected_s1.npz" --json
$PY -m benchmarks.demo_e2e --smooth on off
$PY -m benchmarks.demo_e2e --smooth on off --exact
# Held-out videos (seeds none of the detected clips' videos use)
for s in 1001 1002 1003 1004 1005 1006; do
    $PY -m training synth video --out "$RUNS/heldout/v$s.mp4" --seed $s --seconds 8 \
        --people 2 --fps 30
done
for e in 1 2 3; do
    $PY -m benchmarks.demo_e2e --smooth on --every $e --video pipan/models/demo.mp4 \
        "$RUNS"/heldout/v100?.mp4
done
SHARED=${SHARED:-../shared}
if [ -f "$SHARED/data/jhmdb14/jhmdb14_split1.npz" ]; then
    $PY -m training action evaluate --model $M --data "$SHARED/data/jhmdb14/jhmdb14_split1.npz" \
        --json --data-classes-only
fi
