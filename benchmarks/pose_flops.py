"""Parameters and multiply-adds of the exported pose net at 224x224, counted from layer shapes.

    python -m benchmarks.pose_flops                      # the full-size builder defaults
    python -m benchmarks.pose_flops --model DIR          # a trained model directory
    python -m benchmarks.pose_flops --stages 1 --stage-width 96

Multiply-adds: Conv2D = H_out * W_out * k_h * k_w * C_in * C_out (/ groups), DepthwiseConv2D =
H_out * W_out * k_h * k_w * C_in * multiplier. Batch norm folds into the convolutions in the
int8 model, so it counts neither parameters nor multiply-adds here ("deployed params");
the Keras parameter count (with BN) is printed beside it.
"""
from __future__ import annotations

import argparse
import json


def count(model) -> dict:
    """{'macs', 'params_deployed', 'params_keras', 'per_part'} of a built Keras model."""
    import keras
    macs, params = 0, 0
    parts: dict = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, H, W, C = layer.output.shape
            kh, kw = layer.kernel_size
            m = H * W * kh * kw * C
            p = kh * kw * C + (C if layer.use_bias else 0)
        elif isinstance(layer, keras.layers.Conv2D):
            _, H, W, C_out = layer.output.shape
            C_in = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            m = H * W * kh * kw * C_in * C_out // layer.groups
            p = kh * kw * C_in * C_out // layer.groups + (C_out if layer.use_bias else 0)
            if not layer.use_bias:
                p += C_out  # the folded batch norm becomes a bias
        else:
            continue
        part = layer.name.split("_")[0] if layer.name.startswith("stage") else "backbone"
        parts[part] = parts.get(part, 0) + m
        macs += m
        params += p
    return {"macs": int(macs), "params_deployed": int(params),
            "params_keras": int(model.count_params()), "per_part": parts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="trained model directory (config.json + model.keras)")
    ap.add_argument("--stages", type=int, help="stages kept in the exported model")
    ap.add_argument("--stage-width", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from training.pose.model import build_pose_net
    if args.model:
        from training.pose.export import read_config
        builder = dict(read_config(args.model)["builder"])
        builder.pop("seed", None)
    else:
        builder = {"stages": 2}
    if args.stages:
        builder["stages"] = args.stages
    if args.stage_width:
        builder["stage_width"] = args.stage_width
    builder.update(batch_size=1, inference=True)
    model = build_pose_net(**builder)
    res = count(model)
    res["builder"] = {k: v for k, v in builder.items() if k not in ("batch_size", "inference")}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"pose net {res['builder']}")
    print(f"  multiply-adds at 224x224: {res['macs'] / 1e6:.1f} M")
    for part, m in res["per_part"].items():
        print(f"    {part:10s} {m / 1e6:8.1f} M")
    print(f"  parameters (deployed, BN folded): {res['params_deployed']:,}")
    print(f"  parameters (Keras, with BN):      {res['params_keras']:,}")


if __name__ == "__main__":
    main()
