"""A random pinhole camera around a person, and projection to image pixels.

World: metres, ``y`` up (the body module's frame). Camera: ``x`` right, ``y`` down, ``z``
forward; pixel = focal * (x, y) / z + principal point. The camera sits at ``distance``
from an aim point, at an azimuth ``yaw`` all round the person and an elevation ``pitch``
(positive = looking down), with a little roll and per-frame shake.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Camera:
    """One camera for a clip. ``shake`` is ``(T, 3)`` small extra rotations (rad)."""

    width: int
    height: int
    focal: float              # pixels
    yaw: float                # azimuth of the camera around the aim point (rad)
    pitch: float              # elevation, positive = above, looking down (rad)
    roll: float               # rad
    distance: float           # metres from the aim point
    offset: Tuple[float, float]  # principal point shift from the image centre (pixels)
    shake: np.ndarray         # (T, 3) rad

    def rotation(self) -> np.ndarray:
        """(T, 3, 3) world -> camera rotation per frame (rows: right, down, forward)."""
        yaw = self.yaw + self.shake[:, 0]
        pitch = self.pitch + self.shake[:, 1]
        roll = self.roll + self.shake[:, 2]
        # forward points from the camera towards the aim point
        fwd = np.stack([-np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                        -np.cos(yaw) * np.cos(pitch)], -1)
        right = np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], -1)
        down = np.cross(fwd, right)
        c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
        right, down = c * right + s * down, -s * right + c * down
        return np.stack([right, down, fwd], -2)


def random_camera(rng: np.random.Generator, frames: int, *, width: int = 640,
                  height: int = 480, person_height: float = 1.7,
                  fill: Optional[float] = None, shake: float = 1.0,
                  off_centre: float = 1.0) -> Camera:
    """A random camera that shows a person of ``person_height`` metres about ``fill`` of the
    image height tall (random when None: mostly 0.35-0.9, sometimes larger, so that the
    person is partly out of frame), from any direction all round."""
    focal = float(width * rng.uniform(0.75, 1.7))
    if fill is None:
        # 1/4 of clips are close-ups (upper body, legs out of frame), as in many real clips
        fill = float(rng.uniform(0.35, 0.9) if rng.random() < 0.75 else rng.uniform(0.9, 1.8))
    distance = focal * person_height / (fill * height)
    amp = shake * rng.uniform(0.0005, 0.004)
    steps = rng.normal(0.0, amp, (frames, 3))
    walk = np.cumsum(steps, 0)
    walk -= walk.mean(0)
    jitter = walk + rng.normal(0.0, amp * 0.5, (frames, 3))
    offset = (float(rng.uniform(-0.22, 0.22) * width * off_centre),
              float(rng.uniform(-0.15, 0.15) * height * off_centre))
    return Camera(width=width, height=height, focal=focal, yaw=float(rng.uniform(0, 2 * np.pi)),
                  pitch=float(rng.uniform(-0.1, 0.45) if rng.random() < 0.8
                              else rng.uniform(0.45, 0.8)),  # some cameras mounted high
                  roll=float(rng.normal(0, 0.03)),
                  distance=float(distance), offset=offset, shake=jitter)


def project(points: np.ndarray, camera: Camera, aim: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Project world points ``(T, J, 3)`` seen by ``camera`` aimed at ``aim`` ``(T, 3)`` or
    ``(3,)``; returns pixels ``(T, J, 2)`` and depth along the view axis ``(T, J)`` (metres).

    Points behind the camera get depth <= 0 and meaningless pixels; callers mark them
    out of frame."""
    R = camera.rotation()  # (T, 3, 3)
    aim = np.broadcast_to(np.asarray(aim, np.float64), (points.shape[0], 3))
    centre = aim - R[:, 2, :] * camera.distance  # camera position per frame
    rel = points - centre[:, None, :]
    cam = np.einsum("tij,tkj->tki", R, rel)
    z = cam[..., 2]
    safe = np.where(z > 1e-3, z, 1e-3)
    xy = camera.focal * cam[..., :2] / safe[..., None]
    xy[..., 0] += camera.width / 2 + camera.offset[0]
    xy[..., 1] += camera.height / 2 + camera.offset[1]
    return xy, z


def room_camera(rng: np.random.Generator, frames: int, *, width: int = 640,
                height: int = 480, person_height: float = 1.7) -> Tuple[Camera, float]:
    """A fixed camera high up in a room (a Pi on a shelf, a wall-mounted camera): 1.8-2.6 m
    up, 2-6 m from the person, looking down 15-45 degrees, wide-angle. Returns the camera
    and the height (m) of its aim point above the person's start position: the optical
    axis passes there, so the person of ``person_height`` m stays in the picture (a tall
    person close under a steep camera may lose the feet or the head; one who walks off
    may leave it)."""
    up = float(rng.uniform(1.8, 2.6))
    away = float(rng.uniform(2.0, 6.0))
    # wide-angle; a person never much taller than the picture (the camera sees the room)
    focal = float(min(width * rng.uniform(0.55, 1.1),
                      0.9 * height * np.hypot(away, up - 0.5 * person_height) / person_height))
    centre = float(np.arctan2(up - 0.5 * person_height, away))  # towards mid-body
    half_fov = float(np.arctan2(height / 2, focal))
    pitch = float(np.clip(centre + rng.uniform(-0.4, 0.4) * half_fov,
                          np.radians(15), np.radians(45)))
    aim_y = up - away * np.tan(pitch)
    shake = rng.normal(0.0, 0.0003, (frames, 3))  # a fixed mount: vibration only
    offset = (float(rng.uniform(-0.1, 0.1) * width), float(rng.uniform(-0.08, 0.08) * height))
    cam = Camera(width=width, height=height, focal=focal, yaw=float(rng.uniform(0, 2 * np.pi)),
                 pitch=pitch, roll=float(rng.normal(0, 0.02)), distance=float(away / np.cos(pitch)),
                 offset=offset, shake=shake)
    return cam, float(aim_y)
