#!/usr/bin/env bash
# Rebuild the bundled action model pipan/models/action.tflite: the vocabulary of
# pipan/vocabulary.py, learnt from real skeletons (JHMDB-14 split 1's training clips, mapped
# onto the vocabulary), synthetic motion of every action (falls, lying and sitting still
# included, seen at eye level and from high in a room) and synthetic videos run through
# pipan's own pose stage, with the measured noise model of that pose stage applied to half
# the clean clips each epoch. Runs from the repository root with ../shared beside it (JHMDB
# is required: credit HMDB51 and JHMDB, pipan/models/MODEL_CARD.md); about 15 minutes of
# data and 35 of training on 2 busy CPU cores. Seeds fix the data and the initial weights
# (CPU training is not bit-for-bit repeatable across machines and thread counts).
# The detected clips depend on pipan/models/pose.tflite, pipan.tracker and pipan.smoothing:
# rebuild this model whenever they change.
set -euo pipefail
source "$(dirname "$0")/../clean_checkout.sh"
RUNS=${RUNS:-runs/action-bundle}
PY=${PY:-python}
SHARED=${SHARED:-../shared}
JHMDB="$SHARED/data/jhmdb14/jhmdb14_split1.npz"
mkdir -p "$RUNS"
if [ ! -f "$JHMDB" ]; then
    echo "$0: $JHMDB is missing: the bundled action model trains on JHMDB-14 (../shared)" >&2
    exit 1
fi
$PY -m training action relabel "$JHMDB" --map jhmdb --out "$RUNS/jhmdb14_vocab.npz"
$PY -m training synth motions --out "$RUNS/motions_vocab.npz" --clips 2400 --seed 1 \
    --vocabulary --actions all --min-frames 30 --max-frames 90
nice -n 10 $PY -m training synth detected --out "$RUNS/detected_vocab.npz" --videos 150 \
    --seed 1 --workers 2 --actions all --vocabulary --high-camera 0.4
# JHMDB and the detected clips are given twice: real motion and the pose stage's own
# skeletons weigh as much as the clean synthetic motion (measured: MODEL_CARD.md).
# --rate-augment 0.5: half the clips at every 2nd or 3rd frame (15 or 10 fps).
# --pose-noise: the pose stage's measured errors (training/action/pose_noise.json) on half
# the clips each epoch. The network is the training default (joint embedding, concatenated
# clusters, statistics head: docs/action.md).
nice -n 10 $PY -m training action train --data "$RUNS/jhmdb14_vocab.npz" \
    --data "$RUNS/jhmdb14_vocab.npz" --data "$RUNS/motions_vocab.npz" \
    --data "$RUNS/detected_vocab.npz" --data "$RUNS/detected_vocab.npz" \
    --out "$RUNS/action" --epochs 40 --seed 0 --rate-augment 0.5 \
    --pose-noise training/action/pose_noise.json --pose-noise-fraction 0.5 --quiet
$PY -m pipan convert "$RUNS/action" -c "$RUNS/motions_vocab.npz" -o pipan/models/action.tflite
# Figures for pipan/models/MODEL_CARD.md: JHMDB-14 split 1's test clips (ground-truth
# joints, mapped), held-out synthetic and detected clips, the demo end to end, and UP-Fall
# through the whole pipeline with both pose backends (never trained on).
M=pipan/models/action.tflite
$PY -m training action evaluate --model $M --data "$RUNS/jhmdb14_vocab.npz" --json
$PY -m training action evaluate --model $M --data "$RUNS/motions_vocab.npz" --json
$PY -m training action evaluate --model $M --data "$RUNS/detected_vocab.npz" --json
$PY -m benchmarks.demo_e2e --smooth on off
$PY -m benchmarks.action_upfall
