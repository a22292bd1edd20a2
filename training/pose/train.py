"""Training the pose net: a generator pipeline, Keras fit, checkpoints, resume, loss curves.

The output directory follows docs/design.md: ``model.keras`` + ``config.json`` (kind
"pose", builder kwargs, seed, command, commit, metrics). While training it also holds
``checkpoint.keras`` (model + optimizer, written after every epoch), ``history.json`` and
``loss.png``; ``resume=True`` continues from the last finished epoch with the same
per-epoch random streams, so an interrupted run ends where an uninterrupted one would.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from pipan.fileio import atomic_path, atomic_write, atomic_write_text
from pipan.image import INPUT_SIZE

from ..provenance import git_commit
from .coco import CocoPoseData, DataError
from .targets import MAP_SIZE, Augment, make_sample

PathLike = Union[str, os.PathLike]


def batches(data: CocoPoseData, batch_size: int, seed: int, start_epoch: int,
            steps_per_epoch: int, aug: Augment, sigma: float, limb_width: float
            ) -> Iterator:
    """Endless training batches; epoch e draws from its own stream (seed, e). With
    ``aug.paste`` > 0, that fraction of the images gets real people pasted onto it
    (``training.pose.paste``), cut from the data's images that have person masks."""
    from .paste import find_cutouts, paste_random
    cutouts = find_cutouts(data) if aug.paste > 0 else []
    if aug.paste > 0 and not cutouts:
        raise DataError("--paste needs images with person masks (a folder of frames with "
                        "NNNNN.mask.png beside them, labelled by `distill label`); none found")
    epoch = start_epoch
    while True:
        rng = np.random.default_rng([seed, epoch])
        for _ in range(steps_per_epoch):
            xs, hs, ps, ms = [], [], [], []
            for i in rng.integers(0, len(data), size=batch_size):
                item = data.items[int(i)]
                image, people = item.load_image(), item.people
                if cutouts and rng.random() < aug.paste:
                    image, people = paste_random(image, people, data, cutouts, rng,
                                                 lying=aug.paste_lying,
                                                 lying_edge=aug.paste_lying_edge)
                x, h, p, m, _ = make_sample(image, people, data.ignore_mask(item), aug, rng,
                                            sigma, limb_width)
                xs.append(x), hs.append(h), ps.append(p), ms.append(m)
            x, h, p, m = (np.stack(v) for v in (xs, hs, ps, ms))
            # y for every output: the target with the loss mask as its last channel
            yield x, (np.concatenate([h, m], -1), np.concatenate([p, m], -1))
        epoch += 1


def _loss_fn(either_side: bool = False, per_group: bool = False,
             groups: Optional[Sequence[str]] = None):
    """The loss of every output. ``either_side``: per image, the lower of the loss against
    the targets and against the targets with every person's left and right swapped;
    ``per_group`` too: that choice made for the face, the arms and the legs apart
    (``targets.SIDE_GROUPS``), so a net that reads a person's arms as seen from the front
    and their legs as seen from behind is not pushed to hedge one of them (measured on
    real footage, run 14 of pipan/models/MODEL_CARD.md: the legs further apart, the arms
    closer together than with the whole-person choice). ``groups``: only these of
    ``targets.SIDE_GROUP_NAMES`` get the choice (implies ``per_group``); the others keep
    the plain loss, which on real footage kept a person's arms apart where either side
    drew them together (runs 13-15 of the card).

    Why either side: a net that cannot tell a person's left from right (seen from the
    front or the back, at a third of the input) is taught, by the plain loss, to put the
    same blob in both channels of a pair, between the two joints. Run 9 of
    pipan/models/MODEL_CARD.md did so: on UP-Fall its left and right hip, knee and ankle
    maps correlate at 0.99, so a sitting or walking person's legs are decoded as one leg
    down the middle. With either
    side allowed, the net is free to get the sides wrong but must keep the joints apart;
    the tracker's tight looks (``pipan.region``) put sides right."""
    import keras
    import tensorflow as tf

    from .targets import (HEATMAP_CHANNEL_GROUPS, PAF_CHANNEL_GROUPS, SIDE_GROUP_NAMES,
                          SWAPPED_HEATMAP_CHANNELS, SWAPPED_PAF_CHANNELS)

    if groups is not None:
        unknown = sorted(set(groups) - set(SIDE_GROUP_NAMES))
        if unknown or not groups:
            raise ValueError(f"side groups {unknown or '(none)'}: choose from "
                             f"{', '.join(SIDE_GROUP_NAMES)}")
        either_side = per_group = True
    # per group (column 1 + its index in SIDE_GROUPS): 1 where it may swap, 0 where not
    free = tf.constant([1.0 if groups is None or name in groups else 0.0
                        for name in SIDE_GROUP_NAMES]) if per_group else None

    def one_hot(groups):  # (channels, 1 + groups): column 0 the channels without a side
        n = max(groups) + 2
        return tf.constant([[1.0 if g + 1 == k else 0.0 for k in range(n)] for g in groups])

    group_of = {len(SWAPPED_HEATMAP_CHANNELS): one_hot(HEATMAP_CHANNEL_GROUPS),
                len(SWAPPED_PAF_CHANNELS): one_hot(PAF_CHANNEL_GROUPS)}
    swap_of = {len(SWAPPED_HEATMAP_CHANNELS): list(SWAPPED_HEATMAP_CHANNELS),
               len(SWAPPED_PAF_CHANNELS): list(SWAPPED_PAF_CHANNELS)}

    @keras.saving.register_keras_serializable(package="pipan")
    def masked_l2(y_true, y_pred):
        """Masked L2 of one stage's maps: y_true = targets + the loss mask channel.
        Per image: sum over cells and channels of mask * (pred - target)^2."""
        target, mask = y_true[..., :-1], y_true[..., -1:]
        if not either_side:
            return tf.reduce_sum(mask * tf.square(y_pred - target), axis=[1, 2, 3])
        channels = target.shape[-1]
        swapped = tf.gather(target, swap_of[channels], axis=-1)
        plain = tf.reduce_sum(mask * tf.square(y_pred - target), axis=[1, 2])  # (B, C)
        other = tf.reduce_sum(mask * tf.square(y_pred - swapped), axis=[1, 2])
        if not per_group:
            return tf.minimum(tf.reduce_sum(plain, -1), tf.reduce_sum(other, -1))
        plain, other = plain @ group_of[channels], other @ group_of[channels]
        chosen = free * tf.minimum(plain[:, 1:], other[:, 1:]) + (1 - free) * plain[:, 1:]
        return plain[:, 0] + tf.reduce_sum(chosen, -1)

    return masked_l2


def plot_history(history: Dict[str, List[float]], path: Path) -> None:
    """Loss curves (total and per stage output) as a PNG, written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in history.items():
        if name.endswith("loss"):
            ax.plot(np.arange(1, len(values) + 1), values, label=name,
                    lw=2 if name in ("loss", "val_loss") else 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked L2 per image")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("pose net training")
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)


def _start_at_background(model) -> None:
    """Set every S branch's background-channel bias to 1, so the untrained net already
    predicts "background everywhere, no joint" (the targets' mean), instead of spending
    its first hundreds of steps learning that."""
    from .model import HEATMAP_CHANNELS
    for layer in model.layers:
        if layer.name.startswith("stage") and layer.name.endswith("_S_out_pw"):
            kernel, bias = layer.get_weights()
            bias[HEATMAP_CHANNELS - 1] = 1.0
            layer.set_weights([kernel, bias])


def _load_init(model, init: Path, builder: dict) -> None:
    """Copy the weights of the trained model directory ``init`` into ``model``.

    The builders must match, except that ``model`` may have more stages than ``init``
    (growing a trained net by refinement stages): the backbone and the stages both have
    are copied by layer name, the new stages keep their seeded initial weights."""
    import keras
    try:
        cfg = json.loads((init / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise DataError(f"{init}: not a trained pose model directory "
                        "(no readable config.json)") from None
    theirs = cfg.get("builder") if isinstance(cfg.get("builder"), dict) else None
    same = theirs is not None and \
        {k: v for k, v in theirs.items() if k != "stages"} == \
        {k: v for k, v in builder.items() if k != "stages"}
    if cfg.get("kind") != "pose" or not same or \
            int(theirs.get("stages", 1)) > int(builder.get("stages", 1)):
        raise DataError(f"{init}: builder {cfg.get('builder')} differs from this run's "
                        f"{builder} (only more stages may be added)")
    trained = keras.models.load_model(init / "model.keras", compile=False)
    source = {layer.name: layer for layer in trained.layers}
    for layer in model.layers:
        if layer.weights and layer.name in source:
            layer.set_weights(source[layer.name].get_weights())


def train(data: Sequence[PathLike], out: PathLike, *, builder: Optional[dict] = None,
          epochs: int = 10, steps_per_epoch: int = 100, batch_size: int = 8,
          learning_rate: float = 2e-3, seed: int = 0, resume: bool = False,
          val_data: Sequence[PathLike] = (), augment: Augment = Augment(),
          sigma: float = 1.0, limb_width: float = 1.0, command: str = "",
          init: Optional[PathLike] = None, verbose: Optional[int] = None,
          either_side: bool = False, per_group: bool = False,
          side_groups: Optional[Sequence[str]] = None) -> Dict:
    """Train a pose net on COCO-format ``data`` and write the model directory ``out``.

    ``init``: a trained pose model directory with the same builder config whose weights
    start this run (fine-tuning, e.g. on teacher labels) instead of the seeded random ones.
    ``either_side``: the loss lets the net swap a person's left and right (``_loss_fn``);
    ``per_group``: of the face, arms and legs apart (implies ``either_side``);
    ``side_groups``: only these groups may swap (implies ``per_group``).

    Returns the config written to ``out/config.json``.
    """
    import keras
    import tensorflow as tf

    from .model import build_pose_net

    out = Path(out)
    commit = git_commit()  # the code that starts the run
    builder = dict(builder or {})
    train_set = CocoPoseData(list(data))
    val_set = CocoPoseData(list(val_data)) if val_data else None
    ckpt, hist_path = out / "checkpoint.keras", out / "history.json"
    history: Dict[str, List[float]] = {}
    start = 0
    # everything besides the epoch count that shapes the run (JSON round trip: tuples -> lists)
    settings = json.loads(json.dumps(
        {"steps_per_epoch": steps_per_epoch, "batch_size": batch_size,
         "learning_rate": learning_rate, "sigma": sigma, "limb_width": limb_width,
         "augment": augment.__dict__}))
    if init is not None:  # only when given, so older checkpoints still resume
        settings["init"] = str(init)
    side_groups = None if side_groups is None else sorted(set(side_groups))
    per_group = per_group or side_groups is not None
    either_side = either_side or per_group
    if either_side:
        settings["either_side"] = True
    if per_group:
        settings["either_side_per_group"] = True
    if side_groups is not None:
        settings["either_side_groups"] = side_groups
    loss = _loss_fn(either_side, per_group, side_groups)
    if resume:
        if not ckpt.is_file() or not hist_path.is_file():
            raise DataError(f"{out}: nothing to resume (no checkpoint.keras/history.json)")
        state = json.loads(hist_path.read_text())
        if state["builder"] != builder or state["seed"] != seed or \
                state.get("settings") != settings:
            raise DataError(f"{out}: the checkpoint was trained with other settings "
                            f"(builder {state['builder']}, seed {state['seed']}, "
                            f"{state.get('settings')})")
        history, start = state["history"], int(state["epoch"])
        keras.utils.set_random_seed(seed + start)
        model = keras.models.load_model(ckpt, custom_objects={"masked_l2": loss})
        model.jit_compile = False  # XLA on CPU: slower to compile and to run here
    else:
        out.mkdir(parents=True, exist_ok=True)
        model = build_pose_net(seed=seed, **builder)
        if init is not None:
            _load_init(model, Path(init), builder)
        else:
            _start_at_background(model)
        total = epochs * steps_per_epoch
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=total, alpha=0.05,
            warmup_target=None) if total > 0 else learning_rate
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss=[loss] * len(model.outputs), jit_compile=False)

    aug = augment
    spec = (tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 3), tf.float32),
            tuple([tf.TensorSpec((None, MAP_SIZE, MAP_SIZE, 20), tf.float32),
                   tf.TensorSpec((None, MAP_SIZE, MAP_SIZE, 39), tf.float32)]))
    n_stages = len(model.outputs) // 2

    def dataset(source, stream_seed, first_epoch, steps, aug_):
        def gen():
            for x, (h, p) in batches(source, batch_size, stream_seed, first_epoch, steps,
                                     aug_, sigma, limb_width):
                yield x, (h, p)
        ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
        # every stage is supervised by the same targets
        ds = ds.map(lambda x, y: (x, tuple(y[i % 2] for i in range(2 * n_stages))))
        return ds.prefetch(2)

    train_ds = dataset(train_set, seed, start, steps_per_epoch, aug)
    val_ds = None
    val_steps = 0
    if val_set is not None:
        from .targets import NO_AUGMENT
        val_steps = max(1, min(20, len(val_set) // batch_size))
        val_ds = dataset(val_set, seed + 1, 0, val_steps, NO_AUGMENT)
        val_ds = val_ds.take(val_steps).cache()

    started = time.time()

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                history.setdefault(k, []).append(float(v))
            with atomic_path(ckpt) as tmp:  # a temp name of its own: runs may share out
                self.model.save(tmp)
            atomic_write_text(hist_path, json.dumps(
                {"epoch": epoch + 1, "builder": builder, "seed": seed,
                 "settings": settings, "history": history}, indent=1))
            plot_history(history, out / "loss.png")

    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if start < epochs:
        model.fit(train_ds, epochs=epochs, initial_epoch=start,
                  steps_per_epoch=steps_per_epoch, validation_data=val_ds,
                  validation_steps=val_steps or None, callbacks=[Checkpoint()],
                  verbose=verbose, shuffle=False)  # the batches come in their seeded order
    seconds = time.time() - started

    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    metrics = {k: round(v[-1], 4) for k, v in history.items()}
    metrics.update(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                   images_seen=epochs * steps_per_epoch * batch_size,
                   train_images=len(train_set),
                   train_seconds_this_run=round(seconds, 1))
    config = {"kind": "pose", "builder": builder, "layout": "coco18",
              "input_size": INPUT_SIZE, "seed": seed, "command": command,
              "init": str(init) if init is not None else None,
              "commit": commit, "data": [str(d) for d in data],
              "training": {"learning_rate": learning_rate, "sigma_cells": sigma,
                           "limb_width_cells": limb_width, "augment": augment.__dict__},
              "metrics": metrics}
    atomic_write_text(out / "config.json", json.dumps(config, indent=2))
    return config
