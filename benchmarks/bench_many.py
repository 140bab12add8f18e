"""Many models in one run: --jobs 2 against --jobs 1, and the time per model against linting one alone.

    python benchmarks/bench_many.py [--models 200] [--repeat 3]

Copies the committed fixtures round-robin into benchmarks/out/many/ (git-ignored) and prints
  * wall time of `onnxlint benchmarks/out/many --jobs 1` and `--jobs 2`, and their ratio;
  * time per model in the big run / the mean time of `onnxlint <fixture>` alone over the fixtures (process start
    and imports are paid once per run, so this ratio shows what batching saves).
Each timing is a fresh process, best of --repeat runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "many"


def wall(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode not in (0, 1):
            raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fixtures = sorted((ROOT / "fixtures").glob("*.onnx"))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    for index in range(args.models):
        source = fixtures[index % len(fixtures)]
        shutil.copy(source, OUT / f"{index:04d}_{source.name}")
    onnxlint = [sys.executable, "-m", "onnxlint", "--format", "json"]
    one = sum(wall([*onnxlint, str(fixture)], args.repeat) for fixture in fixtures) / len(fixtures)
    serial = wall([*onnxlint, str(OUT), "--jobs", "1"], args.repeat)
    parallel = wall([*onnxlint, str(OUT), "--jobs", "2"], args.repeat)
    print(f"{args.models} models, best of {args.repeat}:")
    print(f"  --jobs 1: {serial:.2f} s; --jobs 2: {parallel:.2f} s; ratio {parallel / serial:.2f}x")
    print(
        f"  per model in the --jobs 1 run: {serial / args.models * 1000:.0f} ms; one model alone (mean over the "
        f"{len(fixtures)} fixtures): {one * 1000:.0f} ms; ratio {serial / args.models / one:.2f}x"
    )


if __name__ == "__main__":
    main()
