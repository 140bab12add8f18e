"""Whole-model placement: the CPU layers of a real rknn-toolkit2 build against what TG003/TG005/TG006 predict.

    python tools/compare_placement.py --chip rk3588 MODEL.onnx [--input NAME=1,16000 ...]
    python tools/compare_placement.py --chip rv1106 --corpus [--models 'yolov5_*' ...]

The model's dynamic input dims are fixed first (to the `--input` shapes; any other dynamic dim becomes 1), as the
toolkit needs them fixed (TG002), and both sides see that static copy. onnxlint lints it with --target CHIP and
TG003, TG005 and TG006; the toolkit builds it with verbose=True, as onnxlint's own builds do: in fp16, and on the
int8-only chips (rv1106, rv1103) quantized with a one-sample calibration set of random inputs. Its layer table
names, for each layer, the operator and the ONNX node it came from ("Conv:conv"). The comparison is by node name:
`agree`, `predicted_only` (onnxlint says CPU or refused, the build put no CPU layer there), `toolkit_only` (a CPU
layer onnxlint did not predict) and `toolkit_inserted` (the Reshape and Transpose layers the toolkit wraps around
operators). The record replaces the model's earlier one in the results file (tests/corpus/placement-CHIP.json by
default; its `explanations` are kept); tests/test_corpus_placement.py checks the committed records against
today's predictions.

`--corpus` builds the models of tests/corpus/MANIFEST.json from the corpus cache ($ONNXLINT_CORPUS_DIR), one at a
time, at the sizes CORPUS_INPUTS names, skipping those the results file already records (a run resumes where it
stopped; --redo builds them again). Each build takes the toolkit seconds to a minute of CPU. After a change to
onnxlint's knowledge, `--corpus --repredict` makes the predictions of the recorded models again and keeps their
builds' layers. Each record also says which build failures TG008 predicts (`predicted_failures`), to set against
`build`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from onnxlint.checks import ALL_RULES  # noqa: E402
from onnxlint.checks.tg008_target_toolkit_failure import TargetToolkitFailure  # noqa: E402
from onnxlint.confirm.inputs import random_inputs  # noqa: E402
from onnxlint.core.registry import PlacementRule  # noqa: E402
from onnxlint.rknn import toolkit  # noqa: E402
from onnxlint.rknn.knowledge import int8_only_chips  # noqa: E402
from onnxlint.rknn.log import layer_table, log_lines  # noqa: E402
from onnxlint.rknn.placement import LAYOUT_LAYERS  # noqa: E402

MANIFEST = ROOT / "tests" / "corpus" / "MANIFEST.json"

# The sizes the corpus models are built at, where a dynamic dim other than the batch has a usual size: a second of
# 16 kHz audio, a 512-sample VAD window, the OCR models' input sizes, YOLO's 640 (320 for nudenet's), 16 tokens.
# Any dim not named here becomes 1 (the batch).
WAVEFORM = {"waveforms": [1, 16000], "waveforms_lens": [1]}
VAD_WINDOW = {"input": [1, 512], "state": [2, 1, 128]}
CORPUS_INPUTS: dict[str, dict[str, list[int]]] = {
    "rapidocr_ppocrv4_det": {"x": [1, 3, 640, 640]},
    "rapidocr3_ppocrv6_det_small": {"x": [1, 3, 640, 640]},
    "rapidocr_ppocrv4_rec": {"x": [1, 3, 48, 320]},
    "rapidocr3_ppocrv6_rec_small": {"x": [1, 3, 48, 320]},
    "rapidocr_ppocr_v2_cls": {"x": [1, 3, 48, 192]},
    "nudenet_320n": {"images": [1, 3, 320, 320]},
    "ultralytics_yolov8n_op17_dynamic": {"images": [1, 3, 640, 640]},
    "yolov5_yolov5n_op12_dynamic": {"images": [1, 3, 640, 640]},
    "ddddocr_ocr_quant": {"input1": [1, 1, 64, 160]},
    "openwakeword_melspectrogram": {"input": [1, 16000]},
    "openwakeword_silero_vad": {"input": [1, 512], "h": [2, 1, 64], "c": [2, 1, 64]},
    "silero_vad_16k_op15": VAD_WINDOW,
    "silero_vad_half": VAD_WINDOW,
    "silero_vad_op18_ifless": VAD_WINDOW,
    "silero_vad_v6": VAD_WINDOW,
    "onnx_asr_kaldi": WAVEFORM,
    "onnx_asr_nemo128": WAVEFORM,
    "onnx_asr_whisper80": WAVEFORM,
    "onnx_asr_resample_22_16": WAVEFORM,
    "transformers_bert_tiny_op14": {"input_ids": [1, 16], "attention_mask": [1, 16]},
    "transformers_bert_tiny_op18_dynamo": {"input_ids": [1, 16], "attention_mask": [1, 16]},
}
# Integer inputs whose random calibration value (0 to 3) would take the model off its usual path: the sample
# rate the VADs branch on, the waveform length the front ends mask with, an attention mask of ones.
CALIBRATION_VALUES: dict[str, dict[str, int]] = {
    **{
        name: {"sr": 16000}
        for name in ("openwakeword_silero_vad", "silero_vad_16k_op15", "silero_vad_op18_ifless", "silero_vad_v6")
    },
    **{f"onnx_asr_{name}": {"waveforms_lens": 16000} for name in ("kaldi", "nemo128", "whisper80", "resample_22_16")},
    **{name: {"attention_mask": 1} for name in ("transformers_bert_tiny_op14", "transformers_bert_tiny_op18_dynamo")},
}

# The rules that predict placement (TG003, TG005, TG006): every PlacementRule.
PLACEMENT_RULES = tuple(rule.code for rule in ALL_RULES if isinstance(rule, PlacementRule))
SUMMARY = ("model", "build", "predicted_failures", "agree", "predicted_only", "toolkit_only")  # printed per model
FAILURE_RULE = TargetToolkitFailure.code  # the known build failures (TG008): set against the build's outcome


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


def predictions(path: Path, chip: str, version: str | None = None) -> tuple[list[dict], list[str]]:
    """The nodes TG003/TG005/TG006 report (each finding's node and its related ones), in report order, and the
    build failures TG008 predicts (their ids), for `chip` under toolkit `version` (the installed one by default)."""
    import onnxlint

    report = onnxlint.lint(path, target=chip, select=[*PLACEMENT_RULES, FAILURE_RULE], toolkit=version)
    if report.error is not None:
        raise SystemExit(f"{path}: {report.error}")
    nodes = [
        {"node": where.node, "op_type": where.op_type, "code": finding.code}
        for finding in report.findings
        if finding.code != FAILURE_RULE
        for where in (finding.location, *finding.related)
    ]
    failures = [finding.data["failure"] for finding in report.findings if finding.code == FAILURE_RULE]
    return nodes, failures


def toolkit_cpu_layers(log: str, model: onnx.ModelProto) -> list[dict]:
    """The CPU layers of the build's layer table, each with the ONNX node it came from. A layer the toolkit made
    from a node names it with a suffix ("/bert/And_1_2fp_add_cast", the And rewritten as a float Add with a Cast;
    "LayerNormalization#1", rewritten once) or names the node's output tensor ("/bert/Cast_output_0-rs_sw_cast"):
    such a layer counts for that node, except the Reshape and Transpose layers the toolkit wraps around an operator
    ("tmp_11-rs"), which have `node` None."""
    return [
        attributed(layer.op_type, layer.full_name.split(":", 1)[-1], model)
        for layer in layer_table(log)
        if layer.target == "CPU" and not layer.is_io
    ]


def attributed(layer: str, name: str, model: onnx.ModelProto) -> dict:
    """A CPU layer with the model node it stands for (None for a layout layer the toolkit added: a Reshape or
    Transpose named after a tensor, "tmp_11-rs"; one named after a node is that node rewritten,
    "node_GatherND_47_2rs")."""
    nodes = {node.name for node in model.graph.node}
    if name in nodes:
        return {"layer": layer, "name": name, "node": name}
    producers = {output: node.name for node in model.graph.node for output in node.output}
    stems = [
        stem for stem in (*nodes, *producers) if name == stem or (name.startswith(stem) and name[len(stem)] in "-_#")
    ]
    stem = max(stems, key=len, default=None)
    if layer in LAYOUT_LAYERS and (stem is None or stem in producers):
        return {"layer": layer, "name": name, "node": None}
    return {"layer": layer, "name": name, "node": producers.get(stem, stem)}


def raised(log: str) -> list[str]:
    """The last exception the toolkit printed under a module path ("package.module.Name: message") and its next two
    lines: for exception lines error_lines() does not keep (a name ending neither in Error nor in Exception)."""
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


def build_record(model_path: Path, chip: str, shapes: dict, values: dict, timeout: int, log: Path | None) -> dict:
    """Lint and build the static copy of the model at `shapes` for `chip`; the record of both. `values`: the
    integer inputs' values in the calibration sample of an int8 build (a sample rate, a length)."""
    fixed, used = static_copy(onnx.load(str(model_path)), shapes)
    with tempfile.TemporaryDirectory(prefix="onnxlint-placement-") as folder:
        path = Path(folder) / model_path.name
        onnx.save(fixed, str(path))
        predicted, failures = predictions(path, chip)
        sample = None
        if chip in int8_only_chips():
            given = {name: np.full(used[name], value, dtype=np.int64) for name, value in values.items()}
            sample = random_inputs(fixed, given=given)
        result = toolkit.build(path, chip, verbose=True, timeout=timeout, inputs=sample)
    cpu = toolkit_cpu_layers(result.log, fixed)
    if log:
        log.write_text(result.log, "utf-8")
    errors = result.error_lines() or raised(result.log)
    return {
        "model": model_path.stem,
        "chip": chip,
        "toolkit": toolkit.installed_label(),
        "quantized": sample is not None,
        "inputs": used,
        "build": "ok" if result.failed_stage is None else f"failed at {result.failed_stage}",
        "toolkit_errors": errors if result.failed_stage else [],
        "predicted": predicted,
        "predicted_failures": failures,
        "toolkit_cpu": cpu,
        **compare(predicted, cpu),
    }


def repredicted(record: dict, model_path: Path) -> dict:
    """The record with onnxlint's side made again with today's knowledge, and the recorded CPU layers attributed
    to nodes again; the build itself is kept (no build)."""
    fixed, _ = static_copy(onnx.load(str(model_path)), record["inputs"])
    with tempfile.TemporaryDirectory(prefix="onnxlint-placement-") as folder:
        path = Path(folder) / model_path.name
        onnx.save(fixed, str(path))
        predicted, failures = predictions(path, record["chip"])
    cpu = [attributed(layer["layer"], layer["name"], fixed) for layer in record["toolkit_cpu"]]
    return {
        **record,
        "predicted": predicted,
        "predicted_failures": failures,
        "toolkit_cpu": cpu,
        **compare(predicted, cpu),
    }


def load_results(path: Path) -> dict:
    return json.loads(path.read_text("utf-8")) if path.exists() else {"explanations": {}, "records": []}


def save_record(path: Path, record: dict) -> None:
    """Put `record` in the results file in place of the model's earlier one (read again: another run may have
    written it meanwhile)."""
    results = load_results(path)
    kept = [r for r in results["records"] if (r["model"], r["chip"]) != (record["model"], record["chip"])]
    results["records"] = sorted([*kept, record], key=lambda r: (r["chip"], r["model"]))
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", "utf-8")


def corpus_models(patterns: list[str]) -> list[str]:
    """The corpus models whose names match one of `patterns`, in the order of the patterns, then of the MANIFEST."""
    names = [model["name"] for model in json.loads(MANIFEST.read_text("utf-8"))["models"]]
    chosen = [name for pattern in patterns for name in names if fnmatch.fnmatchcase(name, pattern)]
    return list(dict.fromkeys(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, nargs="?", help="an ONNX model (or --corpus)")
    parser.add_argument("--chip", required=True)
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="the shape to build a dynamic input at (repeatable); other dynamic dims become 1",
    )
    parser.add_argument("--corpus", action="store_true", help="build the corpus models not yet recorded")
    parser.add_argument(
        "--models", nargs="+", default=["*"], metavar="GLOB", help="with --corpus: the models to build, in order"
    )
    parser.add_argument("--redo", action="store_true", help="with --corpus: build recorded models again")
    parser.add_argument(
        "--repredict",
        action="store_true",
        help="with --corpus: make onnxlint's side of the recorded models again (after a knowledge change), no build",
    )
    parser.add_argument("--results", type=Path, help="the JSON file of records to update")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--log", type=Path, help="where to write the toolkit's verbose log (a folder with --corpus)")
    args = parser.parse_args(argv)
    if (args.model is None) == (not args.corpus):
        parser.error("give a model or --corpus")
    results = args.results or ROOT / "tests" / "corpus" / f"placement-{args.chip}.json"
    if not args.corpus:
        shapes = {}
        for spec in args.input:
            name, _, dims = spec.partition("=")
            shapes[name] = [int(d) for d in dims.split(",")]
        jobs: list[tuple[Path, dict[str, list[int]], dict[str, int], Path | None]] = [
            (args.model, shapes, {}, args.log)
        ]
    else:
        records = {r["model"]: r for r in load_results(results)["records"] if r["chip"] == args.chip}
        cache = Path(os.environ.get("ONNXLINT_CORPUS_DIR") or Path.home() / ".cache" / "onnxlint-corpus")
        if args.repredict:
            for name in corpus_models(args.models):
                if name in records:
                    record = repredicted(records[name], cache / "models" / f"{name}.onnx")
                    save_record(results, record)
                    print(json.dumps({key: record[key] for key in SUMMARY}), flush=True)
            return 0
        jobs = [
            (
                cache / "models" / f"{name}.onnx",
                CORPUS_INPUTS.get(name, {}),
                CALIBRATION_VALUES.get(name, {}),
                args.log / f"{name}-{args.chip}.log" if args.log else None,
            )
            for name in corpus_models(args.models)
            if args.redo or name not in records
        ]
    for model_path, shapes, values, log in jobs:
        started = time.monotonic()
        record = build_record(model_path, args.chip, shapes, values, args.timeout, log)
        save_record(results, record)
        summary = {key: record[key] for key in SUMMARY}
        print(json.dumps({**summary, "seconds": round(time.monotonic() - started)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
