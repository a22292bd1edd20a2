"""Label real video with the BlazePose teacher, in the COCO keypoint format.

``label_videos(videos_dir, out_dir)`` labels every k-th frame of every video (and of every
folder of frames, e.g. a DAVIS sequence of ``NNNNN.jpg``) under ``videos_dir`` and writes::

    OUT/images/<video key>_<frame:06d>.jpg   the labelled frames (JPEG)
    OUT/parts/<video key>.json               one finished video (the resume marker)
    OUT/annotations.json                     everything, COCO keypoints (written last)

``annotations.json`` is standard COCO (``images``, ``annotations``, ``categories``) with
17 COCO keypoints per person as x, y, v (v = 2 confident, 1 low confidence, 0 absent; an
absent joint has x = y = 0) plus, per annotation, ``keypoint_scores``: the teacher's 17
confidences in [0, 1] (visibility x presence), for confidence-weighted training targets.
``file_name`` is relative to ``OUT/images``. Frames where the teacher finds nobody are
listed with no annotation (background). Each image also records its ``video`` and
``frame_index``. With ``no_people`` (footage known to show nobody) the teacher is not run:
every frame is stored as a negative, with no annotation, and ``negative: true``.

Resuming: a video whose part file exists and was made with the same options from the same
file (size and modification time) is not labelled again; interrupting loses at most the
videos in progress. Parallel: one process per worker, over videos.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np

from pipan.errors import PipanError, VideoError
from pipan.fileio import atomic_write_bytes, atomic_write_text, file_sha256
from pipan.skeleton import COCO17, JOINT_INDEX

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
ANNOTATIONS = "annotations.json"
#: COCO's keypoint skeleton (1-based joint numbers), for viewers.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
                 [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                 [4, 6], [5, 7]]
_COCO17_FROM_18 = np.array([JOINT_INDEX[name] for name in COCO17])


@dataclass(frozen=True)
class LabelOptions:
    """How frames are chosen, labelled and stored.

    ``every``: label frames 0, k, 2k, ... ``max_side``: saved images are shrunk so their
    longer side is at most this many pixels (0 = keep; the teacher always sees the full
    frame). ``visible`` / ``low``: keypoint confidence for v = 2 / v = 1. ``min_keypoints``:
    people with fewer keypoints of v > 0 are left out. ``passes``: landmark runs per
    person (``BlazePoseEstimator``'s; 2 is more accurate than the runtime's 1).
    ``track``: also look for the previous labelled frame's people where they were (finds
    people the detector misses, but also keeps the teacher's mistakes alive: on the five
    real videos it added a second person in 11 more hug frames and 58 more frames of
    wrong poses in the arm-wrestling close-up; off by default).
    ``landmark``: the teacher's landmark model, "heavy", "full" or "auto" (heavy where its
    file is present, else full). ``no_people``: the footage shows nobody; every frame is a
    negative and the teacher is not run.
    """

    every: int = 2
    max_side: int = 640
    visible: float = 0.5
    low: float = 0.2
    min_keypoints: int = 3
    jpeg_quality: int = 92
    max_people: int = 4
    min_score: float = 0.5
    passes: int = 2
    track: bool = False
    landmark: str = "auto"
    no_people: bool = False
    model_dir: Optional[str] = None

    def signature(self) -> Dict:
        """What a part file must have been made with to be reused (not where models are)."""
        d = asdict(self)
        d.pop("model_dir")
        return d


@dataclass
class LabelSummary:
    """What ``label_videos`` did."""

    path: Path
    videos: int
    labelled: int  # videos labelled now (the others were resumed)
    images: int
    annotations: int
    seconds: float
    skipped: List[str] = field(default_factory=list)  # videos that could not be read


def _is_frame_file(p: Path) -> bool:
    # DAVIS keeps each frame's object mask beside it as NNNNN.mask.png: not a frame
    return p.suffix.lower() in FRAME_EXTENSIONS and not p.name.lower().endswith(".mask.png")


def frame_files(folder: Path) -> List[Path]:
    """The frames of a folder of frames, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and _is_frame_file(p))


def find_videos(folder: os.PathLike) -> List[Path]:
    """Video files and folders of frames under ``folder`` (recursively), sorted. A folder
    counts as one video when it directly holds image files (``FRAME_EXTENSIONS``)."""
    root = Path(folder)
    if not root.is_dir():
        raise PipanError(f"{root}: not a folder of videos")
    found = []
    for p in [root, *root.rglob("*")]:
        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
            found.append(p)
        elif p.is_dir() and any(_is_frame_file(c) for c in p.iterdir() if c.is_file()):
            found.append(p)
    return sorted(found)


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """The BGR frames of a video file or a folder of frames; an undecodable image in a
    folder is a VideoError naming it."""
    if path.is_dir():
        for f in frame_files(path):
            frame = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if frame is None:
                raise VideoError(f"{f}: cannot read the image")
            yield frame
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open the video")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def video_key(path: Path, root: Path) -> str:
    """A file-name-safe unique name for a video: its path under ``root``, with the
    extension, separators and odd characters turned into underscores."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    return "".join(c if c.isalnum() or c in "-" else "_" for c in rel)


def coco_keypoints(kp18: np.ndarray, width: int, height: int,
                   options: LabelOptions) -> Optional[Dict]:
    """One person's COCO annotation (without ids) from COCO-18 ``(18, 3)`` keypoints in
    the saved image's pixels; None if fewer than ``options.min_keypoints`` are usable."""
    kp = np.asarray(kp18, np.float32)[_COCO17_FROM_18]
    scores = kp[:, 2].copy()
    inside = (kp[:, 0] >= 0) & (kp[:, 0] <= width) & (kp[:, 1] >= 0) & (kp[:, 1] <= height)
    scores[~inside] = 0.0
    v = np.where(scores >= options.visible, 2, np.where(scores >= options.low, 1, 0))
    xy = np.where((v > 0)[:, None], kp[:, :2], 0.0)
    n = int((v > 0).sum())
    if n < options.min_keypoints:
        return None
    used = xy[v > 0]
    x0, y0 = used.min(0)
    x1, y1 = used.max(0)
    # The joints' box, 10% bigger on every side (heads and feet reach past their joints).
    pad_x, pad_y = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    x0, y0 = max(0.0, x0 - pad_x), max(0.0, y0 - pad_y)
    x1, y1 = min(float(width), x1 + pad_x), min(float(height), y1 + pad_y)
    flat = np.stack([xy[:, 0], xy[:, 1], v.astype(np.float32)], 1).reshape(-1)
    return {
        "category_id": 1,
        "keypoints": [round(float(a), 2) if i % 3 < 2 else int(a) for i, a in enumerate(flat)],
        "keypoint_scores": [round(float(s), 4) for s in scores],
        "num_keypoints": n,
        "bbox": [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2),
                 round(float(y1 - y0), 2)],
        "area": round(float((x1 - x0) * (y1 - y0)), 2),
        "iscrowd": 0,
    }


def _source_stamp(path: Path) -> Dict:
    if path.is_dir():
        files = frame_files(path)
        return {"frames": len(files), "size": sum(f.stat().st_size for f in files),
                "mtime_ns": max((f.stat().st_mtime_ns for f in files), default=0)}
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def frame_count(path: Path) -> int:
    """The container's frame count (an estimate for some formats; 0 if unknown)."""
    if path.is_dir():
        return len(frame_files(path))
    cap = cv2.VideoCapture(str(path))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if cap.isOpened() else 0
    finally:
        cap.release()


def label_video(path: Path, key: str, out_dir: Path, options: LabelOptions, estimator,
                progress: Optional[Callable[[int], None]] = None) -> Dict:
    """Label one video: write its frames' JPEGs and return its part (images and
    annotations without ids). ``estimator.estimate(frame_bgr) -> list[Person]``."""
    if hasattr(estimator, "reset"):
        estimator.reset()  # a tracking teacher must not carry people over from another video
    images, annotations = [], []
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    # a folder of frames may hold each frame's person mask beside it (DAVIS: NNNNN.mask.png)
    masks = [f.with_suffix(".mask.png") for f in frame_files(path)] if path.is_dir() else []
    index = -1
    for index, frame in enumerate(read_frames(path)):
        if index % options.every:
            continue
        H, W = frame.shape[:2]
        people = [] if options.no_people else estimator.estimate(frame)
        scale = 1.0
        if options.max_side and max(H, W) > options.max_side:
            scale = options.max_side / max(H, W)
            frame = cv2.resize(frame, (round(W * scale), round(H * scale)),
                               interpolation=cv2.INTER_AREA)
        h, w = frame.shape[:2]
        name = f"{key}_{index:06d}.jpg"
        ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, options.jpeg_quality])
        if not ok:
            raise VideoError(f"{path}: frame {index} cannot be encoded as JPEG")
        atomic_write_bytes(image_dir / name, jpg.tobytes())
        local = len(images)
        image = {"file_name": name, "width": w, "height": h, "video": path.name,
                 "frame_index": index}
        if options.no_people:
            image["negative"] = True
        if index < len(masks) and masks[index].is_file():
            mask = cv2.imread(str(masks[index]), cv2.IMREAD_GRAYSCALE)
            if mask is not None:
                mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
                ok, png = cv2.imencode(".png", ((mask > 127) * 255).astype(np.uint8))
                if ok:
                    image["mask"] = name[:-4] + ".mask.png"
                    atomic_write_bytes(image_dir / image["mask"], png.tobytes())
        images.append(image)
        for person in people:
            kp = person.keypoints.copy()
            kp[:, :2] *= scale
            ann = coco_keypoints(kp, w, h, options)
            if ann is not None:
                ann["image"] = local
                ann["score"] = round(float(person.score), 4)
                annotations.append(ann)
        if progress is not None:
            progress(1)
    index += 1
    if index == 0:
        raise VideoError(f"{path}: no frame could be decoded")
    return {"video": str(path), "key": key, "frames": index, "images": images,
            "annotations": annotations}


# --- the whole folder, resumably and in parallel -------------------------------------------

_WORKER: Dict = {}


def teacher_landmark(options: LabelOptions) -> str:
    """The landmark variant the teacher runs: ``options.landmark``, with "auto" = "heavy"
    where its file is present, else "full"."""
    if options.landmark != "auto":
        return options.landmark
    from pipan.blazepose import BlazePoseNotFoundError, find_model_files
    try:
        find_model_files(options.model_dir, "heavy")
        return "heavy"
    except BlazePoseNotFoundError:
        return "full"


def _worker_init(model_dir: Optional[str], options: LabelOptions, queue=None) -> None:
    from pipan.blazepose import BlazePoseEstimator
    _WORKER["estimator"] = None if options.no_people else BlazePoseEstimator(
        model_dir, threads=1, max_people=options.max_people, min_score=options.min_score,
        passes=options.passes, track=options.track, landmark=options.landmark)
    _WORKER["queue"] = queue


def _part_path(out_dir: Path, key: str) -> Path:
    return out_dir / "parts" / f"{key}.json"


def _label_and_save(path: Path, key: str, out_dir: Path, options: LabelOptions,
                    stamp: Dict) -> str:
    """Worker task: label one video and write its part file atomically; '' or an error."""
    queue = _WORKER.get("queue")
    progress = (lambda n: queue.put(n)) if queue is not None else _WORKER.get("progress")
    try:
        part = label_video(path, key, out_dir, options, _WORKER["estimator"], progress)
    except VideoError as e:
        return str(e)
    part["options"] = options.signature()
    part["source"] = stamp
    atomic_write_text(_part_path(out_dir, key), json.dumps(part))
    return ""


def _load_part(out_dir: Path, key: str, options: LabelOptions, stamp: Dict) -> Optional[Dict]:
    p = _part_path(out_dir, key)
    try:
        part = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if part.get("options") != options.signature() or part.get("source") != stamp:
        return None
    if not all((out_dir / "images" / im["file_name"]).is_file() for im in part["images"]):
        return None
    return part


def merge_parts(parts: Sequence[Dict], info: Dict) -> Dict:
    """COCO keypoint dataset from per-video parts (in the given order): ids from 1."""
    images, annotations = [], []
    for part in parts:
        first = len(images) + 1
        for i, im in enumerate(part["images"]):
            images.append({"id": first + i, **im})
        for ann in part["annotations"]:
            a = {k: v for k, v in ann.items() if k != "image"}
            annotations.append({"id": len(annotations) + 1, "image_id": first + ann["image"],
                                **a})
    return {
        "info": info,
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person",
                        "keypoints": list(COCO17), "skeleton": COCO_SKELETON}],
    }


def label_videos(videos_dir: os.PathLike, out_dir: os.PathLike,
                 options: LabelOptions = LabelOptions(), workers: int = 1,
                 show_progress: bool = True, command: str = "") -> LabelSummary:
    """Label every ``options.every``-th frame of every video under ``videos_dir`` into
    ``out_dir`` (see the module docstring); resumes finished videos; ``workers``
    processes label videos in parallel."""
    start = time.perf_counter()
    if options.every < 1:
        raise PipanError(f"--every must be at least 1, got {options.every}")
    if workers < 1:
        raise PipanError(f"--workers must be at least 1, got {workers}")
    root, out = Path(videos_dir), Path(out_dir)
    videos = find_videos(root)
    if not options.no_people:
        options = replace(options, landmark=teacher_landmark(options))
    if not videos:
        raise PipanError(f"{root}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
    from pipan.blazepose import find_model_files
    det = lmk = None
    model_dir = options.model_dir
    if not options.no_people:  # fail now, not in every worker
        det, lmk = find_model_files(options.model_dir, options.landmark)
        model_dir = str(det.parent) if det.parent == lmk.parent else options.model_dir
    keys = [video_key(v, root) for v in videos]
    if len(set(keys)) != len(keys):
        raise PipanError(f"{root}: two videos map to the same name; rename one")
    stamps = [_source_stamp(v) for v in videos]
    todo = [i for i in range(len(videos))
            if _load_part(out, keys[i], options, stamps[i]) is None]
    total = sum(math.ceil(frame_count(videos[i]) / options.every) for i in todo)
    errors: List[str] = []
    bar = _progress_bar(total, show_progress)
    try:
        if todo and workers == 1:
            _worker_init(model_dir, options)
            _WORKER["progress"] = bar.update
            for i in todo:
                err = _label_and_save(videos[i], keys[i], out, options, stamps[i])
                if err:
                    errors.append(err)
        elif todo:
            errors = _label_parallel(videos, keys, stamps, todo, out, options, model_dir,
                                     workers, bar)
    finally:
        bar.close()
        _WORKER.clear()
    parts = []
    for i in range(len(videos)):
        part = _load_part(out, keys[i], options, stamps[i])
        if part is not None:
            parts.append(part)
    info = {
        "description": "BlazePose teacher labels (pipan distill label)",
        "teacher": ("none: footage without people, every frame a negative"
                    if options.no_people else
                    f"BlazePose pose_detection + {lmk.stem} (mediapipe)"),
        "teacher_sha256": {} if options.no_people else
        {p.name: file_sha256(p) for p in (det, lmk)},
        "options": options.signature(),
        "command": command,
        "keypoint_scores": "teacher confidence per keypoint: visibility x presence",
    }
    coco = merge_parts(parts, info)
    atomic_write_text(out / ANNOTATIONS, json.dumps(coco, indent=None))
    return LabelSummary(out / ANNOTATIONS, len(videos), len(todo) - len(errors),
                        len(coco["images"]), len(coco["annotations"]),
                        time.perf_counter() - start, errors)


def _label_parallel(videos, keys, stamps, todo, out, options, model_dir, workers, bar):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, wait, FIRST_COMPLETED
    from queue import Empty
    ctx = mp.get_context("spawn")  # no forked interpreter state (LiteRT, OpenCV threads)
    with ctx.Manager() as manager:
        queue = manager.Queue()
        errors: List[str] = []
        # Longest videos first, so the pool does not end waiting on one big file.
        order = sorted(todo, key=lambda i: -videos[i].stat().st_size)
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx,
                                 initializer=_worker_init,
                                 initargs=(model_dir, options, queue)) as pool:
            pending = {pool.submit(_label_and_save, videos[i], keys[i], out, options,
                                   stamps[i]) for i in order}
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, bar, Empty)
                for f in done:
                    err = f.result()
                    if err:
                        errors.append(err)
        _drain(queue, bar, Empty)
    return errors


def _drain(queue, bar, Empty) -> None:
    while True:
        try:
            bar.update(queue.get_nowait())
        except Empty:
            return


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool):
    if not show:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="frame", desc="labelling", dynamic_ncols=True)
