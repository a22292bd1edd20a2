"""Are the synthetic actions learnable by a sequence model? A small GRU's held-out accuracy.

The baseline in ``synth_baseline.py`` pools features over time and should stay well below
100 %; this checks the other side: a small recurrent model over the same per-frame
features (``pipan.skeleton.clip_features``, 18 joints x 5) learns the classes much
better, because the order of poses in time carries the action.

    python -m benchmarks.synth_learnable [--clips 5700] [--epochs 25] [--seed 0]

Needs TensorFlow (the workstation extra); prints a skip line without it.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


from pipan.skeleton import clip_features
from training.synth.motions import generate_dataset


def padded(data, T: int) -> np.ndarray:
    """(N, T, 90) features, zero-padded at the end (masked in the model)."""
    out = np.zeros((len(data), T, 90), np.float32)
    for i, kp in enumerate(data.clips()):
        f = clip_features(kp).reshape(len(kp), -1)[:T]
        out[i, :len(f)] = np.clip(f, -10, 10)  # a lost torso can make velocities explode
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=5700)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        print("TensorFlow is not installed: skipped")
        return
    tf.keras.utils.set_random_seed(args.seed)
    t0 = time.perf_counter()
    data = generate_dataset(args.clips, args.seed)
    classes = data.classes
    y = np.array([classes.index(str(l)) for l in data.labels])
    T = int(data.lengths.max())
    x = padded(data, T)
    tr, te = data.test == 0, data.test == 1
    inp = tf.keras.Input((T, 90))
    h = tf.keras.layers.Masking()(inp)
    h = tf.keras.layers.Dense(64, activation="relu")(h)
    h = tf.keras.layers.GRU(96)(h)
    out = tf.keras.layers.Dense(len(classes))(h)
    model = tf.keras.Model(inp, out)
    model.compile(tf.keras.optimizers.Adam(2e-3),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x[tr], y[tr], batch_size=64, epochs=args.epochs, verbose=0)
    pred = model.predict(x[te], verbose=0).argmax(1)
    acc = (pred == y[te]).mean()
    per = "  ".join(f"{c} {100 * (pred[y[te] == i] == i).mean():.0f}"
                    for i, c in enumerate(classes))
    print(f"GRU on {tr.sum()} synthetic train clips, {te.sum()} test clips, {len(classes)} "
          f"classes, {args.epochs} epochs [{time.perf_counter() - t0:.0f} s]")
    print(f"  held-out accuracy {100 * acc:.1f} %   per class: {per}")


if __name__ == "__main__":
    main()
