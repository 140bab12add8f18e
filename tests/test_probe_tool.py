"""onnxlint.rknn.probe_ops without the toolkit: its probe models are valid, its log reading is right."""

from __future__ import annotations

import json

import onnx
import pytest

from onnxlint.rknn import probe_ops as probe

# Case ids are unique, so results merge by id across runs.
CASE_IDS = [case.id for case in probe.CASES]


def test_case_ids_are_unique():
    assert len(CASE_IDS) == len(set(CASE_IDS))


@pytest.mark.parametrize("case", probe.CASES, ids=CASE_IDS)
def test_every_probe_model_is_valid_onnx(case):
    model, feeds = probe.build_model(case)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        # GroupNormalization-18 is deprecated, but it is the only version a toolkit capped at opset 19 can load.
        assert "is deprecated" in str(exc) and case.op == "GroupNormalization", exc
    assert set(feeds) <= {value.name for value in model.graph.input}


def _log(*rows: str, load_ret=0, build_ret=0) -> str:
    markers = [
        f"{probe.MARKER}{json.dumps({'stage': 'build', 'load_ret': load_ret})}",
        f"{probe.MARKER}{json.dumps({'build_ret': build_ret})}",
    ]
    table = [
        "D RKNN: [11:52:28.190] Network Layer Information Table",
        *(f"D RKNN: [11:52:28.191] {row}" for row in rows),
        "D RKNN: [11:52:28.192] Feature Tensor Information Table",
    ]
    return "\n".join([*markers, "E RKNN: Unkown op target: 0", *table])


def test_layer_table_decides_npu_or_cpu():
    npu = _log(
        "0    InputOperator      FLOAT16  CPU    \\   (1,3,8,8)   0/0/0   0   InputOperator:x",
        "1    Conv               FLOAT16  NPU    (1,3,8,8)   (1,4,8,8)   0/0/0   1   Conv:y",
    )
    cpu = _log("1    Xor                INT8     CPU    (1,16)      (1,16)      0/0/0   1   Xor:y")
    assert probe.classify(npu, 0, False, 60, "/tmp/w")["outcome"] == "npu"  # despite the "E RKNN" line
    assert probe.classify(cpu, 0, False, 60, "/tmp/w")["outcome"] == "cpu"


def test_refusals_and_crashes():
    assert probe.classify(_log(load_ret=-1), 0, False, 60, "/tmp/w")["outcome"] == "unsupported"
    assert probe.classify(_log(), -11, False, 60, "/tmp/w")["outcome"] == "error"  # SIGSEGV
    assert probe.classify("", 0, True, 60, "/tmp/w")["outcome"] == "error"  # timed out
