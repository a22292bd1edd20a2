"""Action programs: each turns time stamps into a pose (dict of ``(T,)`` arrays, see body).

A program is ``f(t, body, rng, side) -> Pose`` where ``t`` is ``(T,)`` seconds from the
clip's start, ``side`` is +1 (left hand/foot leads) or -1 (right), and ``rng`` draws this
clip's own speed, amplitude and timing. Periodic actions pick a frequency and a phase;
one-shot actions (sit, stand, jump, pick, throw, kick, catch) pick an onset and a duration
inside the clip so that the movement can start late or finish early, as in real clips.

Labels: where an action means the same as a JHMDB class it carries JHMDB's name exactly
(``wave`` = one hand, ``sit`` = sit down, ``stand`` = stand up, ``pick`` = bend and pick
up); the others are lower snake case.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .body import Body, Pose, neutral

Program = Callable[[np.ndarray, Body, np.random.Generator, float], Pose]
PI = np.pi


def _smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep of x clipped to [0, 1] (zero velocity at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _progress(t: np.ndarray, rng: np.random.Generator, lo: float = 0.55,
              hi: float = 0.95) -> np.ndarray:
    """0 -> 1 over a random window of the clip (timing variation of one-shot actions):
    onset from 15 % of the clip before its start (already under way) to a quarter in,
    duration a random fraction ``[lo, 1.15 hi]`` of the rest (it may not finish)."""
    D = float(t[-1] - t[0]) + (float(t[1] - t[0]) if len(t) > 1 else 1 / 30)
    t0 = rng.uniform(-0.15, 0.25) * D  # < 0: already under way when the clip starts
    dur = max(rng.uniform(lo, hi * 1.15) * (D - max(t0, 0.0)), 0.25)  # may not finish
    return np.clip((t - t[0] - t0) / dur, 0.0, 1.0)


def _bump(u: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A smooth 0 -> 1 -> 0 bump of ``u`` peaking at ``centre``, half-width ``width``."""
    return np.clip(1 - ((u - centre) / width) ** 2, 0.0, 1.0) ** 2


def _lerp(a, b, w):
    return a + (b - a) * w


def _arm_names(side: float):
    """Parameter prefixes of the leading ('main') and other arm/leg for ``side``."""
    return ("l_", "r_") if side > 0 else ("r_", "l_")


def _gait(t, rng, pose, freq, amp_th, amp_knee, amp_arm, elbow, speed, bob):
    """Shared walking/running legs and arms. ``freq`` strides/s, angles in rad, speed m/s."""
    ph = 2 * PI * freq * t + rng.uniform(0, 2 * PI)
    for p, sgn in (("l_", 1.0), ("r_", -1.0)):
        phi = ph + (0 if sgn > 0 else PI)
        th = amp_th * np.sin(phi) + 0.05
        knee = 0.08 + amp_knee * np.maximum(0.0, np.cos(phi - 0.3)) ** 1.5
        pose[p + "th_f"] = th
        pose[p + "sh_f"] = th - knee
        pose[p + "ua_f"] = -amp_arm * np.sin(phi) + 0.05
        pose[p + "fa_f"] = pose[p + "ua_f"] + elbow
        pose[p + "ua_a"] = pose[p + "ua_a"] * 0.7
    pose["root_z"] = speed * t
    pose["root_dy"] = bob * np.abs(np.sin(ph))
    return ph


def walk(t, body, rng, side):
    pose = neutral(len(t))
    freq = rng.uniform(0.75, 1.05)
    step = rng.uniform(0.55, 0.8) * body.height / 1.75
    _gait(t, rng, pose, freq, rng.uniform(0.3, 0.45), rng.uniform(0.5, 0.9),
          rng.uniform(0.15, 0.45), rng.uniform(0.1, 0.4), 2 * freq * step, 0.02)
    pose["torso_pitch"] += rng.uniform(0.0, 0.08)
    return pose


def run(t, body, rng, side):
    pose = neutral(len(t))
    freq = rng.uniform(1.25, 1.6)
    _gait(t, rng, pose, freq, rng.uniform(0.5, 0.75), rng.uniform(1.2, 1.8),
          rng.uniform(0.5, 0.9), rng.uniform(1.2, 1.7), rng.uniform(2.5, 5.0), 0.06)
    pose["torso_pitch"] += rng.uniform(0.1, 0.3)
    return pose


def jump(t, body, rng, side):
    """Crouch, swing the arms, take off, fly, land (a high or a long jump)."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.6, 1.0)
    crouch = _bump(u, 0.2, 0.2) + 0.8 * _bump(u, 0.85, 0.15)
    air = np.clip(np.sin(PI * np.clip((u - 0.35) / 0.4, 0, 1)), 0, None)
    knee = rng.uniform(0.9, 1.5) * crouch + 0.3 * air
    for p in ("l_", "r_"):
        pose[p + "th_f"] = 0.5 * knee + 0.3 * air
        pose[p + "sh_f"] = -0.5 * knee - 0.1 * air
        swing = -0.8 * _bump(u, 0.22, 0.18) + rng.uniform(2.0, 3.0) * _bump(u, 0.5, 0.25)
        pose[p + "ua_f"] = 0.05 + swing
        pose[p + "fa_f"] = pose[p + "ua_f"] + 0.3
    pose["torso_pitch"] += 0.5 * crouch
    pose["root_dy"] = rng.uniform(0.2, 0.55) * air
    pose["root_z"] = rng.choice([0.0, rng.uniform(0.5, 2.0)]) * _smooth((u - 0.35) / 0.4)
    if rng.random() < 0.25:  # a somersault (parkour, gymnastics), tucked
        turn = _smooth((u - 0.35) / 0.4)
        pose["body_pitch"] = rng.choice([-1.0, 1.0]) * 2 * PI * turn
        pose["root_dy"] = pose["root_dy"] + 0.4 * air
        for p in ("l_", "r_"):
            pose[p + "th_f"] = pose[p + "th_f"] + 1.2 * air
            pose[p + "sh_f"] = pose[p + "sh_f"] - 0.4 * air
    return pose


def _wave_arm(t, pose, p, rng, freq, amp, phase):
    up = pose.get("_up")
    # the hand waves anywhere from shoulder height (elbow low) to high over the head
    pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], rng.uniform(0.2, 2.3), up)
    pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], rng.uniform(0.0, 1.0), up)
    swing = amp * np.sin(2 * PI * freq * t + phase)
    pose[p + "fa_a"] = _lerp(pose[p + "fa_a"], PI - rng.uniform(0.15, 0.5) - swing, up)
    pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], rng.uniform(-0.2, 0.4), up)


def _raise_window(t, rng):
    """Arm(s) go up at the start and maybe come down before the end."""
    u = _progress(t, rng, 0.75, 1.0)
    return _smooth(u / 0.2) * (1 - rng.integers(0, 2) * _smooth((u - 0.85) / 0.15))


def wave(t, body, rng, side):
    """One hand waves (the other stays down or on the hip)."""
    pose = neutral(len(t))
    pose["_up"] = _raise_window(t, rng)
    main, _ = _arm_names(side)
    _wave_arm(t, pose, main, rng, rng.uniform(1.2, 3.0), rng.uniform(0.25, 0.6), 0.0)
    del pose["_up"]
    return pose


def wave_both(t, body, rng, side):
    """Both hands wave, in or out of phase."""
    pose = neutral(len(t))
    pose["_up"] = _raise_window(t, rng)
    f, a = rng.uniform(1.2, 3.0), rng.uniform(0.25, 0.6)
    phase = rng.choice([0.0, PI])
    _wave_arm(t, pose, "l_", rng, f, a, 0.0)
    _wave_arm(t, pose, "r_", rng, f, a, phase)
    del pose["_up"]
    return pose


def clap(t, body, rng, side):
    """Hands meet in front of the chest (or above the head) at 2-4 Hz."""
    pose = neutral(len(t))
    up = _raise_window(t, rng)
    high = rng.random() < 0.2
    f = rng.uniform(1.8, 4.5)
    gap = rng.uniform(0.04, 0.35) * (0.5 - 0.5 * np.cos(2 * PI * f * t))  # 0 = hands touch
    ua_f, fa_f = (rng.uniform(2.4, 2.9), PI) if high else (rng.uniform(0.2, 1.3), rng.uniform(1.3, 2.5))
    ua_a = rng.uniform(0.1, 0.4)
    lateral = body.shoulder_width / 2 + body.upper_arm * np.sin(ua_a) * abs(np.cos(ua_f) if high else 1)
    fa_a = np.arcsin(np.clip((gap / 2 - lateral) / body.forearm, -1, 1))
    for p in ("l_", "r_"):
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], ua_f, up)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], ua_a, up)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], fa_f, up)
        pose[p + "fa_a"] = _lerp(pose[p + "fa_a"], fa_a, up)
    return pose


def squat(t, body, rng, side):
    """Repeated deep knee bends, arms forward or on the hips."""
    pose = neutral(len(t))
    f = rng.uniform(0.4, 0.9)
    d = rng.uniform(0.8, 1.3) * (0.5 - 0.5 * np.cos(2 * PI * f * t + rng.uniform(-1.0, 1.0)))
    arms_fwd = rng.random() < 0.6
    for p in ("l_", "r_"):
        pose[p + "th_f"] = 1.25 * d
        pose[p + "th_a"] = pose[p + "th_a"] + 0.15 * d
        pose[p + "sh_f"] = -0.6 * d
        if arms_fwd:
            pose[p + "ua_f"] = 0.05 + rng.uniform(1.1, 1.6) * np.clip(d * 2, 0, 1)
            pose[p + "fa_f"] = pose[p + "ua_f"] + 0.1
    pose["torso_pitch"] += 0.55 * d
    return pose


def _sit_pose(pose, w, rng):
    """Blend ``pose`` towards sitting on a chair by ``w`` (0 = standing, 1 = seated)."""
    seat = rng.uniform(1.35, 1.65)
    lean = 0.6 * np.sin(PI * np.clip(w, 0, 1))  # lean forward while moving, not at rest
    for p in ("l_", "r_"):
        pose[p + "th_f"] = seat * w
        pose[p + "th_a"] = pose[p + "th_a"] + 0.12 * w
        pose[p + "sh_f"] = -0.03 + rng.uniform(-0.2, 0.3) * w
        pose[p + "ua_f"] = pose[p + "ua_f"] + rng.uniform(0.3, 0.9) * w
        pose[p + "fa_f"] = pose[p + "fa_f"] + rng.uniform(0.5, 1.2) * w
    pose["torso_pitch"] = pose["torso_pitch"] + lean + rng.uniform(-0.1, 0.15) * w
    pose["root_z"] = -rng.uniform(0.15, 0.35) * w
    return pose


def sit(t, body, rng, side):
    """Sit down on an (invisible) chair."""
    return _sit_pose(neutral(len(t)), _smooth(_progress(t, rng, 0.5, 0.9)), rng)


def stand(t, body, rng, side):
    """Stand up from a chair."""
    return _sit_pose(neutral(len(t)), 1 - _smooth(_progress(t, rng, 0.5, 0.9)), rng)


def punch(t, body, rng, side):
    """Boxing guard and 1-4 fast straight punches, alternating or one hand."""
    pose = neutral(len(t))
    guard = _smooth(_progress(t, rng, 0.9, 1.0) / 0.15)
    n = int(rng.integers(1, 5))
    D = float(t[-1]) + 1e-3
    times = np.sort(rng.uniform(0.15, 0.9, n)) * D
    width = rng.uniform(0.08, 0.16)
    alternate = rng.random() < 0.6
    main, other = _arm_names(side)
    hits = {main: np.zeros(len(t)), other: np.zeros(len(t))}
    for i, tc in enumerate(times):
        arm = other if (alternate and i % 2) else main
        hits[arm] = np.maximum(hits[arm], _bump(t, tc, width))
    for p in ("l_", "r_"):
        e = hits[p]
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], _lerp(0.6, 1.55, e), guard)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], _lerp(0.35, 0.05, e), guard)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], _lerp(2.5, 1.58, e), guard)
        pose[p + "fa_a"] = _lerp(pose[p + "fa_a"], _lerp(-0.35, -0.1, e), guard)
    pose["torso_twist"] = (0.35 * (hits["r_"] - hits["l_"])) * guard
    for p in ("l_", "r_"):
        pose[p + "th_f"] = pose[p + "th_f"] + 0.15 * guard
        pose[p + "sh_f"] = pose[p + "sh_f"] - 0.15 * guard
    return pose


def kick(t, body, rng, side):
    """A front kick: knee up, shin snaps out, back down (arms out for balance)."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.5, 0.9)
    lift = _bump(u, 0.5, 0.4)
    snap = _bump(u, 0.5, 0.17)
    main, other = _arm_names(side)
    pose[main + "th_f"] = rng.uniform(1.0, 1.7) * lift
    pose[main + "sh_f"] = pose[main + "th_f"] - 1.6 * lift + 1.45 * snap
    pose[other + "th_f"] = pose[other + "th_f"] - 0.1 * lift
    for p in ("l_", "r_"):
        pose[p + "ua_a"] = pose[p + "ua_a"] + rng.uniform(0.2, 0.8) * lift
        pose[p + "ua_f"] = pose[p + "ua_f"] + rng.uniform(0.0, 0.8) * lift
        pose[p + "fa_f"] = pose[p + "ua_f"] + rng.uniform(0.3, 1.5) * lift
    pose["torso_pitch"] -= 0.3 * lift
    return pose


def pick(t, body, rng, side):
    """Bend down (stooping or squatting), grasp something on the floor, come back up."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.6, 1.0)
    down = _smooth(u / 0.4) * (1 - _smooth((u - 0.6) / 0.4))
    bend = rng.uniform(0.9, 1.5)
    knee = rng.uniform(0.1, 1.2)
    pose["torso_pitch"] += bend * down
    main, other = _arm_names(side)
    both = rng.random() < 0.4
    for p in ("l_", "r_"):
        pose[p + "th_f"] = 0.5 * knee * down
        pose[p + "sh_f"] = -0.5 * knee * down
        reach = down if (p == main or both) else 0.5 * down
        # world-down is F = torso pitch; reach a little ahead of the feet
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], pose["torso_pitch"] + 0.35, reach)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], pose["torso_pitch"] + 0.45, reach)
    carry = _smooth((u - 0.6) / 0.4)  # holding the object up at the chest afterwards
    pose[main + "fa_f"] = pose[main + "fa_f"] + 1.0 * carry
    pose["head_pitch"] += 0.3 * down
    return pose


def throw(t, body, rng, side):
    """A throw: wind up, fast release, follow through. Mostly overarm (arm back and cocked,
    body turned), sometimes underarm (straight arm swinging back then forward, as in
    bowling or a lob) or sidearm (a flat sweep across the body, as with a frisbee)."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.5, 0.9)
    cock = _bump(u, 0.4, 0.35)
    rel = _bump(u, 0.72, 0.15)
    follow = _smooth((u - 0.7) / 0.3)
    main, other = _arm_names(side)
    s = 1.0 if main == "l_" else -1.0
    style = rng.choice(3, p=[0.6, 0.2, 0.2])
    if style == 0:  # overarm
        pose[main + "ua_a"] = pose[main + "ua_a"] + rng.uniform(1.0, 1.5) * cock
        pose[main + "ua_f"] = pose[main + "ua_f"] - 0.4 * cock + 2.2 * rel + 1.1 * follow * (1 - rel)
        pose[main + "fa_f"] = pose[main + "ua_f"] + 0.3
        pose[main + "fa_a"] = pose[main + "fa_a"] + (PI - 0.6) * cock
    elif style == 1:  # underarm: the straight arm swings back, then forward and up
        swing = -rng.uniform(0.6, 1.2) * cock + rng.uniform(1.3, 2.2) * follow
        pose[main + "ua_f"] = pose[main + "ua_f"] + swing
        pose[main + "fa_f"] = pose[main + "ua_f"] + 0.15
        pose["torso_pitch"] += 0.3 * cock
    else:  # sidearm: the arm out to the side sweeps from behind across the front
        pose[main + "ua_a"] = pose[main + "ua_a"] + rng.uniform(1.1, 1.5) * (cock + follow).clip(0, 1)
        pose[main + "ua_f"] = pose[main + "ua_f"] - 0.8 * cock + 1.4 * follow
        pose[main + "fa_f"] = pose[main + "ua_f"] + 0.4 * cock
        pose[main + "fa_a"] = pose[main + "ua_a"] - 0.3
    pose[other + "ua_f"] = pose[other + "ua_f"] + rng.uniform(0.8, 1.5) * cock
    pose[other + "fa_f"] = pose[other + "ua_f"] + 0.5
    pose["torso_twist"] = s * (0.7 * cock - 0.6 * follow)
    pose["torso_pitch"] += -0.15 * cock + 0.35 * rel
    pose[other + "th_f"] = 0.45 * (cock + rel)  # step forward with the other foot
    pose[other + "sh_f"] = 0.2 * (cock + rel)
    return pose


def catch(t, body, rng, side):
    """Reach out with both hands (often high or to one side), catch, pull in to the chest."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.5, 0.9)
    ready = rng.uniform(0.0, 0.6)  # hands already half up, waiting for the ball
    reach = np.maximum(_smooth(u / 0.45), ready) * (1 - _smooth((u - 0.55) / 0.3))
    hold = _smooth((u - 0.55) / 0.3)
    height = rng.uniform(1.2, 2.9)
    lean = rng.uniform(-0.4, 0.4)
    for p in ("l_", "r_"):
        pose[p + "ua_f"] = pose[p + "ua_f"] + (height - 0.05) * reach + 0.5 * hold
        pose[p + "fa_f"] = pose[p + "fa_f"] + (height + 0.05) * reach + 2.1 * hold
        pose[p + "ua_a"] = pose[p + "ua_a"] + 0.1 * reach
        pose[p + "fa_a"] = pose[p + "fa_a"] - 0.35 * hold
        pose[p + "th_f"] = 0.25 * (reach + hold) * rng.uniform(0, 1)
        pose[p + "sh_f"] = -pose[p + "th_f"]
    pose["torso_roll"] = lean * reach
    pose["torso_pitch"] += 0.25 * hold
    pose["root_x"] = rng.uniform(-0.6, 0.6) * _smooth(u / 0.5)
    return pose


def golf(t, body, rng, side):
    """Golf swing: address (bent over, hands together), back swing, down swing, follow through."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.7, 1.0)
    s = side  # +1: swing goes back towards the left side (a left-hander)
    # Swing angle of the joined arms in the torso's frontal plane (rad, + towards back swing).
    back = _smooth(u / 0.45)
    down = _smooth((u - 0.5) / 0.2)
    through = _smooth((u - 0.62) / 0.3)
    alpha = 2.0 * back - 2.0 * down - 1.6 * through
    pitch = rng.uniform(0.35, 0.6)
    pose["torso_pitch"] = pitch * (1 - 0.5 * through) + 0 * u
    pose["torso_twist"] = s * (0.9 * np.clip(alpha, 0, None) + 0.8 * np.clip(alpha, None, 0))
    conv = 0.35
    # arms hang to world-down (F = pitch) and swing sideways together
    for p, ps in (("l_", 1.0), ("r_", -1.0)):
        A = s * ps * alpha
        pose[p + "ua_f"] = pitch + 0.3 + 0.4 * np.abs(alpha)
        pose[p + "ua_a"] = A - conv
        pose[p + "fa_f"] = pitch + 0.2 + 0.6 * np.abs(alpha)
        pose[p + "fa_a"] = A - conv
        pose[p + "th_f"] = pose[p + "th_f"] + 0.2
        pose[p + "sh_f"] = pose[p + "sh_f"] - 0.2
        pose[p + "th_a"] = pose[p + "th_a"] + 0.1
    pose["head_pitch"] = 0.4 * (1 - through)
    return pose


def pour(t, body, rng, side):
    """Hold a bottle out and tip it over a cup held by the other hand; head looks down."""
    pose = neutral(len(t))
    u = _progress(t, rng, 0.7, 1.0)
    up = _smooth(u / 0.25) * (1 - rng.integers(0, 2) * _smooth((u - 0.85) / 0.15))
    tip = _smooth((u - 0.2) / 0.3) * (1 - _smooth((u - 0.75) / 0.2))
    main, other = _arm_names(side)
    pose[main + "ua_f"] = _lerp(pose[main + "ua_f"], rng.uniform(0.5, 1.4), up)
    pose[main + "fa_f"] = _lerp(pose[main + "fa_f"], rng.uniform(1.2, 2.2), up) + 0.2 * tip
    pose[main + "fa_a"] = _lerp(pose[main + "fa_a"], -0.2, up) - rng.uniform(0.2, 0.6) * tip
    pose[main + "ua_a"] = pose[main + "ua_a"] + 0.35 * tip
    pose[other + "ua_f"] = _lerp(pose[other + "ua_f"], rng.uniform(0.2, 1.0), up)
    pose[other + "fa_f"] = _lerp(pose[other + "fa_f"], rng.uniform(1.2, 2.0), up)
    pose[other + "fa_a"] = _lerp(pose[other + "fa_a"], -0.4, up)
    pose["head_pitch"] += 0.35 * up
    pose["torso_pitch"] += rng.uniform(0.0, 0.3) * up
    return pose


def pullup(t, body, rng, side):
    """Hang from a bar and pull up, repeatedly; the hands stay on the bar."""
    pose = neutral(len(t))
    f = rng.uniform(0.35, 0.8)
    c = 0.5 - 0.5 * np.cos(2 * PI * f * t + rng.uniform(-2, 2))  # 1 = chin over the bar
    width = rng.uniform(0.2, 0.5)
    for p in ("l_", "r_"):
        # upper arm swings from straight up (A ~ pi) down to the side; forearm stays up
        pose[p + "ua_a"] = PI - width - rng.uniform(0.8, 1.3) * c
        pose[p + "ua_f"] = np.zeros(len(t)) + 0.15 * c
        pose[p + "fa_a"] = np.full(len(t), PI - width * 0.5)
        pose[p + "fa_f"] = np.zeros(len(t))
    bent = rng.uniform(0, 1.4)
    for p in ("l_", "r_"):
        pose[p + "th_f"] = np.full(len(t), rng.uniform(-0.1, 0.4))
        pose[p + "sh_f"] = pose[p + "th_f"] - bent
    # the wrists stay at bar height: root height = bar - wrist height above the root
    wrist_up = (body.torso - body.neck_lift
                + body.upper_arm * (-np.cos(pose["l_ua_a"]))
                + body.forearm * (-np.cos(pose["l_fa_a"])))
    bar = 0.7 * body.height + body.torso + body.upper_arm + body.forearm
    pose["ground"] = np.zeros(len(t))
    pose["root_dy"] = bar - wrist_up
    pose["head_pitch"] -= 0.2 * c
    return pose


def push(t, body, rng, side):
    """Lean into something heavy and push it, walking slowly forward."""
    pose = neutral(len(t))
    freq = rng.uniform(0.4, 0.7)
    _gait(t, rng, pose, freq, rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.6), 0.0, 0.0,
          rng.uniform(0.2, 0.9), 0.01)
    lean = rng.uniform(0.3, 0.8)
    pose["torso_pitch"] = np.full(len(t), lean)
    height = rng.uniform(-0.4, 0.3)  # hands below/above shoulder level (world)
    for p in ("l_", "r_"):
        bend = rng.uniform(0.1, 0.8) + 0.1 * np.sin(2 * PI * freq * t)
        pose[p + "ua_f"] = PI / 2 + lean + height - bend * 0.5
        pose[p + "fa_f"] = PI / 2 + lean + height + bend * 0.5
        pose[p + "ua_a"] = np.full(len(t), rng.uniform(0.05, 0.3))
        pose[p + "fa_a"] = np.full(len(t), rng.uniform(-0.2, 0.1))
    return pose


def idle(t, body, rng, side):
    """Standing around: swaying, shifting weight, hands moving a little, looking about."""
    pose = neutral(len(t))
    f = rng.uniform(0.1, 0.5)
    ph = 2 * PI * f * t + rng.uniform(0, 2 * PI)
    pose["torso_roll"] = 0.05 * np.sin(ph)
    pose["root_x"] = 0.03 * np.sin(ph)
    pose["head_yaw"] = rng.uniform(-0.6, 0.6) * np.sin(0.7 * ph)
    hands = rng.integers(0, 3)  # 0 hanging, 1 hands together in front, 2 in pockets / on hips
    for p in ("l_", "r_"):
        if hands == 1:
            pose[p + "ua_f"] += 0.3
            pose[p + "fa_f"] += 1.0
            pose[p + "fa_a"] -= 0.6
        elif hands == 2:
            pose[p + "ua_a"] += 0.5
            pose[p + "fa_a"] -= 0.5
            pose[p + "fa_f"] -= 0.3
        pose[p + "ua_f"] += 0.08 * np.sin(ph * 1.3 + rng.uniform(0, 6))
    return pose


def _fall_window(t: np.ndarray, rng: np.random.Generator):
    """Onset and duration (s) of a fall in a clip: 0.3-2 s before it, 0.4-1.2 s falling and
    settling, 0.3-1.5 s on the floor after it. A clip too short for all three keeps the
    fall whole (at most 70 % of the clip) and shortens the time before and after it."""
    D = float(t[-1] - t[0]) + (float(t[1] - t[0]) if len(t) > 1 else 1 / 30)
    dur = min(rng.uniform(0.4, 1.2), 0.7 * D)
    pre, post = rng.uniform(0.3, 2.0), rng.uniform(0.3, 1.5)
    if pre + dur + post > D:
        pre = (D - dur) * pre / (pre + post)
    return float(t[0]) + pre, dur


def stir(t, pose, rng, w, keys=("l_ua_f", "r_ua_f", "l_th_f", "r_th_f", "head_yaw")):
    """Small movements of someone lying or sitting still, weighted by ``w`` (0-1): slow
    breathing and a random few of ``keys`` drifting by up to a fifth of a radian."""
    pose["torso_pitch"] = pose["torso_pitch"] + w * 0.02 * np.sin(
        2 * PI * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 2 * PI))
    for k in keys:
        if rng.random() < 0.5:
            amp = rng.uniform(0.05, 0.2)
            pose[k] = pose[k] + w * amp * np.sin(2 * PI * rng.uniform(0.1, 0.5) * t
                                                 + rng.uniform(0, 2 * PI))
    return pose


def _relax_arms(pose, w, rng, face):
    """Blend both arms by ``w`` towards lying relaxed in the body's frontal plane (along the
    sides, out, or up past the head) of a body lying face down (``face`` +1) or up (-1):
    each segment tilts a little away from the floor, never into it."""
    for p in ("l_", "r_"):
        up = bool(rng.random() < 0.3)  # past the head
        for seg in ("ua", "fa"):
            F = (PI if up else 0.0) + (1 if up else -1) * face * rng.uniform(0.0, 0.15)
            pose[p + seg + "_f"] = _lerp(pose[p + seg + "_f"], F, w)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], rng.uniform(0.1, 1.2), w)
        pose[p + "fa_a"] = _lerp(pose[p + "fa_a"], rng.uniform(-0.3, 0.8), w)
    return pose


def _flat_legs(pose, w, rng, face):
    """Blend both legs by ``w`` towards lying nearly straight on the floor, face down
    (``face`` +1) or up (-1), knees a little bent away from it."""
    for p in ("l_", "r_"):
        th = -face * rng.uniform(0.0, 0.15)
        pose[p + "th_f"] = _lerp(pose[p + "th_f"], th, w)
        pose[p + "sh_f"] = _lerp(pose[p + "sh_f"], th - face * rng.uniform(0.0, 0.25), w)
    return pose


def _side_limbs(pose, w, rng, down):
    """Blend the limbs by ``w`` towards lying on the side whose arm is ``down`` ("l_" or
    "r_"): limbs in the body's sagittal plane (the floor's), the lower arm forward along
    the floor, knees drawn up a random amount."""
    for p in ("l_", "r_"):
        lower = p == down
        F = rng.uniform(0.8, 1.8) if lower else rng.uniform(0.2, 1.5)
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], F, w)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], -rng.uniform(0.0, 0.15) if lower
                                 else rng.uniform(0.0, 0.3), w)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], F + rng.uniform(0.0, 1.0), w)
        pose[p + "fa_a"] = _lerp(pose[p + "fa_a"], rng.uniform(-0.15, 0.0), w)
        th = rng.uniform(0.1, 1.3)
        pose[p + "th_f"] = _lerp(pose[p + "th_f"], th, w)
        pose[p + "sh_f"] = _lerp(pose[p + "sh_f"], th - rng.uniform(0.1, 1.4), w)
        pose[p + "th_a"] = _lerp(pose[p + "th_a"], 0.0, w)
    return pose


def _lying_limbs(pose, w, rng, orient):
    """Blend the limbs by ``w`` towards lying on the back (``orient`` -1), the front (+1)
    or a side (0, the right one when the body roll is positive)."""
    if orient == 0:
        down = "r_" if float(np.mean(pose["body_roll"])) > 0 else "l_"
        return _side_limbs(pose, w, rng, down)
    return _flat_legs(_relax_arms(pose, w, rng, orient), w, rng, orient)


def fall_forward(t, body, rng, side):
    """Trip or faint forwards: knees buckle (sometimes onto them), the body topples face
    down with the arms out to break the fall, then lies there stirring."""
    pose = neutral(len(t))
    t0, dur = _fall_window(t, rng)
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    knees = rng.random() < 0.5  # onto the knees first
    buckle = _smooth(u / 0.4)
    tip = np.clip((u - (0.25 if knees else 0.0)) / (0.5 if knees else 0.75), 0.0, 1.0) ** 2
    settle = _smooth((u - 0.75) / 0.25)
    pose["body_pitch"] = PI / 2 * tip
    reach = _smooth(u / 0.5) * (1 - settle)  # arms forward to break the fall
    for p in ("l_", "r_"):
        th = 0.1 if knees else rng.uniform(0.0, 0.3)
        knee = rng.uniform(1.2, 1.6) if knees else rng.uniform(0.2, 0.6)
        pose[p + "th_f"] = th * buckle
        pose[p + "sh_f"] = pose[p + "th_f"] - knee * buckle
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], rng.uniform(1.5, 2.2), reach)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], rng.uniform(0.15, 0.5), reach)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], rng.uniform(1.6, 2.3), reach)
    pose = _flat_legs(_relax_arms(pose, settle, rng, 1), settle, rng, 1)
    pose["torso_pitch"] = pose["torso_pitch"] + 0.3 * _bump(u, 0.45, 0.3)
    pose["head_pitch"] = pose["head_pitch"] - 0.3 * reach
    pose["head_yaw"] = pose["head_yaw"] + rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.3) * settle
    # the feet (or knees) stay put while the body pivots over them
    pivot = body.thigh if knees else body.thigh + body.shin
    pose["root_z"] = pivot * rng.uniform(0.7, 1.0) * np.sin(pose["body_pitch"])
    return stir(t, pose, rng, settle)


def fall_backward(t, body, rng, side):
    """Slip or lose balance backwards: the knees give, the hips drop, the body goes over
    onto its back with the arms flung back, the legs flying up a little, then lies still."""
    pose = neutral(len(t))
    t0, dur = _fall_window(t, rng)
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    buckle = _smooth(u / 0.45) * (1 - _smooth((u - 0.6) / 0.4))
    tip = np.clip((u - 0.1) / 0.65, 0.0, 1.0) ** 2
    settle = _smooth((u - 0.75) / 0.25)
    pose["body_pitch"] = -PI / 2 * tip
    fling = _smooth(u / 0.5) * (1 - settle)
    for p in ("l_", "r_"):
        pose[p + "th_f"] = rng.uniform(0.6, 1.1) * buckle
        pose[p + "sh_f"] = pose[p + "th_f"] - rng.uniform(0.8, 1.4) * buckle
        pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], -rng.uniform(0.4, 1.0), fling)
        pose[p + "ua_a"] = _lerp(pose[p + "ua_a"], rng.uniform(0.3, 0.9), fling)
        pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], -rng.uniform(0.2, 0.8), fling)
    pose = _flat_legs(_relax_arms(pose, settle, rng, -1), settle, rng, -1)
    pose["head_pitch"] = pose["head_pitch"] + 0.4 * _bump(u, 0.6, 0.3)  # chin tucked
    pose["root_z"] = -rng.uniform(0.3, 0.6) * np.sin(-pose["body_pitch"])
    return stir(t, pose, rng, settle)


def fall_sideways(t, body, rng, side):
    """Topple over sideways (a faint, a slip on one foot): the body rolls to one side, the
    arm on that side goes out, and it ends on the side or rolls on onto the back or front."""
    pose = neutral(len(t))
    t0, dur = _fall_window(t, rng)
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    s = float(rng.choice([-1.0, 1.0]))  # +1: towards the person's right
    down, up = ("r_", "l_") if s > 0 else ("l_", "r_")
    buckle = _smooth(u / 0.4)
    tip = np.clip(u / 0.75, 0.0, 1.0) ** 2
    settle = _smooth((u - 0.75) / 0.25)
    pose["body_roll"] = s * PI / 2 * tip
    over = rng.choice([0.0, 0.0, -1.0, 1.0])  # stays on the side, or on the back/front
    pose["body_pitch"] = over * PI / 2 * settle
    reach = _smooth(u / 0.5) * (1 - settle)
    pose[down + "ua_a"] = _lerp(pose[down + "ua_a"], rng.uniform(1.0, 1.8), reach)
    pose[down + "fa_a"] = _lerp(pose[down + "fa_a"], rng.uniform(1.0, 1.8), reach)
    pose[up + "ua_f"] = _lerp(pose[up + "ua_f"], rng.uniform(0.3, 1.2), reach)
    for p in ("l_", "r_"):
        bend = rng.uniform(0.0, 0.5) * buckle * (1 - settle)
        pose[p + "th_f"] = pose[p + "th_f"] + bend
        pose[p + "sh_f"] = pose[p + "sh_f"] - bend
    if over == 0:
        pose = _side_limbs(pose, settle, rng, down)
    else:  # rolled on onto the back or front: limbs in the frontal plane
        pose = _flat_legs(_relax_arms(pose, settle, rng, over), settle, rng, over)
    pose["torso_roll"] = pose["torso_roll"] - s * 0.2 * _bump(u, 0.4, 0.3)
    pose["root_x"] = -s * (body.thigh + body.shin) * rng.uniform(0.6, 1.0) \
        * np.sin(np.abs(pose["body_roll"]))
    return stir(t, pose, rng, settle)


def fall_chair(t, body, rng, side):
    """Fall from sitting on a chair to the floor: slide off it onto the back, topple out of
    it sideways, or pitch forward out of it face down."""
    pose = _sit_pose(neutral(len(t)), np.ones(len(t)), rng)
    t0, dur = _fall_window(t, rng)
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    tip = np.clip(u / 0.75, 0.0, 1.0) ** 2
    settle = _smooth((u - 0.75) / 0.25)
    way = rng.choice(3, p=[0.4, 0.35, 0.25])
    if way == 0:  # slides off forwards onto the floor, then the back goes down
        slide = _smooth(u / 0.5)
        for p in ("l_", "r_"):
            pose[p + "sh_f"] = _lerp(pose[p + "sh_f"], pose[p + "th_f"] - rng.uniform(0.0, 0.3),
                                     slide)
        back = np.clip((u - 0.3) / 0.45, 0.0, 1.0) ** 2
        pose["torso_pitch"] = _lerp(pose["torso_pitch"], -PI / 2 + 0.1, back)
        pose["root_z"] = pose["root_z"] + rng.uniform(0.2, 0.5) * slide
        pose = _relax_arms(pose, settle, rng, -1)
    elif way == 1:  # topples out sideways, ends curled on the side
        s = float(rng.choice([-1.0, 1.0]))
        pose["body_roll"] = s * PI / 2 * tip
        pose = _side_limbs(pose, settle, rng, "r_" if s > 0 else "l_")
        pose["root_x"] = -s * rng.uniform(0.3, 0.6) * np.sin(np.abs(pose["body_roll"]))
    else:  # pitches forward out of the chair, arms out, lands face down
        pose["body_pitch"] = PI / 2 * tip
        reach = _smooth(u / 0.5) * (1 - settle)
        for p in ("l_", "r_"):
            straighten = _smooth(u / 0.75)
            pose[p + "th_f"] = _lerp(pose[p + "th_f"], rng.uniform(0.0, 0.4), straighten)
            pose[p + "sh_f"] = _lerp(pose[p + "sh_f"], pose[p + "th_f"] - rng.uniform(0.0, 0.3),
                                     straighten)
            pose[p + "ua_f"] = _lerp(pose[p + "ua_f"], rng.uniform(1.5, 2.2), reach)
            pose[p + "fa_f"] = _lerp(pose[p + "fa_f"], rng.uniform(1.6, 2.3), reach)
        pose = _flat_legs(_relax_arms(pose, settle, rng, 1), settle, rng, 1)
        pose["torso_pitch"] = _lerp(pose["torso_pitch"], 0.02, settle)
        pose["root_z"] = pose["root_z"] + rng.uniform(0.4, 0.8) * np.sin(pose["body_pitch"])
    return stir(t, pose, rng, settle)


def lie(t, body, rng, side):
    """Lying on the floor or a bed (0-0.6 m up) on the back, a side or the front, facing
    any way: breathing, an arm or leg moving, sometimes turning over once."""
    T = len(t)
    pose = neutral(T)
    D = float(t[-1] - t[0]) + (float(t[1] - t[0]) if T > 1 else 1 / 30)
    # roll +-pi/2 lays the body on a side; the pitch then turns it about its long axis:
    # -pi/2 on the back, 0 on the side, +pi/2 on the front
    pose["body_roll"] = np.full(T, float(rng.choice([-1.0, 1.0])) * PI / 2)
    start = float(rng.choice([-1.0, 0.0, 1.0]))
    turn = np.zeros(T)
    turned = rng.random() < 0.35
    if turned:  # turns over once, a quarter turn
        dur = min(rng.uniform(0.8, 2.0), 0.6 * D)
        t0 = float(t[0]) + rng.uniform(0.0, D - dur)
        to = float(rng.choice([-1.0, 1.0])) if start == 0 else 0.0
        turn = (to - start) * _smooth((t - t0) / dur)
    pose["body_pitch"] = (start + turn) * PI / 2
    pose["yaw"] = np.full(T, rng.uniform(0, 2 * PI))
    bed = 0.0 if rng.random() < 0.5 else rng.uniform(0.25, 0.6)
    pose["root_dy"] = np.full(T, bed)
    pose = _lying_limbs(pose, np.ones(T), rng, start)
    if start < 0 and rng.random() < 0.25:  # on the back, one foot drawn up
        p = "l_" if rng.random() < 0.5 else "r_"
        pose[p + "th_f"] = np.full(T, rng.uniform(0.6, 1.0))
        pose[p + "sh_f"] = pose[p + "th_f"] - rng.uniform(0.6, 1.2)
    if turned:  # the limbs settle for the new side as the body turns
        pose = _lying_limbs(pose, _smooth((t - t0) / dur), rng, to)
    return stir(t, pose, rng, np.ones(T),
                 keys=("l_ua_f", "r_ua_f", "l_ua_a", "r_ua_a", "l_th_f", "r_th_f",
                       "head_yaw", "head_pitch"))


def sit_still(t, body, rng, side):
    """Seated on a chair the whole clip: hands, head and lean shifting a little, sometimes
    the legs crossed; never standing up."""
    T = len(t)
    pose = _sit_pose(neutral(T), np.ones(T), rng)
    pose["torso_pitch"] = pose["torso_pitch"] + rng.uniform(-0.25, 0.3)  # slouch or lean in
    pose["head_pitch"] = pose["head_pitch"] + rng.uniform(-0.1, 0.45)
    main, other = _arm_names(side)
    hands = rng.integers(0, 4)  # 0 on the lap, 1 phone or cup in front, 2 arms folded, 3 chin
    if hands == 1:
        pose[main + "ua_f"] = np.full(T, rng.uniform(0.2, 0.7))
        pose[main + "fa_f"] = np.full(T, rng.uniform(1.3, 2.0))
    elif hands == 2:
        for p in ("l_", "r_"):
            pose[p + "ua_f"] = np.full(T, rng.uniform(0.2, 0.5))
            pose[p + "fa_f"] = np.full(T, rng.uniform(1.4, 1.7))
            pose[p + "fa_a"] = np.full(T, -rng.uniform(0.8, 1.2))
    elif hands == 3:
        pose[main + "ua_f"] = np.full(T, rng.uniform(0.5, 1.0))
        pose[main + "fa_f"] = np.full(T, rng.uniform(2.5, 2.9))
        pose[main + "fa_a"] = np.full(T, -rng.uniform(0.3, 0.7))
    if rng.random() < 0.3:  # one leg crossed over the other
        top = main if rng.random() < 0.5 else other
        pose[top + "th_f"] = pose[top + "th_f"] + rng.uniform(0.1, 0.35)
        pose[top + "th_a"] = np.full(T, -rng.uniform(0.2, 0.4))
        pose[top + "sh_f"] = pose[top + "th_f"] - rng.uniform(1.1, 1.5)
    # a gesture: one hand lifts and comes back once
    if rng.random() < 0.5:
        D = float(t[-1] - t[0]) + 1e-3
        g = _bump(t - t[0], rng.uniform(0.2, 0.8) * D, rng.uniform(0.15, 0.4) * D)
        pose[main + "ua_f"] = pose[main + "ua_f"] + rng.uniform(0.3, 0.8) * g
        pose[main + "fa_f"] = pose[main + "fa_f"] + rng.uniform(0.3, 1.0) * g
    return stir(t, pose, rng, np.ones(T),
                 keys=("l_ua_f", "r_ua_f", "head_yaw", "head_pitch", "torso_roll"))


#: Label -> program. JHMDB's names where the meaning is the same (see module docstring).
PROGRAMS: Dict[str, Program] = {
    "walk": walk, "run": run, "jump": jump, "wave": wave, "wave_both": wave_both,
    "clap": clap, "squat": squat, "sit": sit, "stand": stand, "punch": punch, "kick": kick,
    "pick": pick, "throw": throw, "catch": catch, "golf": golf, "pour": pour,
    "pullup": pullup, "push": push, "idle": idle,
    "fall_forward": fall_forward, "fall_backward": fall_backward,
    "fall_sideways": fall_sideways, "fall_chair": fall_chair, "lie": lie,
    "sit_still": sit_still,
}
