"""Figures of `pipan convert`: size, float vs int8 agreement and accuracy, LiteRT latency.

Converts a trained model directory with each requested I/O type (nothing is written unless
``--out``) and prints one table row per conversion; latencies are medians of ``--runs``
calls after warm-up, through pipan's runtime wrapper and in the interpreter alone, with
the float32 TFLite model of the same weights as the reference run in the same process.

Example:
    python benchmarks/convert_report.py runs/jhmdb \\
        --calibration ../shared/data/jhmdb14/jhmdb14_split1.npz --io int8 --io float
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.convert import convert  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, help="trained model directory")
    p.add_argument("--calibration", required=True, type=Path)
    p.add_argument("--io", action="append", choices=["int8", "float"],
                   help="I/O type(s) to convert (default int8)")
    p.add_argument("--stages", type=int, default=None)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--eval", dest="eval_samples", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=None, help="latency calls per model")
    p.add_argument("--json", type=Path, default=None, help="also save the reports here")
    args = p.parse_args(argv)

    reports = []
    for io in args.io or ["int8"]:
        conv = convert(args.model, args.calibration, io=io, stages=args.stages,
                       samples=args.samples, eval_samples=args.eval_samples, seed=args.seed,
                       threads=args.threads, latency_runs=args.runs, force=True)
        reports.append(conv.report)

    r0 = reports[0]
    print(f"model {args.model} ({r0['kind']}), calibration {args.calibration}: "
          f"{r0['calibration']['samples']} samples, {r0['calibration']['held_out']} held out "
          f"(disjoint: {r0['calibration']['disjoint']}), seed {args.seed}, "
          f"{r0['latency_ms']['runtime']}, {args.threads} thread(s)")
    head = (f"{'io':<6}{'int8 bytes':>11}{'f32 bytes':>11}{'metric':>24}{'float':>8}"
            f"{'int8':>8}{'drop':>7}{'agree':>8}{'int8 ms':>9}{'f32 ms':>9}{'int8 inv':>9}"
            f"{'f32 inv':>9}")
    print(head)
    for r in reports:
        a, lat, v = r["accuracy"], r["latency_ms"], r["validation"]
        agree = v.get("top1_agreement_clips_pct", v.get("peak_agreement_pct"))

        def f(x, w=8):
            return f"{'-' if x is None else f'{x:.2f}':>{w}}"
        print(f"{r['io']:<6}{r['size_bytes']['int8']:>11}{r['size_bytes']['float32']:>11}"
              f"{a['metric']:>24}{f(a['float'])}{f(a['int8'])}{f(a['drop'], 7)}{f(agree)}"
              f"{lat['int8_median']:>9.3f}{lat['float32_median']:>9.3f}"
              f"{lat['int8_invoke_median']:>9.3f}{lat['float32_invoke_median']:>9.3f}")
    print(json.dumps({r["io"]: r["validation"] for r in reports}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
