"""``python -m training action ...``: train and evaluate the action model."""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Optional, Tuple

import click
import numpy as np

# numpy only: TensorFlow loads when training starts
from .train import DEFAULT_BUILDER, DEFAULT_LAMBDA_JOINTS


def command_line(ctx: click.Context) -> str:
    """The command that reproduces this invocation, rebuilt from its parsed options (so it
    is right however the command was called: shell, ``python -m``, tests)."""
    words = ["python -m training action", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if not isinstance(param, click.Option) or value is None:
            continue
        flag = param.opts[0]
        if param.is_flag:
            if value:
                words.append(flag)
        elif param.multiple:
            for v in value:
                words += [flag, shlex.quote(str(v))]
        else:
            words += [flag, shlex.quote(str(value))]
    return " ".join(words)


@click.group("action")
def group() -> None:
    """The action model (graph network + pose-attention GRU)."""


@group.command("train")
@click.option("--data", "data", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Skeleton dataset .npz (repeatable; clips are pooled).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (model.keras, config.json, PNGs).")
@click.option("--epochs", default=160, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1))
@click.option("--lr", "learning_rate", default=3e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--max-frames", default=64, show_default=True, type=click.IntRange(2),
              help="Longer training clips are cropped to a random window this long.")
@click.option("--hidden", default=DEFAULT_BUILDER["hidden"], show_default=True,
              type=click.IntRange(1),
              help="GRU state size H.")
@click.option("--clusters", default=DEFAULT_BUILDER["clusters"], show_default=True,
              type=click.IntRange(1),
              help="Soft-assignment pooling clusters K.")
@click.option("--lambda-joints", default=DEFAULT_LAMBDA_JOINTS, show_default=True,
              type=float,
              help="Weight of the per-frame joint-attention classifier loss.")
@click.option("--val-fraction", default=0.0, show_default=True,
              type=click.FloatRange(0.0, 0.9, max_open=True),
              help="Evaluate on this seeded fraction of the training clips instead of the "
              "test clips (which then take no part): for choosing settings.")
@click.option("--concat-nodes/--sum-nodes", default=DEFAULT_BUILDER["concat_nodes"],
              show_default=True,
              help="Joint attention concatenates the weighted node embeddings (keeps which "
              "body part is which; docs/action.md) or sums them (the paper's eq. 15).")
@click.option("--joint-embed", default=DEFAULT_BUILDER["joint_embed"], show_default=True,
              type=click.IntRange(0, 1024),
              help="Units of a dense layer with its own weights per joint before the graph "
              "network (0: none, the paper's form; docs/action.md).")
@click.option("--stats-head/--no-stats-head", default=DEFAULT_BUILDER["stats_head"],
              show_default=True,
              help="Add a logistic regression on the running mean and std of the features, "
              "fitted after the network, whose logits add to the network's (docs/action.md).")
@click.option("--rate-augment", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability of training on every 2nd or 3rd frame of a clip (features "
              "at 15 or 10 fps): for runtimes that process fewer than 30 frames a second.")
@click.option("--pose-noise", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A noise model of the pose stage (`noise-model`; the measured one is "
              "training/action/pose_noise.json): its errors are applied to a fraction of "
              "the training clips, so they look like what the runtime sees.")
@click.option("--pose-noise-fraction", default=0.5, show_default=True,
              type=click.FloatRange(0, 1),
              help="Fraction of the training clips (drawn anew each epoch) given the "
              "--pose-noise errors.")
@click.option("--side-swap", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability of a clip with every left and right joint label swapped in "
              "place (a person seen from behind; the pose stage often reads people so): "
              "an action model that does not depend on which side is which.")
@click.option("--no-augment", is_flag=True, help="Train without augmentation.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(data: Tuple[Path, ...], out: Path, epochs: int, batch_size: int,
              learning_rate: float, seed: int, max_frames: int, hidden: int, clusters: int,
              lambda_joints: float, val_fraction: float, concat_nodes: bool,
              joint_embed: int, stats_head: bool, rate_augment: float,
              pose_noise: Optional[Path], pose_noise_fraction: float, side_swap: float,
              no_augment: bool, quiet: bool) -> None:
    """Train on the clips with test=0 (or a seeded 80/20 split per class when the file
    has no test column) and evaluate on the rest.

    The defaults are the training recipe; ``--joint-embed 0 --sum-nodes
    --no-stats-head`` gives the paper's network (the bundled model's form). Ablations are
    a benchmark: ``python -m benchmarks.action_jhmdb``.

    \b
    Example:
      python -m training action train --data ../shared/data/jhmdb14/jhmdb14_split1.npz \\
          --out runs/jhmdb
    """
    from pipan.dataset import load

    from .data import NO_AUGMENT, Augment, concat
    from .pose_noise import load_noise
    from .train import train

    noise = None if pose_noise is None else load_noise(pose_noise)
    dataset = concat([load(p) for p in data])
    builder = dict(hidden=hidden, clusters=clusters, concat_nodes=concat_nodes,
                   joint_embed=joint_embed, stats_head=stats_head)
    metrics = train(dataset, out, epochs=epochs, batch_size=batch_size,
                    learning_rate=learning_rate, seed=seed, max_frames=max_frames,
                    lambda_joints=lambda_joints, val_fraction=val_fraction,
                    augment=NO_AUGMENT if no_augment else Augment(rate=rate_augment,
                                                           side_swap=side_swap),
                    pose_noise=noise, pose_noise_fraction=pose_noise_fraction,
                    pose_noise_file=None if pose_noise is None else str(pose_noise),
                    builder=builder,
                    command=command_line(click.get_current_context()),
                    verbose=2 if quiet else 1)
    click.echo(f"wrote {out}/model.keras and config.json; accuracy "
               f"{metrics.get('accuracy', 'n/a')}, {metrics['params']} parameters, "
               f"{metrics['train_seconds']} s")


@group.command("evaluate")
@click.option("--model", "model", required=True, type=click.Path(exists=True, path_type=Path),
              help="A trained model directory, or an action .tflite step model.")
@click.option("--data", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--threads", default=None, type=click.IntRange(1),
              help="Interpreter threads (a .tflite model).")
@click.option("--data-classes-only", is_flag=True,
              help="Predict only among the classes that occur in the evaluation clips.")
def evaluate_cmd(model: Path, data: Path, as_json: bool, threads: Optional[int],
                 data_classes_only: bool) -> None:
    """Top-1 accuracy on the clips with test=1 (all clips if the file has no test column).

    \b
    Example:
      python -m training action evaluate --model runs/jhmdb --data jhmdb14_split1.npz --json
    """
    from pipan.dataset import load

    from .train import evaluate

    scores = evaluate(model, load(data), threads=threads, data_classes_only=data_classes_only)
    if as_json:
        click.echo(json.dumps({k: scores[k] for k in
                               ("accuracy", "per_class", "clips", "by_fraction", "skipped")}))
    else:
        click.echo(f"accuracy {scores['accuracy']:.4f} on {scores['clips']} clips")
        for name, acc in scores["per_class"].items():
            click.echo(f"  {name:>16s} {acc:.3f}")
        click.echo("by fraction observed: " + ", ".join(
            f"{f}: {a:.3f}" for f, a in scores["by_fraction"].items()))


@group.command("relabel")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "mapping", required=True,
              type=click.Choice(["jhmdb", "upfall", "synthetic"]),
              help="Which label map of pipan.vocabulary to apply.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Skeleton dataset .npz to write.")
def relabel_cmd(data: Path, mapping: str, out: Path) -> None:
    """Rename a dataset's labels onto the bundled vocabulary (pipan.vocabulary).

    \b
    Example:
      python -m training action relabel ../shared/data/jhmdb14/jhmdb14_split1.npz \\
          --map jhmdb --out runs/jhmdb14_vocab.npz
    """
    from dataclasses import replace

    from pipan.dataset import load, save
    from pipan.vocabulary import MAPPINGS, map_labels

    ds = load(data)
    try:
        labels = map_labels(ds.labels, MAPPINGS[mapping])
    except ValueError as e:
        raise click.ClickException(f"{data}: {e}") from None
    save(replace(ds, labels=np.asarray(labels)), out)
    counts = {name: labels.count(name) for name in sorted(set(labels))}
    click.echo(f"wrote {out}: {len(labels)} clips; " +
               ", ".join(f"{k} {v}" for k, v in counts.items()))


@group.command("noise-model")
@click.option("--videos", "videos", multiple=True, required=True,
              type=click.Path(exists=True, path_type=Path),
              help="A video file, or a folder searched for them (repeatable).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The noise model to write (JSON).")
@click.option("--max-frames", default=200, show_default=True, type=click.IntRange(2),
              help="Frames measured from the start of each video.")
@click.option("--pose-model", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Pose net .tflite (default: the bundled one).")
@click.option("--teacher-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder with pose_detection.tflite and pose_landmark_heavy.tflite "
                   "(default: where pipan's BlazePose backend looks).")
@click.option("--pairs", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the measured runtime/teacher pairs in this .npz; when it already "
                   "holds pairs of the same videos and options, fit those again instead "
                   "of running the models.")
@click.option("--quiet", is_flag=True, help="No per-video progress lines.")
def noise_model_cmd(videos: Tuple[Path, ...], out: Path, max_frames: int,
                    pose_model: Optional[str], teacher_dir: Optional[str],
                    pairs: Optional[Path], quiet: bool) -> None:
    """Measure the pose stage's errors against the BlazePose heavy teacher on real
    footage, for `train --pose-noise`.

    Runs every video through pipan's pose stage as `pipan recognize` does (pose net,
    tracker, smoothing) and through the teacher, and writes the fitted noise model
    (training/action/pose_noise.py) with the command, commit and footage list.

    \b
    Example:
      python -m training action noise-model --videos ../shared/data/footage \\
          --videos ../shared/data/videos --teacher-dir ../shared/models/blazepose \\
          --out training/action/pose_noise.json
    """
    from pipan.fileio import atomic_write_text

    from .noise_footage import measure_noise, to_json

    doc = measure_noise(videos, max_frames=max_frames, pose_model=pose_model,
                        teacher_dir=teacher_dir, pairs=pairs,
                        command=command_line(click.get_current_context()),
                        progress=(lambda s: None) if quiet else click.echo)
    atomic_write_text(out, to_json(doc))
    h = doc["headline"]
    click.echo(f"wrote {out}: {doc['frames']} frames, {doc['summary']['tracks']} tracks, "
               f"{doc['summary']['measured_frames']} person-frames measured in "
               f"{doc['seconds_measuring']} s; wrist jitter {h['jitter_sigma']['wrists']} body "
               f"scales, gaps {h['gap_rate']:.1%}")
