"""onnxlint.rknn.log on a real verbose build log (tests/data/rknn/: rknn-toolkit2 2.5.0, yolov5n for rk3568)."""

from __future__ import annotations

from conftest import ROOT

from onnxlint.rknn.log import Layer, layer_table, log_lines, strip_ansi
from onnxlint.rknn.toolkit import BuildResult

LOG = (ROOT / "tests" / "data" / "rknn" / "rk3568_yolov5n_build.log").read_bytes().decode("utf-8")  # keeps the \r


def test_colour_codes_and_progress_bars_are_removed():
    assert strip_ansi("\x1b[1;33mW\x1b[0m \x1b[1;33mload_onnx: text\x1b[0m") == "W load_onnx: text"
    lines = log_lines(LOG)
    assert "W load_onnx: The config.mean_values is None, zeros will be set for input 0!" in lines
    assert not any("\x1b" in line or "\r" in line for line in lines)


def test_layer_table_rows_in_order_with_their_target():
    layers = layer_table(LOG)
    assert [layer.index for layer in layers] == [0, 1, 2, 3, *range(67, 76), *range(119, 124)]
    assert layers[0] == Layer(0, "InputOperator", "FLOAT16", "CPU", "InputOperator:images")
    assert layers[0].is_io and not layers[1].is_io
    assert layers[1].full_name == "Conv:/backbone_p3/backbone_p3.0/conv/Conv"
    on_cpu = [(layer.index, layer.op_type) for layer in layers if layer.target == "CPU" and not layer.is_io]
    assert on_cpu == [(72, "Reshape"), (73, "Transpose"), (122, "Reshape")]


def test_rows_of_the_tensor_tables_after_it_are_not_layers():
    # "1   ConvExSwish    images   FLOAT16 ..." in the Feature Tensor table looks like a layer row.
    tensor_rows = LOG[LOG.index("Feature Tensor Information Table") :]
    assert "ConvExSwish    images" in tensor_rows
    assert layer_table(tensor_rows) == []


def test_build_result_counts_cpu_layers_from_the_table():
    assert BuildResult(None, LOG).cpu_layers == {"Reshape": 2, "Transpose": 1}
