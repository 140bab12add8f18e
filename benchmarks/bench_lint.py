"""Speed and memory of a static lint, as ratios to what the onnx library itself does on the same file.

    python benchmarks/bench_lint.py [--nodes 100000] [--external-gb 2.1] [--repeat 3]

Writes synthetic models under benchmarks/out/ (git-ignored) and prints:
  * lint time / baseline time, where baseline = onnx.load(load_external_data=False)
    + onnx.checker.check_model + onnx.shape_inference.infer_shapes(data_prop=True),
    at three sizes to show time is linear in nodes, and on the largest with a dynamic batch dim, which makes
    the dim probe run (target <= 2.0x);
  * peak RSS of `onnxlint` on a model with >= 2 GB of external data (target < 300 MB, independent
    of weight size; the data file is sparse, and onnxlint must never read it);
  * `onnxlint --target rk3588` / `onnxlint` on the largest model: what the target rules add (target <= 1.2x);
  * `onnxlint --version` cold start / `python -c "import onnx"` (target <= 1.3x).
Each timing is a fresh process (what a user or CI pays, onnxlint's bytecode compiled first as an installed
package has it), best of --repeat runs, the commands of a ratio taking turns; wall and CPU time (user + system of
the child) are both printed, CPU being the steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent / "out"
BASELINE = (
    "import sys, onnx; m = onnx.load(sys.argv[1], load_external_data=False); "
    "onnx.checker.check_model(sys.argv[1] if len(sys.argv) > 2 else m); "
    "onnx.shape_inference.infer_shapes(m, data_prop=True)"
)


def chain_model(nodes: int, batch: int | str = 1) -> onnx.ModelProto:
    """A conv-net-shaped chain: Conv -> Mul(Sigmoid) blocks with a residual Add every 4 nodes.

    `batch` is the first dim of the input and output: 1, or a symbol such as "batch" for a dynamic batch."""
    weight = numpy_helper.from_array(np.full((8, 8, 1, 1), 0.1, dtype=np.float32), "w")
    bias = numpy_helper.from_array(np.zeros(8, dtype=np.float32), "b")
    body: list[onnx.NodeProto] = []
    previous, skip = "x", "x"
    while len(body) < nodes:
        i = len(body)
        conv, gate, act, out = f"c{i}", f"g{i}", f"a{i}", f"r{i}"
        body += [
            helper.make_node("Conv", [previous, "w", "b"], [conv], name=f"/block{i}/Conv"),
            helper.make_node("Sigmoid", [conv], [gate], name=f"/block{i}/Sigmoid"),
            helper.make_node("Mul", [conv, gate], [act], name=f"/block{i}/Mul"),
            helper.make_node("Add", [act, skip], [out], name=f"/block{i}/Add"),
        ]
        previous = skip = out
    graph = helper.make_graph(
        body,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8, 16, 16])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [batch, 8, 16, 16])],
        [weight, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def external_data_model(total_bytes: int, folder: Path) -> Path:
    """Eight MatMul weights stored in one sparse external file of `total_bytes`."""
    count = 8
    side = int((total_bytes / count / 4) ** 0.5)
    nodes, initializers, previous, offset = [], [], "x", 0
    for i in range(count):
        tensor = TensorProto(name=f"w{i}", data_type=TensorProto.FLOAT, dims=[side, side])
        tensor.data_location = TensorProto.EXTERNAL
        length = side * side * 4
        for key, value in (("location", "weights.bin"), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        offset += length
        initializers.append(tensor)
        nodes.append(helper.make_node("MatMul", [previous, f"w{i}"], [f"h{i}"], name=f"/fc{i}/MatMul"))
        previous = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, side])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [1, side])],
        initializers,
    )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "weights.bin", "wb") as data:
        data.truncate(offset)  # sparse: no disk blocks, and onnxlint must not read it
    path = folder / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


# Started from a small launcher: a child forked from this (large) process would count our pages in its peak RSS.
# It prints the exit code, wall seconds, the largest peak RSS among the processes it waited for (KiB) and their
# CPU seconds (user + system): on a shared machine CPU time is the steadier measure of a ratio.
LAUNCHER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); t = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(code, t, u.ru_maxrss, u.ru_utime + u.ru_stime)"
)


def run(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MiB, CPU seconds) of a child process."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True)
    code, elapsed, peak_kib, cpu = result.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    return float(elapsed), int(peak_kib) / 1024, float(cpu)


def best(command: list[str], repeat: int) -> tuple[float, float, float]:
    """Best wall and CPU time, largest peak RSS, of `repeat` runs."""
    (result,) = side_by_side([command], repeat)
    return result


def side_by_side(commands: list[list[str]], repeat: int) -> list[tuple[float, float, float]]:
    """best() of each command, the commands taking turns in each round, so that a busy moment on a shared machine
    slows all of them alike."""
    runs: list[list[tuple[float, float, float]]] = [[] for _ in commands]
    for _ in range(repeat):
        for results, command in zip(runs, commands):
            results.append(run(command))
    return [(min(r[0] for r in results), max(r[1] for r in results), min(r[2] for r in results)) for results in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--external-gb", type=float, default=2.1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    onnxlint = [sys.executable, "-m", "onnxlint"]
    # Bytecode as an installed package has it (pip compiles on install, like onnx's): a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile ~90 modules in every process, about 0.1 s CPU.
    package = importlib.util.find_spec("onnxlint")
    if package is None or not package.submodule_search_locations:
        raise SystemExit("onnxlint is not installed (pip install -e .)")
    for folder in package.submodule_search_locations:
        compileall.compile_dir(folder, quiet=1)

    print(f"static lint vs onnx load+check+infer_shapes(data_prop), best of {args.repeat}, side by side (wall / CPU):")
    for nodes in (args.nodes // 4, args.nodes // 2, args.nodes):
        path = OUT / f"chain_{nodes}.onnx"
        if not path.exists():
            OUT.mkdir(parents=True, exist_ok=True)
            onnx.save(chain_model(nodes), str(path))
        (baseline, _, base_cpu), (lint, lint_rss, lint_cpu) = side_by_side(
            [[sys.executable, "-c", BASELINE, str(path)], [*onnxlint, str(path), "--format", "json"]], args.repeat
        )
        print(
            f"  {nodes:>7} nodes: baseline {baseline:6.2f} s / {base_cpu:.2f} s, onnxlint {lint:6.2f} s / "
            f"{lint_cpu:.2f} s, ratio {lint / baseline:.2f}x / {lint_cpu / base_cpu:.2f}x, "
            f"{lint_cpu / nodes * 1e6:.1f} us/node CPU, peak RSS {lint_rss:.0f} MiB"
        )
    dynamic = OUT / f"chain_dyn_{args.nodes}.onnx"
    if not dynamic.exists():
        onnx.save(chain_model(args.nodes, batch="batch"), str(dynamic))
    (baseline, _, base_cpu), (lint_dyn, dyn_rss, dyn_cpu) = side_by_side(
        [[sys.executable, "-c", BASELINE, str(dynamic)], [*onnxlint, str(dynamic), "--format", "json"]], args.repeat
    )
    print(
        f"  {args.nodes:>7} nodes, dynamic batch: baseline {baseline:6.2f} s / {base_cpu:.2f} s, onnxlint "
        f"{lint_dyn:6.2f} s / {dyn_cpu:.2f} s, ratio {lint_dyn / baseline:.2f}x / {dyn_cpu / base_cpu:.2f}x, "
        f"peak RSS {dyn_rss:.0f} MiB"
    )
    # --toolkit keeps the measurement off any installed toolkit's version query.
    (lint, _, lint_cpu), (targeted, _, targeted_cpu) = side_by_side(
        [
            [*onnxlint, str(path), "--format", "json"],
            [*onnxlint, str(path), "--format", "json", "--target", "rk3588", "--toolkit", "2.5.0"],
        ],
        args.repeat,
    )
    print(
        f"target rules on {args.nodes} nodes: onnxlint --target rk3588 {targeted:.2f} s vs {lint:.2f} s, "
        f"ratio {targeted / lint:.2f}x / {targeted_cpu / lint_cpu:.2f}x CPU"
    )

    big = external_data_model(int(args.external_gb * 2**30), OUT / "external")
    data_gib = (OUT / "external" / "weights.bin").stat().st_size / 2**30
    lint, rss, _ = best([*onnxlint, str(big), "--format", "json"], args.repeat)
    baseline, base_rss, _ = best([sys.executable, "-c", BASELINE, str(big), "path"], args.repeat)
    print(
        f"external data model ({data_gib:.2f} GiB of weights): onnxlint {lint:.2f} s, peak RSS {rss:.0f} MiB "
        f"(onnx baseline {base_rss:.0f} MiB)"
    )

    (import_onnx, _, _), (version, _, _) = side_by_side(
        [[sys.executable, "-c", "import onnx"], [*onnxlint, "--version"]], max(args.repeat, 5)
    )
    print(
        f"cold start: onnxlint --version {version * 1000:.0f} ms, python -c 'import onnx' "
        f"{import_onnx * 1000:.0f} ms, ratio {version / import_onnx:.2f}x"
    )


if __name__ == "__main__":
    main()
