"""``python -m training distill``: teacher labels for pipan's pose net."""
from __future__ import annotations

import shlex
import sys

import click

from pipan.cli import PipanGroup


#: The teacher-labelled folder a command reads.
LABELS = click.option("--labels", required=True,
                      type=click.Path(exists=True, file_okay=False, readable=True),
                      help="A teacher-labelled folder (`distill label` output).")


@click.group(name="distill", cls=PipanGroup)
def group() -> None:
    """Learn the pose net from a teacher (BlazePose) on real, unlabelled video."""


@group.command("label")
@click.option("--videos", "videos", required=True,
              type=click.Path(exists=True, file_okay=False, readable=True),
              help="Folder of videos (searched recursively).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Output folder: images/, parts/, annotations.json.")
@click.option("--every", default=2, show_default=True, type=click.IntRange(min=1),
              help="Label every k-th frame.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes labelling videos in parallel (one interpreter thread each).")
@click.option("--model-dir", default=None, type=click.Path(file_okay=False),
              help="Folder with pose_detection.tflite and pose_landmark_full.tflite "
                   "(default: $PIPAN_BLAZEPOSE_DIR, an installed mediapipe, "
                   "~/.cache/pipan/blazepose).")
@click.option("--max-side", default=640, show_default=True, type=click.IntRange(min=0),
              help="Shrink saved images to this longer side (0: keep).")
@click.option("--max-people", default=4, show_default=True, type=click.IntRange(min=1),
              help="People per frame at most.")
@click.option("--min-score", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Detector score threshold.")
@click.option("--passes", default=2, show_default=True, type=click.IntRange(min=1),
              help="Landmark runs per person (each from the previous run's region).")
@click.option("--landmark", default="auto", show_default=True,
              type=click.Choice(["auto", "heavy", "full"]),
              help="Teacher landmark model: auto = heavy where pose_landmark_heavy.tflite is "
                   "in the model folder, else full.")
@click.option("--no-people", is_flag=True,
              help="The footage shows nobody: store every frame as a negative (empty "
                   "targets) without running the teacher.")
@click.option("--track", is_flag=True,
              help="Also look for the previous labelled frame's people where they were.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def label(videos, out, every, workers, model_dir, max_side, max_people, min_score, passes,
          landmark, no_people, track, quiet):
    """Label every k-th frame of every video (or folder of frames) with BlazePose, as COCO
    keypoints.

    Writes OUT/images/*.jpg and OUT/annotations.json (COCO-17 x, y, v plus per-person
    `keypoint_scores`, the teacher's confidences). Finished videos are kept in OUT/parts/,
    so running the same command again resumes.

    \b
    Example:
      python -m training distill label --videos ../shared/data/videos --out /tmp/teacher \\
          --every 2 --workers 2
    """
    from .label import LabelOptions, label_videos
    options = LabelOptions(every=every, max_side=max_side, max_people=max_people,
                           min_score=min_score, passes=passes, track=track,
                           landmark=landmark, no_people=no_people, model_dir=model_dir)
    command = "python -m training " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    s = label_videos(videos, out, options, workers=workers, show_progress=not quiet,
                     command=command)
    for err in s.skipped:
        click.echo(f"skipped: {err}", err=True)
    click.echo(f"{s.path}: {s.images} images, {s.annotations} people from {s.videos} "
               f"videos ({s.labelled} labelled now, {s.videos - s.labelled - len(s.skipped)}"
               f" resumed) in {s.seconds:.1f} s")


@group.command("backgrounds")
@LABELS
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: images/ and annotations.json (negatives).")
@click.option("--per-image", default=1, show_default=True, type=click.IntRange(1, 8),
              help="Regions cut from each frame at most.")
@click.option("--only", multiple=True,
              help="Cut only from frames whose file name starts with this (repeatable): "
                   "leave out footage with crowds or distant people the teacher does not "
                   "label.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--model-dir", default=None, type=click.Path(file_okay=False),
              help="Folder with BlazePose's pose_detection.tflite (default: "
                   "$PIPAN_BLAZEPOSE_DIR, an installed mediapipe, ~/.cache/pipan/blazepose).")
def backgrounds(labels, out, per_image, only, seed, model_dir):
    """Cut regions with nobody in them out of teacher-labelled frames: hard negatives
    (stools, poles, furniture beside the people) with empty targets.

    A region keeps clear of every labelled person, and BlazePose's person detector must
    find nobody in it.

    \b
    Example:
      python -m training distill backgrounds --labels runs/teacher-real --out runs/bg-neg
    """
    from .backgrounds import BackgroundOptions, background_crops, teacher_detector
    command = "python -m training " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    s = background_crops(labels, out, teacher_detector(model_dir),
                         BackgroundOptions(per_image=per_image, only=tuple(only), seed=seed),
                         command=command)
    click.echo(f"{s.path}: {s.regions} regions with nobody from {s.frames} frames "
               f"({s.rejected_by_detector} dropped: the detector saw someone)")


@group.command("masks")
@LABELS
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: masks/ and annotations.json (the images stay where "
                   "the labels have them).")
def masks(labels, out):
    """Cut a mask for each frame whose one labelled person is seen whole (GrabCut from the
    teacher's skeleton), so that `training pose train --paste` can paste that person
    elsewhere. Frames that already have a mask (DAVIS) are left to their own.

    \b
    Example:
      python -m training distill masks --labels runs/teacher-real --out runs/teacher-masks
    """
    from pathlib import Path

    from .masks import make_masks
    c = make_masks(Path(labels), Path(out))
    click.echo(f"{out}: {c['masked']} masks of the {c['one_whole_person']} frames with one "
               f"person seen whole ({c['frames']} frames)")
