"""Speed of the pipeline on a video: per-stage time per frame, end-to-end FPS, and the same
video through decoding + the pose estimator alone (the reference the pipeline is compared
against: everything after the pose net should be nearly free).

Two ratios say what the rest of the pipeline costs. ``ratio_to_reference``: end-to-end FPS
over a separate pass that decodes and runs the pose estimator on every whole frame.
``pose_stage_share``: within the pipeline's own passes, the share of the time spent
decoding and in the pose stage (the regions around the tracked people, the tight looks
that tell a person's left from right, the net, the maps): the pipeline's pose stage does
more than one whole-frame look per frame (about one tight look in twenty frames on the
demo), which the first ratio counts against the rest of the pipeline and the second does
not.

Runs alternate reference and pipeline passes ``repeats`` times and report medians, so that
a machine's slow moments hit both alike."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, List, Optional

from .pipeline import STAGES, Pipeline, StageTimes
from .video import VideoFileSource


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def reference_fps(path: str, pose, frames: Optional[int] = None,
                  clock: Callable[[], float] = time.perf_counter) -> float:
    """Frames per second of decoding ``path`` and running ``pose.estimate`` on each frame."""
    with VideoFileSource(path) as src:
        n = 0
        t0 = clock()
        for frame in src:
            pose.estimate(frame.image)
            n += 1
            if frames is not None and n >= frames:
                break
        return n / (clock() - t0)


def pipeline_pass(path: str, pose, action, frames: Optional[int] = None,
                  draw: bool = False, clock: Callable[[], float] = time.perf_counter,
                  **pipeline_options) -> StageTimes:
    """One pass of the whole pipeline over ``path``; returns its stage times."""
    pipe = Pipeline(pose, action, times=StageTimes(clock=clock), **pipeline_options)
    with VideoFileSource(path) as src:
        for _ in pipe.run(src, max_frames=frames, draw=draw):
            pass
    return pipe.times


def benchmark(path: str, pose, action, *, frames: Optional[int] = None, repeats: int = 3,
              draw: bool = False, reference: bool = True, clock: str = "wall",
              progress: Optional[Callable[[str], None]] = None,
              **pipeline_options) -> Dict:
    """Medians over ``repeats`` alternating passes. Returns a JSON-able dict: per-stage
    ms/frame, end-to-end FPS, action ms per person step, and (with ``reference``) the FPS of
    decoding + pose alone and the pipeline's ratio to it. ``clock``: "wall" (what a user
    sees) or "cpu" (process CPU time: steadier on a shared machine; FPS is then frames per
    CPU second, so use one interpreter thread)."""
    tick = CLOCKS[clock]
    passes: List[StageTimes] = []
    refs: List[float] = []
    for r in range(repeats):
        if reference:
            refs.append(reference_fps(path, pose, frames, tick))
        passes.append(pipeline_pass(path, pose, action, frames, draw, tick,
                                    **pipeline_options))
        if progress is not None:
            progress(f"pass {r + 1}/{repeats}: pipeline {passes[-1].fps:.1f} FPS"
                     + (f", decode+pose {refs[-1]:.1f} FPS" if refs else ""))
    med = statistics.median
    with VideoFileSource(path) as src:
        info = src.info
    out = {
        "video": str(path), "width": info.width, "height": info.height,
        "frames": passes[0].frames, "repeats": repeats, "clock": clock,
        "people_per_frame": round(passes[0].steps / max(passes[0].processed, 1), 2),
        "ms_per_frame": {s: round(med([p.per_frame_ms()[s] for p in passes]), 3)
                         for s in STAGES},
        "fps": round(med([p.fps for p in passes]), 2),
        "action_ms_per_person": round(med([p.action_ms_per_person for p in passes]), 4),
        "pose_stage_share": round(med([pose_stage_share(p) for p in passes]), 3),
    }
    if reference:
        out["reference_fps"] = round(med(refs), 2)
        out["ratio_to_reference"] = round(out["fps"] / out["reference_fps"], 3) \
            if out["reference_fps"] else None
    return out


#: The stages :func:`pose_stage_share` counts: reading frames and finding people in them.
POSE_STAGE = ("decode", "pose", "maps")


def pose_stage_share(times: StageTimes) -> float:
    """Share of a pass's time (``times.wall``) spent decoding and in the pose stage."""
    inside = sum(times.seconds[s] for s in POSE_STAGE)
    return inside / times.wall if times.wall > 0 else 0.0


def format_report(result: Dict) -> str:
    """The human-readable table `pipan benchmark` prints."""
    lines = [f"{result['video']}: {result['width']}x{result['height']}, "
             f"{result['frames']} frames, median of {result['repeats']} runs "
             f"({result.get('clock', 'wall')} clock), "
             f"{result['people_per_frame']} people per frame",
             "stage        ms/frame"]
    for stage, ms in result["ms_per_frame"].items():
        lines.append(f"  {stage:<10} {ms:8.3f}")
    lines.append(f"end to end   {result['fps']:.1f} FPS")
    lines.append(f"action step  {result['action_ms_per_person']:.3f} ms per person")
    lines.append(f"decode + pose stage (regions, tight looks, net, maps): "
                 f"{100 * result['pose_stage_share']:.0f}% of the pipeline's time")
    if "reference_fps" in result:
        lines.append(f"decode + pose alone {result['reference_fps']:.1f} FPS; pipeline at "
                     f"{100 * (result['ratio_to_reference'] or 0):.0f}% of it")
    return "\n".join(lines)
