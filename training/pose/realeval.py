"""The pose stage judged on real footage: the measures ``benchmarks/pose_real.py`` prints.

- ``keypoints_gt``: PCK@0.2 against human ground truth on real images from many datasets
  (``../shared/data/keypoints-gt``: COCO, OCHuman, CrowdPose, AIC, MHP, MPII, Human-Art's
  real humans), each file's joints matched to COCO-18 by name; the neck is left out (its
  definition differs between datasets) and so are joints COCO-18 lacks.
- ``against_teacher``: on real footage labelled by the teacher (a COCO file written by
  ``python -m training distill label``), the recall of the teacher's people (a teacher
  person counts as found when a predicted person gets half of its joints right at
  PCK@0.2) and PCK@0.2 of the people found.
- ``people_on_negatives``: people reported per frame, through the whole pipeline, on
  footage that shows nobody.
- ``upfall``: on fixed-camera room video with one person (UP-Fall), through the whole
  pipeline: the fraction of sampled frames where a reported person covers the reference
  person (a reference detection, BlazePose full, whose confident joints a reported person
  gets half right at PCK@0.2; and of those, the frames where it has the body too, half
  of the reference's hips and knees, ``body_found``), the other people reported in those
  frames, the track
  ids each clip opens, and the ids that cover the reference person in the sampled
  frames (the ids one real person gets; the ids opened also count other people, such as
  someone walking past behind the glass of UP-Fall's room, whom the reference leaves
  out); and, of the covered frames where the reference's shoulders are clearly apart
  (``SIDES_APART``), those where the covering person's right shoulder is on the same side
  as the reference's (``shoulders_agree``): left and right told apart; and how far
  apart the covering person's two hips, knees and ankles are against the reference's
  (``legs_apart``), and its shoulders, elbows and wrists (``arms_apart``): a net unsure of
  left and right can put both joints of a pair in one place between them, which PCK@0.2
  of a standing person barely notices.

Matching and PCK: ``training.pose.metrics``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from pipan.skeleton import JOINT_INDEX
from pipan.types import Person

from .coco import DataError
from .metrics import match, pck_counts, pck_hits

PathLike = Union[str, os.PathLike]
Predictor = Callable[[np.ndarray], List[Person]]
FOUND_FRACTION = 0.5  # of a reference person's joints right at PCK@0.2: that person is found
REFERENCE_MIN_SCORE = 0.5  # reference (teacher) joints below this confidence do not count
#: Shoulders this far apart, as a fraction of the neck-to-hips length, show which is which.
SIDES_APART = 0.3
_RSHO, _LSHO = JOINT_INDEX["right_shoulder"], JOINT_INDEX["left_shoulder"]
_HIPS = (JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"])

#: How other datasets name COCO-18's joints (lower case, '-' and ' ' as '_').
_NAME_ALIASES = {"r_shoulder": "right_shoulder", "l_shoulder": "left_shoulder"}
#: ``keypoints_gt`` files and which of their images are real photographs of people.
GT_FILES = (
    ("coco/test_coco.json", None), ("ochuman/test_ochuman.json", None),
    ("crowdpose/test_crowdpose.json", None), ("aic/test_aic.json", None),
    ("mhp/test_mhp.json", None), ("mpii/test_mpii_trb.json", None),
    ("humanart/test_humanart.json", "real_human"),
)


@dataclass
class GtImage:
    """One image with its people's ground truth in COCO-18 (neck and unknown joints 0)."""

    path: Path
    people: np.ndarray  # (N, 18, 3)
    dataset: str


def _coco18_index(names: Sequence[str]) -> np.ndarray:
    """For each source joint, its COCO-18 index or -1 (the neck is never used)."""
    out = []
    for n in names:
        key = n.strip().lower().replace("-", "_").replace(" ", "_")
        key = _NAME_ALIASES.get(key, key)
        out.append(JOINT_INDEX[key] if key in JOINT_INDEX and key != "neck" else -1)
    return np.array(out, np.int64)


def load_gt_file(path: PathLike, only: Optional[str] = None, dataset: str = "") -> List[GtImage]:
    """Images with people of one COCO-format file whose category names its joints;
    ``only``: keep images whose file name contains this text."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable JSON file ({e})") from None
    cats = {c["id"]: c for c in data.get("categories", [])}
    by_image: Dict[int, List[dict]] = {}
    for a in data.get("annotations", []):
        if a.get("iscrowd", 0) or "keypoints" not in a:
            continue
        by_image.setdefault(a["image_id"], []).append(a)
    out = []
    for im in data.get("images", []):
        if only and only not in im["file_name"]:
            continue
        people = []
        for a in by_image.get(im["id"], []):
            names = cats.get(a.get("category_id", 1), {}).get("keypoints")
            if not names:
                continue
            idx = _coco18_index(names)
            kp = np.asarray(a["keypoints"], np.float32).reshape(-1, 3)[:len(idx)]
            p = np.zeros((18, 3), np.float32)
            for j, k in enumerate(idx):
                if k >= 0 and kp[j, 2] > 0:
                    p[k] = (kp[j, 0], kp[j, 1], 1.0)
            if (p[:, 2] > 0).sum() >= 2:
                people.append(p)
        if not people:
            continue
        # some files name images under their dataset's own root (HumanArt/images/...)
        parts = Path(im["file_name"]).parts
        found = [path.parent.joinpath(*parts[k:]) for k in range(len(parts))]
        image = next((p for p in found if p.is_file()), None)
        if image is None:
            raise DataError(f"{path}: image {im['file_name']} not found beside it")
        out.append(GtImage(image, np.stack(people), dataset or path.parent.name))
    return out


def keypoints_gt(folder: PathLike) -> List[GtImage]:
    """Every real image of the ``keypoints-gt`` folder (``GT_FILES``)."""
    folder = Path(folder)
    out: List[GtImage] = []
    for rel, only in GT_FILES:
        out += load_gt_file(folder / rel, only, Path(rel).parent.name)
    return out


def pck_on_images(predict: Predictor, images: Iterable[GtImage], alpha: float = 0.2
                  ) -> Dict[str, float]:
    """PCK@alpha over all images (joints pooled) and per dataset."""
    per: Dict[str, List[int]] = {}
    for im in images:
        frame = cv2.imread(str(im.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise DataError(f"{im.path}: cannot read the image")
        c, t = pck_counts(im.people, predict(frame), alpha)
        acc = per.setdefault(im.dataset, [0, 0])
        acc[0] += c
        acc[1] += t
    c = sum(v[0] for v in per.values())
    t = sum(v[1] for v in per.values())
    out = {"pck": c / t if t else float("nan"), "joints": float(t)}
    out.update({f"pck_{k}": v[0] / v[1] for k, v in per.items() if v[1]})
    return out


def confident(reference: np.ndarray, min_score: float = REFERENCE_MIN_SCORE) -> np.ndarray:
    """Reference keypoints with joints under ``min_score`` dropped (score 0), scores 1."""
    ref = np.array(reference, np.float32)
    keep = ref[..., 2] >= min_score
    ref[..., 2] = keep.astype(np.float32)
    ref[~keep, :2] = 0.0
    return ref


def found_pairs(reference: np.ndarray, predicted: Sequence, alpha: float = 0.2
                ) -> Tuple[int, List[Tuple[int, int, int]], np.ndarray]:
    """(reference people kept, the (reference, predicted, correct joints) pairs of the
    people found, each kept reference person's counted joints) for one frame;
    ``reference`` (N, 18, 3) with confidences. A reference person is kept with at least
    four confident joints, found when a predicted person gets ``FOUND_FRACTION`` of them
    right at PCK@``alpha``."""
    ref = confident(np.asarray(reference, np.float32).reshape(-1, 18, 3))
    _, counted = pck_hits(ref, ref, alpha)
    n = counted.sum(-1)
    keep = n >= 4
    ref, n = ref[keep], n[keep]
    pairs = [p for p in match(ref, predicted, alpha) if p[2] >= FOUND_FRACTION * n[p[0]]]
    return len(ref), pairs, n


def pair_counts(kept: int, pairs: List[Tuple[int, int, int]], n: np.ndarray,
                predicted: int) -> Tuple[int, int, int, int, int]:
    """``found_pairs``' answer for ``predicted`` people as (reference people, found, their
    correct joints, their counted joints, predicted people matched to nobody)."""
    correct = sum(c for _, _, c in pairs)
    total = int(sum(n[i] for i, _, _ in pairs))
    return kept, len(pairs), correct, total, predicted - len({j for _, j, _ in pairs})


#: COCO-18 hips and knees: what shows the body was found, not only the head and shoulders
BODY_JOINTS = (JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"],
               JOINT_INDEX["right_knee"], JOINT_INDEX["left_knee"])


def body_found(reference: np.ndarray, predicted: np.ndarray, alpha: float = 0.2) -> bool:
    """Whether ``predicted`` (18, 3) gets at least half of the reference's confident hips
    and knees right at PCK@``alpha`` (the size being the reference's whole joint box, as
    ``found_pairs`` measures it); a reference showing fewer than two of them asks nothing
    more. The covered rule alone is met by the head and shoulders of a person lying along
    the picture, five face joints and two shoulders being half of what the reference
    gives of them (``benchmarks/pose_lying.py``)."""
    ref = confident(reference)
    hits, counted = pck_hits(np.asarray(predicted, np.float32)[None], ref[None], alpha)
    idx = list(BODY_JOINTS)
    n = int(counted[0, idx].sum())
    return n < 2 or 2 * int(hits[0, idx].sum()) >= n


def shoulders_agree(reference: np.ndarray, predicted: np.ndarray) -> Optional[bool]:
    """Whether ``predicted`` (18, 3) has its right shoulder on the same side (left or
    right of its left shoulder in the image) as ``reference``; None when either lacks a
    shoulder or the reference's shoulders are under ``SIDES_APART`` of its neck-to-hips
    length apart horizontally (a person seen from the side)."""
    ref = confident(reference)
    if ref[_RSHO, 2] <= 0 or ref[_LSHO, 2] <= 0 or predicted[_RSHO, 2] <= 0 \
            or predicted[_LSHO, 2] <= 0:
        return None
    neck = (ref[_RSHO, :2] + ref[_LSHO, :2]) / 2
    hips = [ref[j, :2] for j in _HIPS if ref[j, 2] > 0]
    if not hips:
        return None
    torso = float(np.linalg.norm(neck - np.mean(hips, axis=0)))
    dx = float(ref[_LSHO, 0] - ref[_RSHO, 0])
    if abs(dx) < SIDES_APART * torso:
        return None
    return (dx > 0) == (float(predicted[_LSHO, 0] - predicted[_RSHO, 0]) > 0)


#: COCO-18 (right, left) hips, knees and ankles
LEG_PAIRS = tuple((JOINT_INDEX[f"right_{j}"], JOINT_INDEX[f"left_{j}"])
                  for j in ("hip", "knee", "ankle"))
#: COCO-18 (right, left) shoulders, elbows and wrists
ARM_PAIRS = tuple((JOINT_INDEX[f"right_{j}"], JOINT_INDEX[f"left_{j}"])
                  for j in ("shoulder", "elbow", "wrist"))


def pairs_apart(reference: np.ndarray, predicted: np.ndarray,
                pairs: Sequence[Tuple[int, int]]) -> Optional[float]:
    """How far apart ``predicted`` (18, 3) has the two joints of each (right, left) pair
    of ``pairs`` against ``reference``: the sum of the right-left distances of the pairs
    both show whole, over the reference's (1: as far apart; 0: one joint for two); None
    when they share no such pair or the reference's pairs are under a pixel apart."""
    ref = confident(reference)
    pred = np.asarray(predicted, np.float32)
    mine = theirs = 0.0
    for r, l_ in pairs:
        if min(ref[r, 2], ref[l_, 2], pred[r, 2], pred[l_, 2]) > 0:
            mine += float(np.linalg.norm(pred[r, :2] - pred[l_, :2]))
            theirs += float(np.linalg.norm(ref[r, :2] - ref[l_, :2]))
    return mine / theirs if theirs >= 1.0 else None


def legs_apart(reference: np.ndarray, predicted: np.ndarray) -> Optional[float]:
    """``pairs_apart`` of the hips, knees and ankles."""
    return pairs_apart(reference, predicted, LEG_PAIRS)


def arms_apart(reference: np.ndarray, predicted: np.ndarray) -> Optional[float]:
    """``pairs_apart`` of the shoulders, elbows and wrists."""
    return pairs_apart(reference, predicted, ARM_PAIRS)


def found_people(reference: np.ndarray, predicted: Sequence, alpha: float = 0.2
                 ) -> Tuple[int, int, int, int, int]:
    """(reference people, found, their correct joints, their counted joints, predicted
    people matched to nobody) for one frame (``found_pairs``, ``pair_counts``)."""
    return pair_counts(*found_pairs(reference, predicted, alpha), len(predicted))


def against_teacher(predict: Predictor, coco_file: PathLike, alpha: float = 0.2
                    ) -> Dict[str, float]:
    """Recall of the teacher's people and PCK of those found, on every image of a
    teacher-labelled COCO file (``keypoint_scores`` as the teacher's confidences)."""
    from .coco import CocoPoseData
    data = CocoPoseData(coco_file, require_people=True)
    people = found = correct = total = extra = 0
    for item in data.items:
        r, f, c, t, x = found_people(item.people, predict(item.load_image()), alpha)
        people, found, correct, total, extra = (people + r, found + f, correct + c,
                                                total + t, extra + x)
    return {"images": float(len(data)), "people": float(people),
            "recall": found / people if people else float("nan"),
            "pck_found": correct / total if total else float("nan"),
            "others_per_image": extra / max(len(data), 1)}


# --- through the whole pipeline -------------------------------------------------------------

def open_footage(path: Path, fps: float = 15.0):
    """A FrameSource for a video file or a folder of frames (``fps`` for the folder)."""
    from pipan.video import ArraySource, VideoFileSource
    from training.distill.label import read_frames
    if path.is_dir():
        return ArraySource(list(read_frames(path)), fps=fps, name=path.name)
    return VideoFileSource(path)


def run_tracks(source, pipeline) -> List[List]:
    """Per frame, the tracks the pipeline reports (``pipan recognize --frames-json``'s
    people): a list of ``pipan.types.Track`` per frame."""
    with source:
        return [r.tracks for r in pipeline.run(source) if not r.final]


def people_on_negatives(make_pipeline: Callable[[float], object],
                        sources: Sequence[Path]) -> Dict[str, float]:
    """People reported per frame through the pipeline on footage showing nobody."""
    frames = people = 0
    for path in sources:
        src = open_footage(path)
        per = run_tracks(src, make_pipeline(src.info.fps))
        frames += len(per)
        people += sum(len(t) for t in per)
    return {"frames": float(frames), "people_per_frame": people / max(frames, 1)}


@dataclass
class UpfallResult:
    """One pose stage on UP-Fall clips (see the module docstring)."""

    sampled: int = 0  # frames where the reference sees the person
    covered: int = 0
    others: int = 0  # reported people not matching the reference person, in sampled frames
    correct: int = 0  # joints right of the covered frames' reference joints
    counted: int = 0
    ids: Dict[str, int] = field(default_factory=dict)  # clip -> track ids opened
    #: clip -> ids that covered the reference person in a sampled frame
    person_ids: Dict[str, int] = field(default_factory=dict)
    sides_judged: int = 0  # covered frames whose reference shows which shoulder is which
    sides_right: int = 0  # of those, the covering person's shoulders on the same sides
    #: covered frames where the covering person also has the body (``body_found``)
    covered_body: int = 0
    #: per covered frame, the covering person's ``legs_apart`` / ``arms_apart`` (where
    #: they say)
    legs: List[float] = field(default_factory=list)
    arms: List[float] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered / self.sampled if self.sampled else float("nan")

    @property
    def body_coverage(self) -> float:
        return self.covered_body / self.sampled if self.sampled else float("nan")

    @property
    def legs_apart(self) -> float:
        """The median of ``legs`` (NaN without any)."""
        return float(np.median(self.legs)) if self.legs else float("nan")

    @property
    def arms_apart(self) -> float:
        """The median of ``arms`` (NaN without any)."""
        return float(np.median(self.arms)) if self.arms else float("nan")


def upfall(make_pipeline: Callable[[float], object], clips: Sequence[Path],
           reference: Callable[[Path, int, np.ndarray], np.ndarray],
           sample_every_s: float = 1.0) -> UpfallResult:
    """Run each clip through a fresh pipeline; on one frame per ``sample_every_s`` compare
    the reported people with ``reference(clip, frame index, image) -> (N, 18, 3)``."""
    from pipan.video import VideoFileSource
    res = UpfallResult()
    for clip in clips:
        src = VideoFileSource(clip)
        step = max(1, int(round(sample_every_s * src.info.fps)))
        pipe = make_pipeline(src.info.fps)
        ids, on_person = set(), set()
        with src:
            for result in pipe.run(src):
                if result.final:
                    break
                tracks = result.tracks
                ids.update(t.id for t in tracks)
                if result.index % step:
                    continue
                ref = reference(clip, result.index, result.image)
                if not len(ref):
                    continue
                kept, pairs, n = found_pairs(ref[:1], [t.person for t in tracks])
                if not kept:
                    continue
                _, f, c, t, x = pair_counts(kept, pairs, n, len(tracks))
                res.sampled += 1
                res.covered += f
                res.correct += c
                res.counted += t
                res.others += x
                on_person.update(tracks[j].id for _, j, _ in pairs)
                for _, j, _ in pairs:
                    kp = np.asarray(getattr(tracks[j].person, "keypoints", tracks[j].person))
                    res.covered_body += body_found(ref[0], kp)
                    apart = legs_apart(ref[0], kp)
                    if apart is not None:
                        res.legs.append(apart)
                    apart = arms_apart(ref[0], kp)
                    if apart is not None:
                        res.arms.append(apart)
                    agree = shoulders_agree(ref[0], kp)
                    if agree is not None:
                        res.sides_judged += 1
                        res.sides_right += agree
        res.ids[clip.name] = len(ids)
        res.person_ids[clip.name] = len(on_person)
    return res


class ReferenceCache:
    """Reference people per (clip, frame), computed once by ``estimate`` and kept in an
    ``.npz`` (plain arrays, no pickle) so that every pose stage is judged on the same
    references without running the reference again."""

    def __init__(self, path: PathLike, estimate: Callable[[np.ndarray], List[Person]]):
        self.path = Path(path)
        self.estimate = estimate
        self.table: Dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as z:
                self.table = {k: z[k] for k in z.files}
        self.dirty = False

    def __call__(self, clip: Path, index: int, image: np.ndarray) -> np.ndarray:
        key = f"{clip.name}:{index}"
        if key not in self.table:
            people = self.estimate(image)
            self.table[key] = (np.stack([p.keypoints for p in people]) if people
                               else np.zeros((0, 18, 3), np.float32))
            self.dirty = True
        return self.table[key]

    def save(self) -> None:
        if not self.dirty:
            return
        from pipan.fileio import atomic_write, write_npz
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, lambda f: write_npz(f, self.table))
        self.dirty = False


