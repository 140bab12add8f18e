#!/usr/bin/env python3
"""How often onnxlint's placement (NPU, CPU or refused, per chip) agrees with rknn-toolkit2 on one-op models the
probes were not written from.

    ONNXLINT_RKNN_PYTHON=/path/to/toolkit/python python tools/placement_agreement.py run --chips rk3588 rv1106
    python tools/placement_agreement.py report            # agreement from the recorded results, no toolkit needed

The independent set is onnx's own backend node tests (onnx/backend/test/data/node/*/model.onnx in the onnx wheel
of the toolkit's interpreter): every model with one node of the default domain, one per form (operator, element
types and ranks of its inputs and outputs, attributes, which inputs are constants), converted down to the
toolkit's max opset where needed. A model that cannot be used is recorded under `skipped` with the reason.
`run` builds each case for each chip with onnxlint.rknn.probe_ops's child-process runner (int8-only chips
quantized, calibrated on the test's own input data) and records the toolkit's outcome; cases already recorded for
a chip are kept (--redo reruns them), so an interrupted run resumes. `report` lints every recorded model with
--target CHIP and prints agreement per chip, the disagreements grouped by the cause recorded under
`explanations` (kept across runs; tests/test_placement_agreement.py requires one for each disagreement).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's onnxlint, not an installed one

from onnxlint.rknn.agreement import agreement, case_model, load_results, toolkit_outcome  # noqa: E402
from onnxlint.rknn.knowledge import known_chips  # noqa: E402
from onnxlint.rknn.probe_ops import build_with_toolkit  # noqa: E402
from onnxlint.rknn.targets import installed_version, load_facts  # noqa: E402
from onnxlint.rknn.toolkit import toolkit_missing, toolkit_python  # noqa: E402

RESULTS = ROOT / "tests" / "corpus" / "agreement-rknn-toolkit2-2.5.0.json"
MAX_MESSAGES = 2


def node_tests_dir(python: str) -> Path:
    """onnx/backend/test/data/node of the onnx that `python` imports (the toolkit's)."""
    code = "import onnx, pathlib; print(pathlib.Path(onnx.__file__).parent / 'backend/test/data/node')"
    return Path(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip())


def describe_value(value: onnx.TypeProto) -> str:
    kind = value.WhichOneof("value")
    if kind != "tensor_type":
        return kind or "untyped"
    tensor = value.tensor_type
    rank = len(tensor.shape.dim) if tensor.HasField("shape") else "?"
    return f"{onnx.helper.tensor_dtype_to_string(tensor.elem_type).removeprefix('TensorProto.').lower()}/r{rank}"


def describe_attribute(attribute: onnx.AttributeProto) -> str:
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
        shown = array.tolist() if array.size <= 8 else f"{array.dtype}{list(array.shape)}"
        return f"{attribute.name}=tensor({shown})"
    if isinstance(value, onnx.GraphProto):
        return f"{attribute.name}=graph({','.join(node.op_type for node in value.node)})"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return f"{attribute.name}={value}"


def form(model: onnx.ModelProto) -> str:
    """What makes one case different from another: operator, attributes, and each input's and output's element
    type, rank and origin (graph input or constant); not the sizes or the values fed."""
    node = model.graph.node[0]
    types = {value.name: value.type for value in (*model.graph.input, *model.graph.output, *model.graph.value_info)}
    constants = {tensor.name for tensor in model.graph.initializer}

    def port(name: str) -> str:
        if not name:
            return "-"
        origin = "const " if name in constants else ""
        return origin + (describe_value(types[name]) if name in types else "?")

    attributes = sorted(describe_attribute(attribute) for attribute in node.attribute)
    return f"{node.op_type}({', '.join(map(port, node.input))}) -> ({', '.join(map(port, node.output))}) " + " ".join(
        attributes
    )


def independent_cases(node_dir: Path, max_opset: int) -> tuple[dict[str, dict], dict[str, str]]:
    """The backend node tests as cases, one per form, and the skipped tests with the reason."""
    cases: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    seen: dict[str, str] = {}
    for test in sorted(path for path in node_dir.iterdir() if (path / "model.onnx").is_file()):
        model = onnx.load(test / "model.onnx")
        reason = unusable(model)
        if reason is None:
            model, reason = at_opset(model, max_opset)
        if reason is not None:
            skipped[test.name] = reason
            continue
        key = form(model)
        if key in seen:
            continue  # same form as an earlier test: not counted twice
        seen[key] = test.name
        cases[test.name] = {
            "op": model.graph.node[0].op_type,
            "form": key,
            "opset": opset_of(model),
            # The model itself (a few hundred bytes): the test lints it without the onnx wheel it came from.
            "model": base64.b64encode(model.SerializeToString()).decode(),
        }
    return cases, skipped


def opset_of(model: onnx.ModelProto) -> int:
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def unusable(model: onnx.ModelProto) -> str | None:
    if len(model.graph.node) != 1:
        return f"{len(model.graph.node)} nodes (an expanded function or a test of several), not a one-op model"
    node = model.graph.node[0]
    if node.domain not in ("", "ai.onnx"):
        return f"operator of domain {node.domain}: not an ONNX operator the toolkit knows"
    unused = [value.name for value in model.graph.input if value.name not in node.input]
    if unused:
        # The toolkit drops an input nothing reads, then refuses the int8 calibration list that still names it.
        return f"graph input {unused[0]} is read by no node"
    for value in (*model.graph.input, *model.graph.output):
        if value.type.WhichOneof("value") != "tensor_type":
            kind = value.type.WhichOneof("value")
            return f"{value.name} is a {kind}: a model the toolkit loads takes and returns tensors"
    return None


def at_opset(model: onnx.ModelProto, max_opset: int) -> tuple[onnx.ModelProto, str | None]:
    """The model at the toolkit's max opset or below, or why it cannot be converted."""
    opset = opset_of(model)
    if opset <= max_opset:
        return model, None
    op_type = model.graph.node[0].op_type
    try:
        converted = onnx.version_converter.convert_version(model, max_opset)
        onnx.checker.check_model(converted)
    except Exception as exc:  # the converter raises RuntimeError, checker ValidationError, and more
        # The converter's assertions read "<file>:<line>: <function>: Assertion `false` failed: <why>".
        why = str(exc).strip().splitlines()[0].rpartition("failed: ")[2]
        return model, f"opset {opset} -> {max_opset}: {why[:200]}"
    if [node.op_type for node in converted.graph.node] != [op_type]:
        return model, f"opset {opset} -> {max_opset} rewrites {op_type} into several nodes"
    return converted, None


def recorded_inputs(test: Path, model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The test's own input data (test_data_set_0), one array per graph input: the calibration set."""
    feeds = {}
    for index, value in enumerate(model.graph.input):
        tensor = onnx.TensorProto()
        tensor.ParseFromString((test / "test_data_set_0" / f"input_{index}.pb").read_bytes())
        feeds[value.name] = numpy_helper.to_array(tensor)
    return feeds


def run(args: argparse.Namespace) -> int:
    python = toolkit_python()
    version = installed_version() if python else None
    if python is None or version is None:
        raise SystemExit(toolkit_missing())
    facts = load_facts(version)
    node_dir = node_tests_dir(python)
    onnx_version = subprocess.run(
        [python, "-c", "import onnx; print(onnx.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    cases, skipped = independent_cases(node_dir, facts.max_opset)
    results = load_results(args.results) if args.results.exists() else {}
    recorded = results.get("cases", {})
    for name, case in cases.items():
        case["toolkit"] = {
            chip: compact(verdict) for chip, verdict in recorded.get(name, {}).get("toolkit", {}).items()
        }
    results.update(
        {
            "toolkit_version": version,
            "source": f"onnx {onnx_version} backend node tests (onnx/backend/test/data/node), one per form, "
            f"converted with onnx {onnx.__version__}",
            "skipped": skipped,
            "cases": cases,
        }
    )
    results.setdefault("causes", {})
    results.setdefault("explanations", {})
    names = [name for name in cases if not args.cases or any(Path(name).match(p) for p in args.cases)]
    if args.limit:
        names = sorted({names[index * len(names) // args.limit] for index in range(min(args.limit, len(names)))})
    # Every tenth case first, then the ones between: a run stopped early still covers every operator evenly.
    spread = [name for _, name in sorted((index % 10, name) for index, name in enumerate(names))]
    todo = [(chip, name) for name in spread for chip in args.chips if args.redo or chip not in cases[name]["toolkit"]]
    print(f"{len(cases)} cases ({len(skipped)} tests skipped); {len(todo)} builds to run", flush=True)
    save(args.results, results)  # the cases and skips of this onnx, with the builds recorded so far

    def build(chip: str, name: str) -> tuple[dict, float]:
        model = case_model(cases[name])
        started = time.monotonic()
        verdict = build_with_toolkit(model, recorded_inputs(node_dir / name, model), chip, args.timeout, python)
        return compact(verdict), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(build, chip, name): (chip, name) for chip, name in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            chip, name = futures[future]
            verdict, seconds = future.result()
            cases[name]["toolkit"][chip] = verdict
            save(args.results, results)
            print(
                f"[{done}/{len(todo)}] {chip} {name}: {toolkit_outcome(cases[name]['op'], verdict)} ({seconds:.1f} s)",
                flush=True,
            )
    return report(args)


def compact(verdict: dict) -> dict:
    """The verdict with the toolkit's first error lines and the probe's note, not its warnings or the build's
    duration (different on every run): enough to explain a refusal, and the results stay small."""
    messages = [message for message in verdict["messages"] if not message.startswith("W ")]
    kept = {key: value for key, value in verdict.items() if key != "seconds"}
    return {**kept, "messages": messages[:MAX_MESSAGES]}


def save(path: Path, results: dict) -> None:
    """Rewritten atomically after every build, so an interrupted run resumes; cases not built yet are left out."""
    built = {name: case for name, case in results["cases"].items() if case["toolkit"]}
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps({**results, "cases": built}, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    temporary.replace(path)


def report(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    for chip, outcome in agreement(results).items():
        total = outcome.agree + len(outcome.disagreements)
        print(f"{chip}: {outcome.agree}/{total} agree ({100 * outcome.agree / total:.1f} %)")
        by_cause: dict[str, list[str]] = defaultdict(list)
        for disagreement in outcome.disagreements:
            by_cause[disagreement.cause or "(unexplained)"].append(
                f"{disagreement.case} (toolkit {disagreement.toolkit}, onnxlint {disagreement.predicted})"
            )
        for cause, found in sorted(by_cause.items(), key=lambda item: -len(item[1])):
            print(f"  {len(found):3d}  {cause}")
            for line in found[: args.show]:
                print(f"         {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="build the cases with the toolkit and record its outcomes")
    run_parser.add_argument("--chips", nargs="+", default=["rk3588"], choices=known_chips())
    run_parser.add_argument("--cases", nargs="+", help="glob patterns on test names, e.g. 'test_reduce_*'")
    run_parser.add_argument("--limit", type=int, help="build an evenly spread sample of this many cases")
    run_parser.add_argument("--jobs", type=int, default=1, help="parallel toolkit processes")
    run_parser.add_argument("--timeout", type=float, default=120, help="seconds before a build counts as hung")
    run_parser.add_argument("--redo", action="store_true", help="rebuild cases already recorded for a chip")
    report_parser = commands.add_parser("report", help="agreement per chip from the recorded outcomes")
    for sub in (run_parser, report_parser):
        sub.add_argument("--results", type=Path, default=RESULTS, help="the results file")
        sub.add_argument("--show", type=int, default=3, help="cases listed per cause")
    args = parser.parse_args(argv)
    return run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    sys.exit(main())
