"""``python -m training pose ...``: train and evaluate the pose net."""
from __future__ import annotations

import json
import shlex

import click

from pipan.cli import PipanGroup

from .targets import SIDE_GROUP_NAMES


@click.group(name="pose", cls=PipanGroup)
def group() -> None:
    """The pose net: train it on COCO-format keypoint data, evaluate it."""


def _widths(text: str | None):
    if not text:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter("comma-separated whole numbers, e.g. 32,48,...") from None


def _command(ctx: click.Context) -> str:
    """The command line that reproduces this run (every option spelled out, no --resume)."""
    parts = ["python -m training pose", ctx.command.name]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        flag = param.opts[0]
        if value is None or param.name == "resume" or value == ():
            continue
        if getattr(param, "is_flag", False):  # a flag takes no value: there or not
            if value:
                parts.append(flag)
            continue
        if param.nargs > 1:  # one option, several values: --scale 0.6 1.8
            parts += [flag, *(shlex.quote(str(v)) for v in value)]
            continue
        for v in (value if isinstance(value, tuple) else (value,)):
            parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)


@group.command()
@click.option("--data", "data", multiple=True, required=True,
              type=click.Path(exists=True), help="COCO keypoints JSON file or folder "
              "(repeat for more)")
@click.option("--val", "val", multiple=True, type=click.Path(exists=True),
              help="held-out COCO data for a validation loss (repeatable)")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="model directory to write (model.keras, config.json, loss.png)")
@click.option("--epochs", default=10, show_default=True)
@click.option("--steps", "steps_per_epoch", default=100, show_default=True,
              help="batches per epoch")
@click.option("--batch", "batch_size", default=8, show_default=True)
@click.option("--lr", "learning_rate", default=2e-3, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--stages", default=2, show_default=True)
@click.option("--stage-width", default=128, show_default=True)
@click.option("--stage-depth", default=4, show_default=True)
@click.option("--backbone-widths", default=None,
              help="11 comma-separated widths of layers 2-12 (default: the full-size net)")
@click.option("--sigma", default=1.0, show_default=True,
              help="joint Gaussian's sigma, in map cells (8 px)")
@click.option("--limb-width", default=1.0, show_default=True,
              help="half-width of a limb's PAF band, in map cells")
@click.option("--rotate", default=30.0, show_default=True,
              help="augmentation: largest rotation (degrees)")
@click.option("--lying", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="augmentation: fraction of images turned a quarter turn more (upright "
              "people become people lying on the floor)")
@click.option("--zoom", default=0.25, show_default=True,
              help="augmentation: scale drawn from [1 - zoom, 1 + zoom]")
@click.option("--scale", "scale_range", nargs=2, type=float, default=None,
              help="augmentation: scale drawn from [LO, HI] (overrides --zoom), e.g. 0.6 1.8 "
              "so people also appear as large as in the runtime's crops around them")
@click.option("--shift", default=0.15, show_default=True,
              help="augmentation: largest shift (fraction of the input size)")
@click.option("--paste", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="augmentation: fraction of images that get 1-3 real people pasted on "
              "(cut out with the person masks of labelled frame folders, e.g. DAVIS)")
@click.option("--paste-lying", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="augmentation: fraction of the pasted people laid down on the floor (a "
              "quarter turn, flattened, low in the image)")
@click.option("--paste-lying-edge", default=0.0, show_default=True,
              type=click.FloatRange(0, 1),
              help="augmentation: fraction of the people laid down who lie across the "
              "image's bottom edge, cut by it (a floor at the lower edge of a camera high "
              "on a wall)")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              help="start from this trained pose model directory's weights (same builder "
              "options), e.g. to fine-tune on teacher labels")
@click.option("--either-side", is_flag=True,
              help="loss: per image, the lower of the loss against the targets and against "
              "them with left and right swapped (the net may swap a person's sides, but "
              "keeps a pair's two joints apart instead of blurring them into one place)")
@click.option("--either-side-per-group", "per_group", is_flag=True,
              help="--either-side, with the choice made for the face, the arms and the "
              "legs apart (a person's arms may read as seen from the front and their legs "
              "as seen from behind)")
@click.option("--either-side-group", "side_groups", multiple=True,
              type=click.Choice(list(SIDE_GROUP_NAMES)),
              help="--either-side-per-group for this group only (repeatable); the other "
              "groups keep the plain loss (e.g. legs: their two joints kept apart, the arms "
              "trained as before)")
@click.option("--resume", is_flag=True, help="continue from OUT/checkpoint.keras")
def train(data, val, out, epochs, steps_per_epoch, batch_size, learning_rate, seed, stages,
          stage_width, stage_depth, backbone_widths, sigma, limb_width, rotate, lying, zoom,
          scale_range, shift, paste, paste_lying, paste_lying_edge, init, either_side,
          per_group, side_groups, resume) -> None:
    """Train the pose net on COCO-format data and write a model directory.

    \b
    Example:
      python -m training pose train --data synth/ --out runs/pose --epochs 20
    """
    from .targets import Augment
    from .train import train as run
    builder = {"stages": stages, "stage_width": stage_width, "stage_depth": stage_depth}
    widths = _widths(backbone_widths)
    if widths:
        if len(widths) != 11:
            raise click.BadParameter("give 11 widths (layers 2-12)",
                                     param_hint="--backbone-widths")
        builder["backbone_widths"] = list(widths)
    command = _command(click.get_current_context())
    config = run(list(data), out, builder=builder, epochs=epochs,
                 steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                 learning_rate=learning_rate, seed=seed, resume=resume, val_data=list(val),
                 augment=Augment(scale=tuple(scale_range) if scale_range else (1 - zoom, 1 + zoom),
                                 rotate_deg=rotate, shift=shift,
                                 paste=paste, lying=lying, paste_lying=paste_lying,
                                 paste_lying_edge=paste_lying_edge),
                 sigma=sigma, limb_width=limb_width, command=command, init=init,
                 either_side=either_side, per_group=per_group,
                 side_groups=list(side_groups) or None)
    m = config["metrics"]
    click.echo(f"wrote {out}/model.keras and config.json (final loss {m.get('loss')})")


@group.command()
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="output folder: annotations.json and links to the sources' folders")
@click.argument("sources", nargs=-1, required=True)
def mix(out, sources) -> None:
    """Merge COCO keypoint sources into one (e.g. a calibration set for `pipan convert`).

    Each SOURCE is a COCO folder or file, optionally with ':N' to take its first N images
    (by file name). Images are not copied: OUT links to each source's folder.

    \b
    Example:
      python -m training pose mix --out runs/calib-mix runs/synth-train:600 runs/teacher-real
    """
    from .coco import mix_coco
    n_images, n_people = mix_coco(sources, out)
    click.echo(f"{out}/annotations.json: {n_images} images, {n_people} people")


@group.command()
@click.option("--model", required=True, type=click.Path(exists=True),
              help="trained model directory or .tflite")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(exists=True),
              help="COCO keypoints JSON/folder, or a clip folder with pos_img.npy")
@click.option("--alpha", default=0.2, show_default=True, help="PCK threshold")
@click.option("--threads", type=int, default=None, help="TFLite threads")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
def evaluate(model, data, alpha, threads, as_json) -> None:
    """PCK@alpha and COCO OKS AP of a pose model on each data source.

    \b
    Example:
      python -m training pose evaluate --model pipan/models/pose.tflite \\
          --data ../shared/data/coco-mini --data ../shared/data/jhmdb-clip
    """
    from .evaluate import evaluate as run
    results = run(model, list(data), alpha, threads)
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    for r in results:
        line = f"{r['source']}: {r['images']} images, PCK@{alpha} {r['pck']:.3f} " \
               f"({r['joints']} joints)"
        if "ap" in r:
            line += f", AP {r['ap']:.3f}"
        click.echo(line)


@group.command()
@click.argument("tflite", type=click.Path(exists=True, dir_okay=False))
@click.option("--images", "images", multiple=True, required=True,
              type=click.Path(exists=True),
              help="COCO keypoints JSON file or folder whose images set the batch "
              "normalisations' statistics (repeat for more; real footage is best)")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="output model directory (model.keras + config.json)")
@click.option("--count", default=64, show_default=True, type=click.IntRange(1),
              help="images to draw")
@click.option("--seed", default=0, show_default=True, help="which images are drawn")
def thaw(tflite, images, out, count, seed) -> None:
    """Rebuild a trainable model directory from a converted pose .tflite (e.g. the bundled
    pipan/models/pose.tflite), to fine-tune it with ``train --init``.

    \b
    Example:
      python -m training pose thaw pipan/models/pose.tflite \\
          --images runs/teacher-real --out runs/pose-bundled
    """
    from .thaw import thaw as run
    config = run(tflite, list(images), out, count=count, seed=seed,
                 command=_command(click.get_current_context()))
    t = config["thawed"]
    click.echo(f"wrote {out}/model.keras and config.json ({config['builder']['stages']} "
               f"stages); maps against the int8 model's on {t['images']} images: heatmaps "
               f"{t['heatmap_mean_abs_diff']} mean / {t['heatmap_max_abs_diff']} largest "
               f"difference, fields {t['paf_mean_abs_diff']} / {t['paf_max_abs_diff']}")
