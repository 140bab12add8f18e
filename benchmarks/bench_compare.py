"""`onnxlint compare` against `polygraphy run --onnxrt --onnx-outputs mark all`: wall time and peak RSS.

    python benchmarks/bench_compare.py [--repeat 3]

Both run the YOLOv5-style fixture (fixtures/yolov5n_legacy_op12.onnx, 160x160) on seeded inputs with every
intermediate tensor exposed; onnxlint also runs a second model (a copy with one Conv weight scaled) and compares
the two tensor by tensor. Prints the ratios (targets: <= 1.0x the wall time, <= 0.5x the peak RSS). Needs
polygraphy (pip install polygraphy). Each timing is a fresh process, best of --repeat runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import onnx
from onnx import numpy_helper

from bench_lint import OUT, best

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "fixtures" / "yolov5n_legacy_op12.onnx"


def perturbed_copy(path: Path) -> Path:
    """The model with the 11th Conv's weight scaled by 1.5: a divergence for compare to find."""
    model = onnx.load(str(path))
    weights = {t.name: t for t in model.graph.initializer}
    conv = [n for n in model.graph.node if n.op_type == "Conv"][10]
    tensor = weights[conv.input[1]]
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * 1.5, tensor.name))
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "perturbed.onnx"
    onnx.save(model, str(target))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    polygraphy = shutil.which("polygraphy")
    if polygraphy is None:
        raise SystemExit("polygraphy is not installed (pip install polygraphy)")
    other = perturbed_copy(MODEL)
    ours, ours_rss = best([sys.executable, "-m", "onnxlint", "compare", str(MODEL), str(other), "--format", "json"],
                          args.repeat)
    theirs, theirs_rss = best([polygraphy, "run", str(MODEL), "--onnxrt", "--onnx-outputs", "mark", "all",
                               "--seed", "0"], args.repeat)
    print(f"onnxlint compare (two models): {ours:.2f} s, peak RSS {ours_rss:.0f} MiB")
    print(f"polygraphy run --onnx-outputs mark all (one model): {theirs:.2f} s, peak RSS {theirs_rss:.0f} MiB")
    print(f"ratio: wall {ours / theirs:.2f}x, peak RSS {ours_rss / theirs_rss:.2f}x")


if __name__ == "__main__":
    main()
