"""Whole-model placement: the CPU layers of a real rknn-toolkit2 build against what TG003/TG005/TG006 predict.

    python tools/compare_placement.py MODEL.onnx --chip rk3588 [--input NAME=1,16000 ...] \
        --results tests/corpus/placement-rk3588.json

The model's dynamic input dims are fixed first (to the `--input` shapes; any other dynamic dim becomes 1), as the
toolkit needs them fixed (TG002), and both sides see that static copy. onnxlint lints it with --target CHIP and
TG003, TG005 and TG006; the toolkit builds it with verbose=True, and its layer table names, for each layer, the
operator and the ONNX node it came from ("Conv:conv"). The comparison is by node name: `agree`, `predicted_only`
(onnxlint says CPU or refused, the build put no CPU layer there), `toolkit_only` (a CPU layer onnxlint did not
predict) and `toolkit_inserted` (the Reshape and Transpose layers the toolkit wraps around operators). The
record replaces the model's earlier one in the results file (its `explanations` are kept);
tests/test_corpus_placement.py checks the committed records against today's predictions. Each build takes the
toolkit tens of seconds of CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from onnxlint.checks import ALL_RULES  # noqa: E402
from onnxlint.core.registry import PlacementRule  # noqa: E402
from onnxlint.rknn import toolkit  # noqa: E402
from onnxlint.rknn.log import layer_table, log_lines  # noqa: E402
from onnxlint.rknn.placement import LAYOUT_LAYERS  # noqa: E402

# The rules that predict placement (TG003, TG005, TG006): every PlacementRule.
PLACEMENT_RULES = tuple(rule.code for rule in ALL_RULES if isinstance(rule, PlacementRule))


def static_copy(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> tuple[onnx.ModelProto, dict]:
    """The model with every dynamic input dim fixed: to the given shape, else 1. Returns it and the shapes used."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    initializers = {tensor.name for tensor in fixed.graph.initializer}
    used = {}
    for value in fixed.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        given = shapes.get(value.name)
        if given is not None and len(given) != len(dims):
            raise SystemExit(f"--input {value.name}: {len(given)} dims given, the input has {len(dims)}")
        for axis, dim in enumerate(dims):
            size = given[axis] if given else (dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else 1)
            dim.Clear()
            dim.dim_value = size
        used[value.name] = [dim.dim_value for dim in dims]
    del fixed.graph.value_info[:]  # inferred under the dynamic dims
    return fixed, used


def predicted_nodes(path: Path, chip: str) -> list[dict]:
    """The nodes TG003/TG005/TG006 report (each finding's node and its related ones), in report order."""
    import onnxlint

    report = onnxlint.lint(path, target=chip, select=list(PLACEMENT_RULES))
    if report.error is not None:
        raise SystemExit(f"{path}: {report.error}")
    nodes = []
    for finding in report.findings:
        for where in (finding.location, *finding.related):
            nodes.append({"node": where.node, "op_type": where.op_type, "code": finding.code})
    return nodes


def toolkit_cpu_layers(log: str, model: onnx.ModelProto) -> list[dict]:
    """The CPU layers of the build's layer table, each with the ONNX node it came from. A layer the toolkit made
    from a node names it with a suffix ("/bert/And_1_2fp_add_cast", the And rewritten as a float Add with a Cast)
    or names the node's output tensor ("/bert/Cast_output_0-rs_sw_cast"): such a layer counts for that node
    (`from`), except the Reshape and Transpose layers the toolkit wraps around an operator ("tmp_11-rs"), which
    have `node` None."""
    return [
        attributed(layer.op_type, layer.full_name.split(":", 1)[-1], model)
        for layer in layer_table(log)
        if layer.target == "CPU" and not layer.is_io
    ]


def attributed(layer: str, name: str, model: onnx.ModelProto) -> dict:
    """A CPU layer with the model node it stands for (None for a layout layer the toolkit added)."""
    nodes = {node.name for node in model.graph.node}
    if name in nodes:
        return {"layer": layer, "name": name, "node": name}
    if layer in LAYOUT_LAYERS:
        return {"layer": layer, "name": name, "node": None}
    producers = {output: node.name for node in model.graph.node for output in node.output}
    stems = [
        stem for stem in (*nodes, *producers) if name == stem or (name.startswith(stem) and name[len(stem)] in "-_")
    ]
    stem = max(stems, key=len, default=None)
    return {"layer": layer, "name": name, "node": producers.get(stem, stem)}


def raised(log: str) -> list[str]:
    """The last exception the toolkit printed ("package.module.Name: message") and its next two lines: for errors
    that error_lines() does not know, such as onnxruntime's inside the toolkit's constant folding."""
    lines = [line.strip() for line in log_lines(log)]
    found = [i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_][\w.]*\.\w+: ", line)]
    return lines[found[-1] : found[-1] + 3] if found else []


def compare(predicted: list[dict], cpu: list[dict]) -> dict:
    """Node names predicted and built on the CPU, split three ways, and the CPU layers no node stands for."""
    predicted_names = {entry["node"] for entry in predicted}
    cpu_names = {entry["node"] for entry in cpu if entry["node"] is not None}
    return {
        "agree": sorted(predicted_names & cpu_names),
        "predicted_only": sorted(predicted_names - cpu_names),
        "toolkit_only": sorted(cpu_names - predicted_names),
        "toolkit_inserted": sorted(entry["name"] for entry in cpu if entry["node"] is None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--chip", required=True)
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="the shape to build a dynamic input at (repeatable); other dynamic dims become 1",
    )
    parser.add_argument("--results", type=Path, required=True, help="the JSON file of records to update")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--log", type=Path, help="where to write the toolkit's verbose log")
    args = parser.parse_args(argv)
    shapes = {}
    for spec in args.input:
        name, _, dims = spec.partition("=")
        shapes[name] = [int(d) for d in dims.split(",")]
    fixed, used = static_copy(onnx.load(str(args.model)), shapes)
    with tempfile.TemporaryDirectory(prefix="onnxlint-placement-") as folder:
        path = Path(folder) / args.model.name
        onnx.save(fixed, str(path))
        predicted = predicted_nodes(path, args.chip)
        result = toolkit.build(path, args.chip, verbose=True, timeout=args.timeout)
    cpu = toolkit_cpu_layers(result.log, fixed)
    if args.log:
        args.log.write_text(result.log, "utf-8")
    errors = result.error_lines() or raised(result.log)
    record = {
        "model": args.model.stem,
        "chip": args.chip,
        "toolkit": toolkit.installed_label(),
        "inputs": used,
        "build": "ok" if result.failed_stage is None else f"failed at {result.failed_stage}",
        "toolkit_errors": errors if result.failed_stage else [],
        "predicted": predicted,
        "toolkit_cpu": cpu,
        **compare(predicted, cpu),
    }
    records = json.loads(args.results.read_text("utf-8")) if args.results.exists() else {"records": []}
    kept = [r for r in records["records"] if (r["model"], r["chip"]) != (record["model"], record["chip"])]
    records["records"] = sorted([*kept, record], key=lambda r: (r["chip"], r["model"]))
    args.results.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n", "utf-8")
    print(json.dumps({key: record[key] for key in ("model", "build", "agree", "predicted_only", "toolkit_only")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
