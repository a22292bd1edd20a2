"""Stand-ins for the pose estimator and the action recognizer (same interfaces as
docs/design.md's runtime API) and a scripted synthetic scene, so the pipeline, tracker,
segments and CLI are tested without trained models.

The scene: people are upright stick figures; each person is a list of phases (frames,
action, velocity). "walk" moves the figure, "wave" raises its right wrist above the head,
"stand" keeps still. The fake recognizer reads those cues back from the keypoints alone
(speed of the body, wrist height), so what it outputs depends only on what it is shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipan.skeleton import JOINT_INDEX
from pipan.types import Person, PoseEstimatorBase, PoseOutput

# An upright figure 100 px tall, centred on (0, 0): (x, y) per COCO-18 joint.
_TEMPLATE = {
    "nose": (0, -45), "neck": (0, -30),
    "right_shoulder": (-12, -30), "right_elbow": (-16, -12), "right_wrist": (-18, 4),
    "left_shoulder": (12, -30), "left_elbow": (16, -12), "left_wrist": (18, 4),
    "right_hip": (-8, 5), "right_knee": (-9, 28), "right_ankle": (-10, 50),
    "left_hip": (8, 5), "left_knee": (9, 28), "left_ankle": (10, 50),
    "right_eye": (-3, -48), "left_eye": (3, -48), "right_ear": (-6, -46),
    "left_ear": (6, -46),
}
TEMPLATE = np.zeros((18, 3), np.float32)
for _name, (_x, _y) in _TEMPLATE.items():
    TEMPLATE[JOINT_INDEX[_name]] = (_x, _y, 0.9)

LABELS = ("stand", "walk", "wave")


def figure(cx: float, cy: float, action: str = "stand", scale: float = 1.0) -> np.ndarray:
    """(18, 3) keypoints of a figure centred at (cx, cy) pixels doing ``action``."""
    kp = TEMPLATE.copy()
    kp[:, :2] *= scale
    if action == "wave":
        kp[JOINT_INDEX["right_elbow"], :2] = (-20 * scale, -50 * scale)
        kp[JOINT_INDEX["right_wrist"], :2] = (-22 * scale, -70 * scale)
    kp[:, 0] += cx
    kp[:, 1] += cy
    return kp


@dataclass
class Actor:
    """A scripted person: appears at frame ``enter`` at ``start`` (x, y) and plays
    ``phases`` of (frames, action, (vx, vy) px/frame) in turn, then leaves."""

    enter: int
    start: Tuple[float, float]
    phases: Sequence[Tuple[int, str, Tuple[float, float]]]
    scale: float = 1.0

    @property
    def leave(self) -> int:
        return self.enter + sum(n for n, _, _ in self.phases)

    def at(self, frame: int) -> Optional[Tuple[np.ndarray, str]]:
        """Keypoints and the action at ``frame``, or None when absent."""
        if not self.enter <= frame < self.leave:
            return None
        x, y = self.start
        f = frame - self.enter
        for n, action, (vx, vy) in self.phases:
            if f < n:
                return figure(x + vx * f, y + vy * f, action, self.scale), action
            x, y, f = x + vx * n, y + vy * n, f - n
        raise AssertionError("unreachable")

    def truth(self, fps: float) -> List[Tuple[float, float, str]]:
        """Ground-truth (start s, end s, action) spans."""
        out, t = [], self.enter
        for n, action, _ in self.phases:
            out.append((t / fps, (t + n) / fps, action))
            t += n
        return out


@dataclass
class Scene:
    actors: Sequence[Actor]
    width: int = 320
    height: int = 240

    def people(self, frame: int) -> List[Person]:
        out = []
        for a in self.actors:
            r = a.at(frame)
            if r is not None:
                out.append(Person(keypoints=r[0], score=0.9))
        return out

    @property
    def length(self) -> int:
        return max(a.leave for a in self.actors)


class FakePose(PoseEstimatorBase):
    """Pose estimator stand-in: returns the scene's people for the n-th call (frames are
    ignored), or for the frame index written in the image's first pixels when
    ``index_from_image``. ``split``: the (net, maps) seconds it reports, as the real
    estimator reports its own (default: none, the whole call is the net's). It reports the
    scene's people in frame pixels whatever image it is given, so the pipeline gives it
    whole frames."""

    whole_frames = True

    def __init__(self, scene: Scene, index_from_image: bool = False, fail_at: int = -1,
                 fail_with: BaseException = KeyboardInterrupt(),
                 split: Tuple[float, float] = (0.0, 0.0)):
        self.scene = scene
        self.calls = 0
        self.index_from_image = index_from_image
        self.fail_at = fail_at
        self.fail_with = fail_with
        self.split = split

    def estimate_timed(self, frame_bgr: np.ndarray) -> PoseOutput:
        n = decode_index(frame_bgr) if self.index_from_image else self.calls
        self.calls += 1
        if self.calls - 1 == self.fail_at:
            raise self.fail_with
        return PoseOutput(self.scene.people(n), *self.split)


class FakeAction:
    """Action recognizer stand-in with per-track state (the previous keypoints), reading
    the scene's cues: a raised wrist = wave, body speed > 0.5 px/frame = walk, else stand."""

    labels = LABELS

    def __init__(self):
        self.state: Dict[int, np.ndarray] = {}
        self.forgotten: List[int] = []

    def update(self, track_id: int, keypoints: np.ndarray, time=None) -> np.ndarray:
        kp = np.asarray(keypoints, np.float32)
        prev = self.state.get(track_id)
        self.state[track_id] = kp
        p = np.full(3, 0.05, np.float32)
        wrist, nose = kp[JOINT_INDEX["right_wrist"], 1], kp[JOINT_INDEX["nose"], 1]
        speed = 0.0 if prev is None else float(np.abs(kp[:, :2] - prev[:, :2]).mean())
        if wrist < nose:
            p[2] = 0.9
        elif speed > 0.5:
            p[1] = 0.9
        else:
            p[0] = 0.9
        return p / p.sum()

    def forget(self, track_id: int) -> None:
        self.state.pop(track_id, None)
        self.forgotten.append(track_id)


def encode_index(image: np.ndarray, index: int) -> np.ndarray:
    image[0, 0] = (index & 255, (index >> 8) & 255, (index >> 16) & 255)
    return image


def decode_index(image: np.ndarray) -> int:
    b, g, r = (int(v) for v in image[0, 0])
    return b | (g << 8) | (r << 16)


def two_people_scene() -> Scene:
    """Two people at 30 fps over 6 s: one walks across (crossing the other), stands,
    then waves; the other stands, waves, then walks back across."""
    return Scene([
        Actor(enter=0, start=(40, 120), phases=[(60, "walk", (3, 0)), (60, "stand", (0, 0)),
                                                 (60, "wave", (0, 0))]),
        Actor(enter=0, start=(200, 125), phases=[(45, "stand", (0, 0)), (60, "wave", (0, 0)),
                                                  (75, "walk", (-2, 0))]),
    ])


def write_video(path, n_frames: int, fps: float = 30.0, size=(320, 240),
                fourcc: str = "MJPG") -> None:
    """A small test video (moving gradient, frame index in the first pixel)."""
    import cv2
    W, H = size
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert w.isOpened()
    x = np.arange(W, dtype=np.int32)[None, :]
    y = np.arange(H, dtype=np.int32)[:, None]
    for i in range(n_frames):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = (x + 3 * i) % 256
        img[..., 1] = (y + 2 * i) % 256
        img[..., 2] = 128
        w.write(img)
    w.release()
