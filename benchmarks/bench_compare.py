"""`onnxlint compare A B` against Polygraphy's layer-wise comparison of the same two models: wall time and peak RSS.

    python benchmarks/bench_compare.py [--repeat 3]

Three pairs, each run side by side in this one process (fresh child processes, best of --repeat):
  * YOLOv5n as the yolov5 package builds and exports it (the real-model corpus's yolov5_yolov5n_op12.onnx,
    640x640, 1.9 M parameters; fetched by tools/fetch_corpus.py into $ONNXLINT_CORPUS_DIR, else
    ~/.cache/onnxlint-corpus; the pair is skipped, saying so, without it) against its onnxsim-simplified copy;
  * the project's small YOLOv5n-shaped fixture (fixtures/yolov5n_legacy_op12.onnx, 160x160, 71 k parameters)
    against its onnxsim-simplified copy: a model so small that the fixed cost of any comparison run in
    onnxruntime from Python (the interpreter, numpy, onnxruntime and one session) is most of the figure;
  * a ResNet-18 (built here with onnx.helper and seeded random weights, 224x224, 11.7 M parameters, BatchNorm
    folded into the convolutions as an exporter does) against itself.
Polygraphy's comparison is two runs, every intermediate tensor exposed:
    polygraphy run A --onnxrt --onnx-outputs mark all --save-inputs I --save-outputs O
    polygraphy run B --onnxrt --onnx-outputs mark all --load-inputs I --load-outputs O
its time is the sum of the two, its peak RSS the larger. Prints the ratios (targets: time no worse than it was,
<= 0.5x the peak RSS). Needs polygraphy and onnxsim (pip install polygraphy onnxsim; benchmark-only
dependencies); polygraphy is looked for beside this Python, then on PATH. Models are written under benchmarks/out/
(git-ignored).

Peak RSS is given two ways. "largest process" is ru_maxrss of RUSAGE_CHILDREN in a launcher: the peak of the
largest single process it waited for (onnxlint compare works in two child processes of its own, one after the
other: one vets the files, one runs the models; so this is the largest of the three, not a sum). "tree" samples
/proc every 10 ms and takes the largest sum of RSS over the launched process and all its descendants alive at
that moment: what the machine had to hold. Polygraphy is one process, so its two figures agree. Times are wall
and CPU (user + system of every waited-for process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from bench_lint import OUT
from onnx import TensorProto, helper, numpy_helper

# Runs a command and samples the RSS of its whole process tree; prints exit code, wall s, CPU s, ru_maxrss of
# the largest waited-for process (KiB) and the largest sampled tree sum (KiB).
TREE_LAUNCHER = r"""
import os, resource, subprocess, sys, time

def tree_kib(root):
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(pid))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total

start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = 0
while process.poll() is None:
    peak = max(peak, tree_kib(process.pid))
    time.sleep(0.01)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(process.returncode, time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, peak)
"""


def run(command: list[str]) -> tuple[float, float, float, float]:
    """(wall s, CPU s, largest process peak MiB, process tree peak MiB) of one command."""
    import subprocess

    result = subprocess.run([sys.executable, "-c", TREE_LAUNCHER, *command], capture_output=True, text=True)
    code, wall, cpu, largest, tree = result.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    return float(wall), float(cpu), int(largest) / 1024, int(tree) / 1024


ROOT = Path(__file__).resolve().parent.parent
YOLO_FIXTURE = ROOT / "fixtures" / "yolov5n_legacy_op12.onnx"
YOLO_CORPUS_NAME = "yolov5_yolov5n_op12.onnx"


def corpus_yolov5n() -> Path | None:
    """The real YOLOv5n from the real-model corpus cache, or None when it has not been fetched."""
    sys.path.insert(0, str(ROOT / "tools"))
    from fetch_corpus import cache_dir

    path = cache_dir() / "models" / YOLO_CORPUS_NAME
    return path if path.is_file() else None


def simplified_copy(path: Path) -> Path:
    """The model after onnxsim (what a deployment pipeline does before conversion)."""
    import onnxsim

    target = OUT / f"{path.stem}_sim.onnx"
    if not target.exists():
        model, ok = onnxsim.simplify(onnx.load(str(path)))
        if not ok:
            raise SystemExit(f"onnxsim could not check its simplification of {path}")
        OUT.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(target))
    return target


def resnet18(seed: int = 0) -> onnx.ModelProto:
    """ResNet-18 as torchvision defines it (BasicBlock x [2, 2, 2, 2], widths 64..512, 1000 classes), BatchNorm
    folded into each Conv's weight and bias, He-scaled seeded random weights."""
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []

    def conv(x: str, name: str, cin: int, cout: int, k: int, stride: int, relu: bool) -> str:
        w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * np.float32((2.0 / (cin * k * k)) ** 0.5)
        weights.append(numpy_helper.from_array(w, f"{name}.weight"))
        weights.append(numpy_helper.from_array(rng.standard_normal(cout, dtype=np.float32) * 0.01, f"{name}.bias"))
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.weight", f"{name}.bias"],
                [f"/{name}/Conv_output_0"],
                name=f"/{name}/Conv",
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[k // 2] * 4,
            )
        )
        if not relu:
            return f"/{name}/Conv_output_0"
        nodes.append(
            helper.make_node("Relu", [f"/{name}/Conv_output_0"], [f"/{name}/Relu_output_0"], name=f"/{name}/Relu")
        )
        return f"/{name}/Relu_output_0"

    x = conv("input", "conv1", 3, 64, 7, 2, relu=True)
    nodes.append(
        helper.make_node(
            "MaxPool",
            [x],
            ["/maxpool/MaxPool_output_0"],
            name="/maxpool/MaxPool",
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
        )
    )
    x, cin = "/maxpool/MaxPool_output_0", 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            y = conv(x, f"{prefix}.conv1", cin, cout, 3, stride, relu=True)
            y = conv(y, f"{prefix}.conv2", cout, cout, 3, 1, relu=False)
            skip = (
                conv(x, f"{prefix}.downsample", cin, cout, 1, stride, relu=False) if stride != 1 or cin != cout else x
            )
            nodes.append(helper.make_node("Add", [y, skip], [f"/{prefix}/Add_output_0"], name=f"/{prefix}/Add"))
            nodes.append(
                helper.make_node(
                    "Relu", [f"/{prefix}/Add_output_0"], [f"/{prefix}/Relu_output_0"], name=f"/{prefix}/Relu"
                )
            )
            x, cin = f"/{prefix}/Relu_output_0", cout
    nodes.append(
        helper.make_node(
            "GlobalAveragePool", [x], ["/avgpool/GlobalAveragePool_output_0"], name="/avgpool/GlobalAveragePool"
        )
    )
    nodes.append(
        helper.make_node(
            "Flatten", ["/avgpool/GlobalAveragePool_output_0"], ["/Flatten_output_0"], name="/Flatten", axis=1
        )
    )
    weights.append(
        numpy_helper.from_array(rng.standard_normal((1000, 512), dtype=np.float32) * np.float32(512**-0.5), "fc.weight")
    )
    weights.append(numpy_helper.from_array(np.zeros(1000, dtype=np.float32), "fc.bias"))
    nodes.append(
        helper.make_node(
            "Gemm",
            ["/Flatten_output_0", "fc.weight", "fc.bias"],
            ["output"],
            name="/fc/Gemm",
            alpha=1.0,
            beta=1.0,
            transB=1,
        )
    )
    graph = helper.make_graph(
        nodes,
        "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1000])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)


def resnet18_file() -> Path:
    target = OUT / "resnet18.onnx"
    if not target.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        model = resnet18()
        onnx.checker.check_model(model)
        onnx.save(model, str(target))
    return target


def polygraphy_run(polygraphy: str, a: Path, b: Path) -> tuple[float, float, float, float]:
    """Polygraphy's two-run comparison: times summed, peaks the larger of the two runs."""
    inputs, outputs = OUT / "polygraphy_inputs.json", OUT / "polygraphy_outputs.json"
    common = ["--onnxrt", "--onnx-outputs", "mark", "all", "--seed", "0"]
    first = run([polygraphy, "run", str(a), *common, "--save-inputs", str(inputs), "--save-outputs", str(outputs)])
    second = run([polygraphy, "run", str(b), *common, "--load-inputs", str(inputs), "--load-outputs", str(outputs)])
    return first[0] + second[0], first[1] + second[1], max(first[2], second[2]), max(first[3], second[3])


def side_by_side(polygraphy: str, a: Path, b: Path, repeat: int):
    """Best times and largest peaks of onnxlint compare and of Polygraphy, taking turns in each round."""
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(run([sys.executable, "-m", "onnxlint", "compare", str(a), str(b), "--format", "json"]))
        theirs.append(polygraphy_run(polygraphy, a, b))

    def pick(runs):
        return (
            min(r[0] for r in runs),
            min(r[1] for r in runs),
            max(r[2] for r in runs),
            max(r[3] for r in runs),
        )

    return pick(ours), pick(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    polygraphy = shutil.which(
        "polygraphy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if polygraphy is None:
        raise SystemExit("polygraphy is not installed (pip install polygraphy onnxsim)")
    resnet = resnet18_file()
    pairs = []
    yolov5n = corpus_yolov5n()
    if yolov5n is None:
        print(
            f"YOLOv5n (640x640): skipped, {YOLO_CORPUS_NAME} is not in the corpus cache (python tools/fetch_corpus.py)"
        )
    else:
        pairs.append(("YOLOv5n (640x640) vs its onnxsim copy", yolov5n, simplified_copy(yolov5n)))
    pairs += [
        ("YOLOv5n-shaped fixture (160x160) vs its onnxsim copy", YOLO_FIXTURE, simplified_copy(YOLO_FIXTURE)),
        ("ResNet-18 vs itself", resnet, resnet),
    ]
    for label, a, b in pairs:
        (wall, cpu, largest, tree), (p_wall, p_cpu, p_largest, p_tree) = side_by_side(polygraphy, a, b, args.repeat)
        print(
            f"{label}: onnxlint compare {wall:.2f} s wall, {cpu:.2f} s CPU, {largest:.0f} MiB largest process, "
            f"{tree:.0f} MiB tree; polygraphy {p_wall:.2f} s, {p_cpu:.2f} s CPU, {p_largest:.0f} MiB, "
            f"{p_tree:.0f} MiB tree; ratios: wall {wall / p_wall:.2f}x, CPU {cpu / p_cpu:.2f}x, peak RSS "
            f"{largest / p_largest:.2f}x (largest process), {tree / p_tree:.2f}x (tree)"
        )


if __name__ == "__main__":
    main()
