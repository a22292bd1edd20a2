"""Time of one training step (forward + backward) of the default action model.

    python benchmarks/action_train_step.py [--batch 32] [--frames 64] [--repeats 7]

Median wall time over repeats of a compiled (tf.function) gradient computation on a seeded
random batch, ``training=True``, with the layers' training forms (plain matmuls) and, as a
reference in the same process, with the int8-friendly multiply-and-sum forms forced on
(``layers.contract_nodes`` patched; docs/pi-check.md, "armv7"), alternating, and their
ratio. Needs TensorFlow.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    import keras
    import tensorflow as tf

    from training.action import layers
    from training.action.model import build_action_model

    keras.utils.set_random_seed(0)
    model = build_action_model(14)
    x = tf.constant(np.random.default_rng(0).normal(
        size=(args.batch, args.frames, 18, 5)).astype(np.float32))
    plain = layers.contract_nodes

    def make_step():
        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                y = model(x, training=True)
                loss = tf.reduce_mean(y["probs"] ** 2)
            return tape.gradient(loss, model.trainable_weights)
        step(x)  # trace now, with whichever contract_nodes is in place
        return step

    train_forms = make_step()
    layers.contract_nodes = lambda a, b, training=None: plain(a, b, None)
    try:
        int8_forms = make_step()
    finally:
        layers.contract_nodes = plain
    times = {"training forms": [], "int8 forms": []}
    for _ in range(args.repeats):
        for name, fn in (("training forms", train_forms), ("int8 forms", int8_forms)):
            t0 = time.perf_counter()
            fn(x)
            times[name].append(time.perf_counter() - t0)
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    print(f"training step (fwd+bwd), batch {args.batch} x {args.frames} frames, median of "
          f"{args.repeats}: training forms {med['training forms']:.0f} ms, int8 forms "
          f"{med['int8 forms']:.0f} ms ({med['int8 forms'] / med['training forms']:.2f}x)")


if __name__ == "__main__":
    main()
