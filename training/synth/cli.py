"""``python -m training synth ...``: make synthetic skeletons, images and videos."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from pipan.cli import PipanGroup
from pipan.errors import PipanError


class SynthError(PipanError):
    """Bad arguments for a synthetic-data command."""


def _size(value: str) -> tuple:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected WIDTHxHEIGHT such as 640x480, got {value!r}")
    if w < 64 or h < 64:
        raise click.BadParameter(f"{value}: width and height must be at least 64")
    return w, h


def _library(call, *args, **kwargs):
    """Library ValueErrors (bad combinations of arguments) become one-line CLI errors."""
    try:
        return call(*args, **kwargs)
    except ValueError as e:
        raise SynthError(str(e)) from None


def _actions(value: str, vocabulary: bool = False) -> tuple:
    """``--actions``: comma-separated programs; 'all' is every program; empty is the
    default set (every program the vocabulary maps when ``vocabulary``)."""
    from .motions import ACTIONS, ALL_ACTIONS
    acts = tuple(a.strip() for a in value.split(",") if a.strip())
    if acts == ("all",) or (not acts and vocabulary):
        return ALL_ACTIONS
    return acts or ACTIONS


@click.group("synth", cls=PipanGroup)
def group() -> None:
    """Synthetic people: skeleton clips, rendered frames, videos with ground truth."""


@group.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The .npz dataset to write.")
@click.option("--clips", type=click.IntRange(1), default=1900, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--min-frames", type=click.IntRange(1), default=20, show_default=True)
@click.option("--max-frames", type=click.IntRange(1), default=45, show_default=True)
@click.option("--fps", type=click.FloatRange(1, 240), default=30.0, show_default=True)
@click.option("--noise", type=click.FloatRange(0, 5), default=1.0, show_default=True,
              help="Scale of the simulated detector's errors (0 = exact joints).")
@click.option("--actions", default="",
              help="Comma-separated programs (default: the everyday ones, without falls, "
                   "lying and sitting still; with --vocabulary or 'all' every program).")
@click.option("--vocabulary", is_flag=True,
              help="Label clips with the bundled model's vocabulary (pipan.vocabulary) and "
                   "give every vocabulary label the same share of clips ('unknown' 1.25x).")
@click.option("--high-camera", type=click.FloatRange(0, 1), default=0.4, show_default=True,
              help="Share of clips seen by a fixed camera high up in a room.")
def motions(out, clips, seed, min_frames, max_frames, fps, noise, actions, vocabulary,
            high_camera):
    """Write labelled skeleton clips (COCO-18, pixels of a 640x480 virtual camera, score)
    in pipan's dataset format, with a seeded 'test' column (a quarter of each program's
    clips).

    \b
    Examples:
      python -m training synth motions --out synth.npz --clips 1900 --seed 0
      python -m training synth motions --out vocab.npz --clips 4000 --vocabulary
      python -m training synth motions --out falls.npz --actions fall_forward,lie --vocabulary
    """
    from pipan import dataset
    from .motions import generate_dataset, vocabulary_dataset
    acts = _actions(actions, vocabulary)
    common = dict(fps=fps, min_frames=min_frames, max_frames=max_frames, noise=noise,
                  high_camera=high_camera)
    if vocabulary:
        data = _library(vocabulary_dataset, clips, seed, actions=acts, **common)
    else:
        data = _library(generate_dataset, clips, seed, actions=acts, **common)
    dataset.save(data, out)
    click.echo(f"{out}: {len(data)} clips, {data.keypoints.shape[0]} frames, "
               f"{len(data.classes)} actions, {int(data.test.sum())} test clips")


@group.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for annotations.json and the images.")
@click.option("--images", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=click.IntRange(32, 4096), default=224, show_default=True,
              help="Square image side (pixels).")
@click.option("--format", "ext", type=click.Choice(["jpg", "png"]), default="jpg",
              show_default=True)
@click.option("--actions", default="",
              help="Comma-separated programs the people are caught in (default: the "
                   "everyday ones; 'all' adds falls, lying and sitting still).")
def frames(out, images, seed, size, ext, actions):
    """Write rendered people and a COCO keypoint JSON (COCO-17, x/y/v) in one folder.

    \b
    Example:
      python -m training synth frames --out synth-coco --images 1000 --seed 0
    """
    from .coco import write_coco
    path = _library(write_coco, out, images, seed, size=size, ext=ext,
                    actions=_actions(actions) if actions else None)
    click.echo(f"{path}: {images} images of {size}x{size}")


@group.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The .mp4 to write; the ground truth goes to the same name with .json.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seconds", type=click.FloatRange(0.1, 600), default=10.0, show_default=True)
@click.option("--people", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--size", default="640x480", show_default=True, help="WIDTHxHEIGHT")
@click.option("--fps", type=click.FloatRange(1, 60), default=15.0, show_default=True)
@click.option("--keypoints/--no-keypoints", default=True, show_default=True,
              help="Store per-frame ground-truth keypoints in the sidecar.")
@click.option("--actions", default="",
              help="Comma-separated programs people chain (default: the everyday ones; "
                   "'all' adds falls, lying and sitting still).")
@click.option("--high-camera", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Chance that the camera is high up in the room, looking down.")
def video(out, seed, seconds, people, size, fps, keypoints, actions, high_camera):
    """Write a video of people chaining actions, with a ground-truth sidecar JSON.

    \b
    Example:
      python -m training synth video --out demo.mp4 --seed 0 --seconds 10 --people 2
    """
    from .video import write_video
    w, h = _size(size)
    doc = _library(write_video, out, seed, seconds=seconds, people=people, width=w,
                   height=h, fps=fps, keypoints=keypoints, actions=_actions(actions),
                   high_camera=high_camera)
    click.echo(f"{out}: {doc['frames']} frames at {fps:g} fps, {people} people, "
               f"sidecar {out.with_suffix('.json')}")


@group.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--columns", type=click.IntRange(1, 20), default=6, show_default=True)
@click.option("--rows", type=click.IntRange(1, 20), default=4, show_default=True)
def sheet(out, seed, columns, rows):
    """Write a contact sheet (PNG) of rendered frames with their keypoints drawn.

    \b
    Example:
      python -m training synth sheet --out docs/img/synthetic_contact_sheet.png --seed 0
    """
    from .sheet import write_contact_sheet
    _library(write_contact_sheet, out, seed, columns=columns, rows=rows)
    click.echo(f"{out}: {rows}x{columns} frames")


@group.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The .npz dataset to write.")
@click.option("--videos", type=click.IntRange(1), default=60, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Derives every video's seed (never 0, the demo's).")
@click.option("--seconds", type=click.FloatRange(1, 600), default=8.0, show_default=True)
@click.option("--people", default="1-2", show_default=True, help="MIN-MAX people per video.")
@click.option("--size", default="640x480", show_default=True, help="WIDTHxHEIGHT")
@click.option("--fps", type=click.FloatRange(1, 60), default=30.0, show_default=True)
@click.option("--min-frames", type=click.IntRange(1), default=15, show_default=True)
@click.option("--max-frames", type=click.IntRange(1), default=60, show_default=True)
@click.option("--pose-model", type=click.Path(dir_okay=False), default=None,
              help="Pose .tflite (default: the bundled one).")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Processes (one video each at a time).")
@click.option("--actions", default="",
              help="Comma-separated programs people chain (default: the everyday ones, or "
                   "with --vocabulary every program it maps; 'all': every program).")
@click.option("--high-camera", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of videos seen from high up in the room, looking down.")
@click.option("--vocabulary", is_flag=True,
              help="Label clips with the bundled model's vocabulary (pipan.vocabulary).")
def detected(out, videos, seed, seconds, people, size, fps, min_frames, max_frames,
             pose_model, workers, actions, high_camera, vocabulary):
    """Write action clips as the runtime sees them: synthetic videos through pipan's pose
    net, decoder, tracker and smoothing, cut per true action segment (dataset format, a
    seeded 'test' column holding out whole videos).

    \b
    Example:
      python -m training synth detected --out detected.npz --videos 60 --seed 1
    """
    from pipan import dataset
    from .detected import detected_dataset
    w, h = _size(size)
    try:
        lo, hi = (int(v) for v in people.split("-")) if "-" in people else (int(people),) * 2
    except ValueError:
        raise click.BadParameter(f"expected MIN-MAX such as 1-2, got {people!r}")
    bar = click.progressbar(length=videos, label="videos", file=sys.stderr)
    with bar:
        data, stats = _library(detected_dataset, videos, seed, seconds=seconds,
                               people=(lo, hi), fps=fps, width=w, height=h,
                               min_frames=min_frames, max_frames=max_frames,
                               pose_model=pose_model, workers=workers, progress=bar.update,
                               actions=_actions(actions, vocabulary), high_camera=high_camera,
                               vocabulary=vocabulary)
    dataset.save(data, out)
    click.echo(f"{out}: {len(data)} clips ({int(data.test.sum())} test), {stats['frames']} "
               f"frames, {len(data.classes)} actions; true person-frames matched by a "
               f"track {stats['matched_person_frames']}/{stats['person_frames']}")
