"""Pose net evaluation: PCK@0.2 and COCO keypoint AP (pycocotools' COCOeval).

PCK@alpha and the matching of predicted to ground-truth people: ``training.pose.metrics``
(the JHMDB normaliser, alpha x the longer side of the ground-truth person's joint box). AP is COCO's OKS AP over the predictions converted back to COCO-17 (the
neck dropped), computed by pycocotools for each COCO JSON source.

Sources: COCO keypoints JSON files/folders (``training.pose.coco``) or a JHMDB-style clip
folder (``frames/*.png`` + ``pos_img.npy`` (T, 15, 2) pixels; PCK only, on the joints
COCO-18 and JHMDB-15 share).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Union

import cv2
import numpy as np

from pipan.skeleton import COCO17, JHMDB15, JOINT_INDEX, to_coco18
from pipan.types import Person

from .coco import CocoPoseData, DataError
from .metrics import pck_counts

PathLike = Union[str, os.PathLike]
Predictor = Callable[[np.ndarray], List[Person]]
COCO17_FROM_18 = np.array([JOINT_INDEX[n] for n in COCO17])


def load_predictor(model: PathLike, threads: int | None = None) -> Predictor:
    """frame_bgr -> people for a trained model directory (Keras) or a ``.tflite`` file."""
    model = Path(model)
    if model.is_dir():
        from pipan.decode import decode
        from pipan.image import letterbox, to_net_input
        from pipan.pose import to_frame

        from .export import inference_model
        net = inference_model(model)

        def run(frame: np.ndarray) -> List[Person]:
            rgb, lb = letterbox(frame)
            out = net(to_net_input(rgb)[None], training=False)
            return to_frame(decode(np.asarray(out["heatmaps"]), np.asarray(out["pafs"])), lb)
        return run
    if model.suffix == ".tflite":
        from pipan.pose import PoseEstimator
        return PoseEstimator(model, threads=threads).estimate
    raise DataError(f"{model}: give a trained model directory or a .tflite file")


def coco_results(image_id: int, people: List[Person]) -> List[dict]:
    """Predictions in COCO's keypoint results format (COCO-17 order)."""
    res = []
    for p in people:
        kp = p.keypoints[COCO17_FROM_18]
        flat = np.concatenate([kp[:, :2], (kp[:, 2:] > 0).astype(np.float32)], 1)
        res.append({"image_id": int(image_id), "category_id": 1,
                    "keypoints": [round(float(v), 2) for v in flat.reshape(-1)],
                    "score": float(p.score)})
    return res


def coco_ap(json_path: Path, results: List[dict], image_ids: Sequence[int]) -> Dict:
    """pycocotools' keypoint AP of ``results`` on the images ``image_ids`` of a GT file."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(json_path))
        if not results:
            return {"AP": 0.0, "AP50": 0.0, "AR": 0.0}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.imgIds = sorted(int(i) for i in image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    s = ev.stats
    return {"AP": round(float(s[0]), 4), "AP50": round(float(s[1]), 4),
            "AR": round(float(s[5]), 4)}


def evaluate_coco(predict: Predictor, source: PathLike, alpha: float = 0.2) -> Dict:
    """PCK and AP of a predictor on one COCO keypoints source."""
    data = CocoPoseData(source)
    correct = total = 0
    results: Dict[int, List[dict]] = {}
    for item in data.items:
        people = predict(item.load_image())
        c, t = pck_counts(item.people, people, alpha)
        correct, total = correct + c, total + t
        results.setdefault(item.source, []).extend(coco_results(item.image_id, people))
    aps = {}
    for n, jf in enumerate(data.json_files):
        ids = [it.image_id for it in data.items if it.source == n]
        aps[str(jf)] = coco_ap(jf, results.get(n, []), ids)
    mean_ap = float(np.mean([a["AP"] for a in aps.values()]))
    return {"source": str(source), "images": len(data), "pck": round(correct / max(total, 1), 4),
            "joints": total, "ap": round(mean_ap, 4), "ap_per_file": aps}


def evaluate_clip(predict: Predictor, folder: PathLike, alpha: float = 0.2) -> Dict:
    """PCK on a JHMDB-style clip (frames/*.png, pos_img.npy) over the shared joints."""
    folder = Path(folder)
    gt = np.load(folder / "pos_img.npy", allow_pickle=False)  # (T, 15, 2) pixels
    frames = sorted((folder / "frames").glob("*.png"))
    if len(frames) != len(gt):
        raise DataError(f"{folder}: {len(frames)} frames but {len(gt)} ground-truth poses")
    truth = to_coco18(gt, JHMDB15)  # (T, 18, 3), joints JHMDB lacks get score 0
    shared = truth[0, :, 2] > 0
    correct = total = 0
    for f, t in zip(frames, truth):
        people = predict(cv2.imread(str(f), cv2.IMREAD_COLOR))
        c, n = pck_counts(t[None], people, alpha, joints=shared)
        correct, total = correct + c, total + n
    return {"source": str(folder), "images": len(frames), "pck": round(correct / max(total, 1), 4),
            "joints": total, "pck_joints": [n for n, s in zip(
                [k for k in JOINT_INDEX], shared) if s],
            "pck_normaliser": f"{alpha} x max side of the GT joints' box"}


def evaluate(model: PathLike, sources: Sequence[PathLike], alpha: float = 0.2,
             threads: int | None = None) -> List[Dict]:
    """Evaluate a model on each source; one result dict per source."""
    predict = load_predictor(model, threads)
    out = []
    for s in sources:
        s = Path(s)
        if s.is_dir() and (s / "pos_img.npy").is_file():
            out.append(evaluate_clip(predict, s, alpha))
        else:
            out.append(evaluate_coco(predict, s, alpha))
    return out
