"""The inputs rknn-toolkit2 keeps: it drops a graph input whose values no node reads once the input sizes are fixed,
and refuses a dataset list (or inference inputs) with one array per graph input. onnxlint's own lists hold only
the inputs it keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import FIXTURES
from onnx import TensorProto, helper

from onnxlint.rknn import toolkit

UNREAD = FIXTURES / "toolkit" / "unread_inputs.onnx"  # image, length (only its Shape read), axes of a Squeeze


def _save(tmp_path: Path, nodes, inputs, outputs, opset: int = 13) -> Path:
    graph = helper.make_graph(nodes, "kept", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return path


def _float(name: str, shape=(1, 3, 4, 4)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _int64(name: str):
    return helper.make_tensor_value_info(name, TensorProto.INT64, [1])


def test_the_toolkit_keeps_the_inputs_whose_values_are_read():
    assert toolkit.toolkit_inputs(UNREAD) == ["image"]


def test_an_input_read_beside_its_shape_or_axes_use_is_kept_in_input_order(tmp_path):
    """`length` feeds a Shape and a Relu, `axes` an Unsqueeze and a Cast: both still read. `unused` is read by no
    node. The order is the graph's, not the nodes'."""
    nodes = [
        helper.make_node("Shape", ["length"], ["count"]),
        helper.make_node("Cast", ["length"], ["length_float"], to=TensorProto.FLOAT),
        helper.make_node("Relu", ["length_float"], ["length_out"]),
        helper.make_node("Unsqueeze", ["x", "axes"], ["y"]),
        helper.make_node("Cast", ["axes"], ["axes_out"], to=TensorProto.FLOAT),
    ]
    inputs = [_int64("axes"), _float("unused"), _int64("length"), _float("x")]
    outputs = [_float("y", (1, 1, 3, 4, 4)), _float("length_out", (1,)), _float("axes_out", (1,))]
    assert toolkit.toolkit_inputs(_save(tmp_path, nodes, inputs, outputs)) == ["axes", "length", "x"]


def test_an_input_a_subgraph_reads_is_kept(tmp_path):
    branch = helper.make_graph([helper.make_node("Relu", ["x"], ["out"])], "branch", [], [_float("out")])
    nodes = [helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=branch)]
    inputs = [helper.make_tensor_value_info("flag", TensorProto.BOOL, []), _float("x")]
    assert toolkit.toolkit_inputs(_save(tmp_path, nodes, inputs, [_float("y")])) == ["flag", "x"]


def _captured_arguments(monkeypatch) -> list[list]:
    """Stand in for the toolkit's child: record each array list and dataset list a script is handed, as the
    shapes of the arrays listed, while the files still exist."""
    captured: list[list] = []

    def read(listing: str) -> list:
        return [[np.load(path).shape for path in line.split()] for line in Path(listing).read_text().splitlines()]

    def run(python, script, arguments, folder, timeout):
        if script == toolkit.BUILD:
            captured.append(read(arguments[4]))
        else:  # accuracy_analysis: the evaluation inputs, then the calibration list
            captured.append([np.load(path).shape for path in json.loads(arguments[2])])
            captured.append(read(arguments[4]))
        return toolkit.BuildResult(None, "")

    monkeypatch.setattr(toolkit, "toolkit_python", lambda: "python")
    monkeypatch.setattr(toolkit, "_build_result", run)
    return captured


def test_an_int8_build_lists_only_the_kept_inputs(monkeypatch):
    captured = _captured_arguments(monkeypatch)
    toolkit.build(UNREAD, "rv1106")
    assert captured == [[[(1, 3, 8, 8)]]]  # one sample, the image alone


def test_accuracy_analysis_hands_over_only_the_kept_inputs(monkeypatch, tmp_path):
    captured = _captured_arguments(monkeypatch)
    sample = {
        "image": np.zeros((1, 3, 8, 8), np.float32),
        "length": np.array([5], np.int64),
        "axes": np.array([0], np.int64),
    }
    toolkit.accuracy_analysis(UNREAD, "rv1106", sample, tmp_path / "snapshot", calibration=[sample, sample])
    assert captured == [[(1, 3, 8, 8)], [[(1, 3, 8, 8)], [(1, 3, 8, 8)]]]


@pytest.mark.rknn
@pytest.mark.skipif(
    toolkit.toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"
)
def test_the_toolkit_refuses_every_input_and_builds_with_the_kept_ones(tmp_path):
    arrays = {"image": np.ones((1, 3, 8, 8), np.float32), "length": np.array([5]), "axes": np.array([0])}
    for name, array in arrays.items():
        np.save(tmp_path / f"{name}.npy", array)
    every = tmp_path / "every.txt"
    every.write_text(" ".join(str(tmp_path / f"{name}.npy") for name in arrays) + "\n")
    refused = toolkit.build(UNREAD, "rv1106", dataset=str(every), timeout=600)
    assert refused.failed_stage == "build"
    assert any("not match input num: 1 in model" in line for line in refused.error_lines()), refused.log[-3000:]

    built = toolkit.build(UNREAD, "rv1106", verbose=True, timeout=600)
    assert built.failed_stage is None, built.log[-3000:]
    assert "InputOperator:image" in built.log and "InputOperator:length" not in built.log
