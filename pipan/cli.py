"""The ``pipan`` command. Each command parses, calls one library function, and prints;
pipan's own errors become a one-line message and a non-zero exit here, in one place."""
from __future__ import annotations

import sys

import click

from . import __version__
from .errors import MissingDependencyError, PipanError


class PipanGroup(click.Group):
    """A click group that turns PipanError into ``Error: message`` and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipanError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=PipanGroup)
@click.version_option(__version__, prog_name="pipan")
def cli() -> None:
    """pipan: who is doing what, frame by frame, from a video or a camera, on a Raspberry Pi."""


# --- pipan convert / pipan info (issue 5) ------------------------------------------------

TRAIN_INSTALL = 'pip install -e ".[train]"'


def _converter_module():
    """``converters.convert``, loaded only when asked for: the runtime never needs
    TensorFlow, so a Pi install says what to install instead of failing on import."""
    import importlib
    import importlib.util

    missing = MissingDependencyError(
        f"pipan convert needs TensorFlow and the converters package: from a pipan "
        f"checkout, run {TRAIN_INSTALL}")
    try:
        if importlib.util.find_spec("tensorflow") is None:
            raise missing
        import os
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
        return importlib.import_module("converters.convert")
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("tensorflow", "keras", "converters"):
            raise missing from None
        raise
    except ValueError:  # find_spec on a half-imported module
        raise missing from None


def _print_conversion_table(out: str, report: dict) -> None:
    acc, lat, v = report["accuracy"], report["latency_ms"], report["validation"]

    def fmt(x) -> str:
        return "n/a" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)
    rows = [
        ("model", f"{out} ({report['kind']}, {report['io']} I/O)"),
        ("size", f"{report['size_bytes']['int8']:,} bytes int8, "
                 f"{report['size_bytes']['float32']:,} bytes float32"),
        ("float ops", ", ".join(f"{k} x{n}" for k, n in report["float_ops"].items())
         or "none"),
        (acc["metric"], f"float {fmt(acc['float'])}  int8 {fmt(acc['int8'])}  "
                        f"drop {fmt(acc['drop'])} (max {acc['max_drop']:g})"
                        + ("  FORCED" if acc["forced"] else "")
                        + ("" if acc["checked"] else "  (not checked: nothing to measure)")),
    ]
    if report["kind"] == "action":
        rows.append(("top-1 agreement", f"{fmt(v['top1_agreement_clips_pct'])}% of "
                                        f"{v['clips']} clips, "
                                        f"{fmt(v['top1_agreement_frames_pct'])}% of frames"))
    else:
        rows.append(("heatmap peaks", f"{fmt(v['peak_agreement_pct'])}% agree "
                                      f"({v['strong_peaks']} peaks, {v['images']} images)"))
        if v.get("decoded"):
            rows.append(("keypoint shift", f"{fmt(v['keypoint_shift_px'])} px mean"))
    rows.append(("latency (median)", f"int8 {lat['int8_median']:.3f} ms "
                                     f"({lat['int8_invoke_median']:.3f} ms in the "
                                     f"interpreter), float32 {lat['float32_median']:.3f} ms, "
                                     f"{lat['threads']} thread(s), {lat['runtime']}"))
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        click.echo(f"{k:<{width}}  {val}")


@cli.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--calibration", "-c", required=True, type=click.Path(path_type=str),
              help="Images or a COCO keypoints JSON (pose), a skeleton dataset .npz (action).")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The .tflite to write; the report goes beside it as .json.")
@click.option("--io", "io_type", type=click.Choice(["float", "int8"]), default="float",
              show_default=True, help="Input/output tensor type (the ops are int8 either way).")
@click.option("--allow-float-ops", is_flag=True, help="Accept ops left in float.")
@click.option("--max-drop", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Most accuracy points int8 may lose against float.")
@click.option("--force", is_flag=True, help="Write the model even past --max-drop.")
@click.option("--stages", type=click.IntRange(min=1), default=None,
              help="Pose stages to keep (default: the exporter's).")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Calibration samples (pose: images, default 100; action: frames, 2000).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed drawing the calibration and held-out samples.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Interpreter threads for validation and latency (default: as the runtime).")
def convert(model: str, calibration: str, out: str, io_type: str, allow_float_ops: bool,
            max_drop: float, force: bool, stages, samples, seed: int, threads) -> None:
    """Quantise a trained MODEL directory to a validated full-int8 TFLite model.

    \b
    Examples:
      pipan convert runs/action --calibration jhmdb14_split1.npz --out action.tflite
      pipan convert runs/pose --calibration coco-mini/ --out pose.tflite --stages 2
    """
    from pathlib import Path
    import json

    from .fileio import atomic_write_bytes, atomic_write_text

    out_path = Path(out)
    if out_path.suffix.lower() == ".json":
        raise PipanError(f"--out {out}: the model file must not end in .json "
                         f"(the report is written beside it as .json)")
    conv = _converter_module()
    result = conv.convert(model, calibration, io=io_type, allow_float_ops=allow_float_ops,
                          max_drop=max_drop, force=force, stages=stages, samples=samples,
                          seed=seed, threads=threads)
    atomic_write_bytes(out_path, result.model_bytes)
    atomic_write_text(out_path.with_suffix(".json"),
                      json.dumps(result.report, indent=2, sort_keys=True) + "\n")
    _print_conversion_table(out, result.report)


@cli.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(model: str, as_json: bool) -> None:
    """Show a TFLite model's pipan metadata, inputs and outputs (no TensorFlow needed).

    \b
    Example:
      pipan info pipan/models/action.tflite
    """
    import json

    from .runtime import TFLiteModel

    m = TFLiteModel(model, threads=1)

    def tensors(details: dict) -> dict:
        out = {}
        for name in sorted(details):
            d = details[name]
            q = d.get("quantization_parameters") or {}
            scales = [float(s) for s in q.get("scales", [])]
            zps = [int(z) for z in q.get("zero_points", [])]
            out[name] = {"shape": [int(s) for s in d["shape"]],
                         "dtype": getattr(d["dtype"], "__name__", str(d["dtype"])),
                         "scale": scales[0] if len(scales) == 1 else scales or None,
                         "zero_point": zps[0] if len(zps) == 1 else zps or None}
        return out
    data = {"model": model, "metadata": m.metadata or None, "signature": m.signature,
            "inputs": tensors(m.input_details), "outputs": tensors(m.output_details)}
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    meta = m.metadata
    click.echo(f"{model}: " + (f"pipan {meta.get('kind')} model" if meta else
                               "no pipan metadata (not made by pipan convert)"))
    for key in sorted(meta or {}, key=lambda k: (k != "kind", k)):
        val = meta[key]
        if val is None:  # a key that does not apply to this kind of model
            continue
        if isinstance(val, list):
            val = ", ".join(map(str, val))
        click.echo(f"  {key}: {val}")
    for title, group in (("inputs", data["inputs"]), ("outputs", data["outputs"])):
        click.echo(f"{title} (signature {m.signature}):")
        for name, t in group.items():
            q = f", scale {t['scale']:.6g}, zero point {t['zero_point']}" \
                if isinstance(t["scale"], float) else ""
            click.echo(f"  {name}: {t['dtype']} {tuple(t['shape'])}{q}")


def main() -> None:
    cli(prog_name="pipan")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
