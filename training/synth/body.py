"""A 3D stick body: proportions, pose parameters and forward kinematics, vectorised over time.

Coordinates are metres in the person's own frame at yaw 0: ``y`` up, ``z`` the way the
person faces, ``x`` to the person's *left* (right-handed). A pose is a dict of ``(T,)``
arrays (radians, metres), one value per frame, so a whole clip is posed with a few dozen
numpy operations instead of a Python loop over frames.

Limb directions use two angles per segment, relative to the torso (arms) or the pelvis
(legs): ``d(F, A) = (s sin A, -cos A cos F, cos A sin F)`` where ``s`` is +1 on the left and
-1 on the right side. ``F`` is flexion in the sagittal plane (0 = hanging down, pi/2 =
forward, pi = up) and ``A`` abduction out to the side (0 = none, pi/2 = straight out,
negative = across the body). A torso pitched forward by ``P`` turns an arm angle ``F``
into ``F - P`` in the world, which action programs use to reach for the floor etc.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np

from pipan.skeleton import JOINT_INDEX, NUM_JOINTS

Pose = Dict[str, np.ndarray]

#: Every pose parameter and its neutral (standing, arms relaxed) value.
NEUTRAL: Dict[str, float] = {
    "root_x": 0.0, "root_z": 0.0,     # travel in the person's start frame (m)
    "root_dy": 0.0,                   # height added above ground contact (m), e.g. a jump
    "ground": 1.0,                    # 1 = lowest foot on the floor, 0 = root_dy is absolute
    "yaw": 0.0,                       # facing direction about the vertical (rad)
    "body_pitch": 0.0,                # whole body tipped forward about the hips (flips)
    "body_roll": 0.0,                 # whole body tipped to its right about the hips (falls)
    "torso_pitch": 0.02, "torso_roll": 0.0, "torso_twist": 0.0,
    "head_pitch": 0.0, "head_yaw": 0.0,
    "r_ua_f": 0.05, "r_ua_a": 0.12, "r_fa_f": 0.2, "r_fa_a": 0.06,
    "l_ua_f": 0.05, "l_ua_a": 0.12, "l_fa_f": 0.2, "l_fa_a": 0.06,
    "r_th_f": 0.0, "r_th_a": 0.04, "r_sh_f": -0.03,
    "l_th_f": 0.0, "l_th_a": 0.04, "l_sh_f": -0.03,
}
PARAMS = tuple(NEUTRAL)


@dataclass(frozen=True)
class Body:
    """Segment lengths of one person (metres)."""

    height: float
    torso: float        # mid-hip to neck
    neck: float         # neck to head centre
    head: float         # head radius
    shoulder_width: float
    hip_width: float
    upper_arm: float
    forearm: float      # elbow to wrist
    thigh: float
    shin: float         # knee to ankle
    ankle: float        # ankle height above the floor
    neck_lift: float = 0.03  # neck joint above the shoulder line

    @staticmethod
    def random(rng: np.random.Generator, convention: str = "mixed") -> "Body":
        """A random adult-to-teen body: height 1.45-1.95 m, each segment +-8 % of the norm.

        Where the hip and neck *joints* sit differs between people and even more between
        annotation conventions: COCO's hips are at the hip joints and OpenPose's neck is
        the shoulders' midpoint; JHMDB's puppet puts the hips far lower (legs about as long
        as the torso) and the neck above the shoulders. ``convention="coco"`` keeps to
        COCO's (for rendered people, whose labels train the pose net); ``"mixed"`` (for
        skeleton clips) is COCO-like 60 % of the time and JHMDB-like otherwise, so that
        an action model trained on it meets both.
        """
        if convention not in ("coco", "mixed"):
            raise ValueError(f"convention must be 'coco' or 'mixed', got {convention!r}")
        h = float(rng.uniform(1.45, 1.95))
        j = lambda: float(rng.uniform(0.92, 1.08))  # noqa: E731 (per-segment jitter)
        if convention == "coco" or rng.random() < 0.6:
            hip_shift = float(rng.uniform(-0.02, 0.03)) * h
            neck_lift = float(rng.uniform(0.0, 0.01)) * h
        else:
            hip_shift = float(rng.uniform(0.03, 0.13)) * h
            neck_lift = float(rng.uniform(0.01, 0.04)) * h
        return Body(height=h, torso=0.30 * h * j() + hip_shift, neck=0.085 * h * j(),
                    head=0.062 * h * j(), shoulder_width=0.22 * h * j(),
                    hip_width=0.12 * h * j(), upper_arm=0.172 * h * j(),
                    forearm=0.157 * h * j(), thigh=0.245 * h * j() - hip_shift,
                    shin=0.246 * h * j(), ankle=0.039 * h, neck_lift=neck_lift)


def neutral(T: int) -> Pose:
    """A pose of ``T`` frames standing still, every parameter at its neutral value."""
    return {k: np.full(T, v, np.float64) for k, v in NEUTRAL.items()}


def direction(F: np.ndarray, A: np.ndarray, side: float) -> np.ndarray:
    """Unit segment direction ``(T, 3)`` from flexion ``F`` and abduction ``A`` (see module)."""
    cA = np.cos(A)
    out = np.empty((len(F), 3))
    out[:, 0] = side * np.sin(A)
    out[:, 1] = -cA * np.cos(F)
    out[:, 2] = cA * np.sin(F)
    return out


def _rot(a: np.ndarray, i: int, j: int, sign: float) -> np.ndarray:
    """(T, 3, 3) rotations by ``a`` in the (i, j) coordinate plane (filled in place: this
    runs once per clip and per joint chain, so it avoids np.stack's overhead)."""
    c, s = np.cos(a), np.sin(a)
    R = np.zeros((len(a), 3, 3))
    k = 3 - i - j
    R[:, k, k] = 1.0
    R[:, i, i] = c
    R[:, j, j] = c
    R[:, i, j] = -sign * s
    R[:, j, i] = sign * s
    return R


def _rot_y(a: np.ndarray) -> np.ndarray:
    """Yaw about +y: +z turns towards +x."""
    return _rot(a, 0, 2, -1.0)


def _rot_x(a: np.ndarray) -> np.ndarray:
    """Pitch: positive ``a`` tips +y towards +z (leaning forward)."""
    return _rot(a, 1, 2, 1.0)


def _rot_z(a: np.ndarray) -> np.ndarray:
    return _rot(a, 0, 1, 1.0)


def _apply(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate ``(T, 3)`` (or a constant ``(3,)``) by ``(T, 3, 3)``."""
    if v.ndim == 1:
        return R @ v
    return (R @ v[:, :, None])[:, :, 0]


def pose_joints(pose: Pose, body: Body) -> np.ndarray:
    """Forward kinematics: COCO-18 joint positions ``(T, 18, 3)`` in metres (see module).

    The root (mid-hip) sits at ``root_x, root_z`` on the floor plane; its height puts the
    lowest joint (normally an ankle) ``body.ankle`` above the floor when ``ground`` is 1,
    plus ``root_dy``. ``body_pitch`` turns the whole body about the hips (somersaults);
    ``body_roll`` tips it sideways about the hips (positive: towards the person's right),
    before the pitch: with a roll of +-pi/2 the pitch turns a lying person over about
    their long axis.
    """
    T = len(pose["yaw"])
    J = JOINT_INDEX
    out = np.zeros((T, NUM_JOINTS, 3))
    R_pel = _rot_y(pose["yaw"])
    R_tor = R_pel @ _rot_y(pose["torso_twist"]) @ _rot_x(pose["torso_pitch"]) \
        @ _rot_z(pose["torso_roll"])
    R_head = R_tor @ _rot_y(pose["head_yaw"]) @ _rot_x(-pose["head_pitch"])

    # Legs relative to the root (height fixed below).
    for side, p in ((1.0, "l_"), (-1.0, "r_")):
        hip = _apply(R_pel, np.array([side * body.hip_width / 2, 0.0, 0.0]))
        thigh = direction(pose[p + "th_f"], pose[p + "th_a"], side)
        shin = direction(pose[p + "sh_f"], pose[p + "th_a"], side)
        knee = hip + _apply(R_pel, thigh) * body.thigh
        ankle = knee + _apply(R_pel, shin) * body.shin
        name = "left" if side > 0 else "right"
        out[:, J[f"{name}_hip"]] = hip
        out[:, J[f"{name}_knee"]] = knee
        out[:, J[f"{name}_ankle"]] = ankle

    neck = _apply(R_tor, np.array([0.0, body.torso, 0.0]))
    out[:, J["neck"]] = neck
    for side, p in ((1.0, "l_"), (-1.0, "r_")):
        name = "left" if side > 0 else "right"
        sh = neck + _apply(R_tor, np.array([side * body.shoulder_width / 2,
                                            -body.neck_lift, 0.0]))
        upper = direction(pose[p + "ua_f"], pose[p + "ua_a"], side)
        fore = direction(pose[p + "fa_f"], pose[p + "fa_a"], side)
        el = sh + _apply(R_tor, upper) * body.upper_arm
        wr = el + _apply(R_tor, fore) * body.forearm
        out[:, J[f"{name}_shoulder"]] = sh
        out[:, J[f"{name}_elbow"]] = el
        out[:, J[f"{name}_wrist"]] = wr

    r = body.head
    head_c = neck + _apply(R_head, np.array([0.0, body.neck, 0.0]))
    out[:, J["nose"]] = head_c + _apply(R_head, np.array([0.0, -0.15 * r, 0.95 * r]))
    for side, name in ((1.0, "left"), (-1.0, "right")):
        eye = np.array([side * 0.42 * r, 0.22 * r, 0.82 * r])
        ear = np.array([side * 0.95 * r, 0.0, -0.05 * r])
        out[:, J[f"{name}_eye"]] = head_c + _apply(R_head, eye)
        out[:, J[f"{name}_ear"]] = head_c + _apply(R_head, ear)

    if np.any(pose["body_roll"] != 0):  # sideways falls, lying on a side
        R_side = R_pel @ _rot_z(pose["body_roll"]) @ np.swapaxes(R_pel, 1, 2)
        out = np.einsum("tij,tkj->tki", R_side, out)
    if np.any(pose["body_pitch"] != 0):  # somersaults: turn everything about the hips
        R_flip = R_pel @ _rot_x(pose["body_pitch"]) @ np.swapaxes(R_pel, 1, 2)
        out = np.einsum("tij,tkj->tki", R_flip, out)
    # the lowest point (normally an ankle; a hand in a handstand) is on the floor
    lowest = out[..., 1].min(1)
    g = pose["ground"]
    height = g * (body.ankle - lowest) + pose["root_dy"]
    out[..., 1] += height[:, None]
    root = np.stack([pose["root_x"], np.zeros(T), pose["root_z"]], -1)
    out += root[:, None, :]
    return out
