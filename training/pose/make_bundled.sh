#!/usr/bin/env bash
# Rebuild the bundled pose model pipan/models/pose.tflite from nothing but this checkout:
# stage 1: synthetic frames -> training -> int8 conversion (runs/pose-synth.tflite, the model
# bundled before issue 8) -> evaluation; stage 2: BlazePose teacher labels of 4 real videos
# in ../shared -> fine-tuning stage 1's net on them mixed with the synthetic frames -> int8
# conversion (pipan/models/pose.tflite) -> evaluation. Run from the repository root with
# ../shared present (or SHARED=...); about 40 + 25 minutes on 2 busy CPU cores. Seeds fix
# the data and the initial weights.
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
    --out "$RUNS/pose-synth.tflite" --samples 300 --seed 0 --io int8
# Figures for pipan/models/MODEL_CARD.md (../shared holds the real data):
$PY -m training pose evaluate --model "$RUNS/pose-synth.tflite" --data "$RUNS/synth-heldout" \
    --data ../shared/data/jhmdb-clip --data ../shared/data/coco-mini

# --- Stage 2: fine-tune on BlazePose teacher labels of real video + the synthetic frames ---
# ../shared/data/videos holds 5 real videos. taichi is held out (student-vs-teacher
# agreement); the JHMDB clip (real ground truth) is in none of them.
SHARED=${SHARED:-../shared}
mkdir -p "$RUNS/videos-train" "$RUNS/videos-heldout"
for v in armwrestling_340x256.mp4 clean_and_jerk_340x256.mp4 hug_1920x1080.mp4 \
         makeup_320x240.avi; do
    ln -sfn "$(readlink -f "$SHARED/data/videos/$v")" "$RUNS/videos-train/$v"
done
ln -sfn "$(readlink -f "$SHARED/data/videos/taichi_340x256.mp4")" "$RUNS/videos-heldout/"
$PY -m training distill label --videos "$RUNS/videos-train" --out "$RUNS/teacher" --every 2 \
    --workers 2 --model-dir "$SHARED/models/blazepose"
$PY -m training distill label --videos "$RUNS/videos-heldout" --out "$RUNS/teacher-heldout" \
    --every 2 --workers 1 --model-dir "$SHARED/models/blazepose"
# Teacher labels given 5 times: 291 real images with people x 5 against 3,000 synthetic
# ones, so about a third of each batch is real (the loader draws images uniformly).
T="$RUNS/teacher/annotations.json"
nice -n 10 $PY -m training pose train --data "$RUNS/synth-train" --data "$T" --data "$T" \
    --data "$T" --data "$T" --data "$T" \
    --val "$RUNS/synth-heldout" --val "$RUNS/teacher-heldout/annotations.json" \
    --out "$RUNS/pose-distill" --init "$RUNS/pose-bundled" \
    --epochs 10 --steps 150 --batch 6 --lr 1e-3 --seed 0 \
    --stages 1 --stage-width 64 --stage-depth 3 --sigma 1.5 --limb-width 1.5 \
    --rotate 15 --zoom 0.2 --shift 0.1 \
    --backbone-widths 24,32,32,64,64,96,96,128,128,192,384
# Calibration: all teacher-labelled real images + the first 600 synthetic ones, one COCO file.
$PY - "$RUNS" <<'PYEOF'
import json, os, sys
runs = sys.argv[1]
mix = os.path.join(runs, "calib-mix")
os.makedirs(mix, exist_ok=True)
out = {"images": [], "annotations": [], "categories": None}
for sub, src, limit in (("synth", "synth-train", 600), ("teacher", "teacher", None)):
    link = os.path.join(mix, sub)
    if not os.path.islink(link):
        os.symlink(os.path.join("..", src), link)
    coco = json.load(open(os.path.join(runs, src, "annotations.json")))
    out["categories"] = out["categories"] or coco["categories"]
    base = os.path.join(runs, src)
    images = sorted(coco["images"], key=lambda im: im["file_name"])[:limit]
    new_id = {}
    for im in images:
        new_id[im["id"]] = len(out["images"]) + 1
        name = im["file_name"]
        if not os.path.isfile(os.path.join(base, name)):
            name = os.path.join("images", name)
        out["images"].append(dict(im, id=new_id[im["id"]], file_name=f"{sub}/{name}"))
    for a in coco["annotations"]:
        if a["image_id"] in new_id:
            out["annotations"].append(dict(a, id=len(out["annotations"]) + 1,
                                           image_id=new_id[a["image_id"]]))
json.dump(out, open(os.path.join(mix, "annotations.json"), "w"))
PYEOF
$PY -m pipan convert "$RUNS/pose-distill" --calibration "$RUNS/calib-mix" \
    --out pipan/models/pose.tflite --samples 300 --seed 0 --io int8
# Figures for pipan/models/MODEL_CARD.md and docs/teacher.md:
$PY -m training pose evaluate --model pipan/models/pose.tflite --data "$RUNS/synth-heldout" \
    --data "$SHARED/data/jhmdb-clip" --data "$SHARED/data/coco-mini"
$PY benchmarks/teacher_pck.py --model-dir "$SHARED/models/blazepose" \
    --student pipan/models/pose.tflite --videos "$SHARED/data/videos/taichi_340x256.mp4"
