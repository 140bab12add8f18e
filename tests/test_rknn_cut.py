"""With the real rknn-toolkit2: the suggested cut builds for rk3588 and the simulator matches onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import FIXTURES

from onnxlint.analysis.heads import model_heads
from onnxlint.core.graph import build_graphs
from onnxlint.core.model import load_model
from onnxlint.rknn.toolkit import simulate, toolkit_python

pytestmark = [
    pytest.mark.rknn,
    pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"),
]

# fp16 on the NPU simulator against fp32 onnxruntime.
MIN_COSINE = 0.999


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize(
    "name",
    ["yolov5n_legacy_op12.onnx", "yolov5n_dynamo_op18.onnx", "yolov8n_legacy_op12.onnx", "yolov8n_dynamo_op18.onnx"],
)
def test_suggested_cut_builds_and_matches_onnxruntime(tmp_path, name):
    model = load_model(FIXTURES / name)
    [head] = model_heads(model, build_graphs(model)[0])
    cut = tmp_path / "cut.onnx"
    onnx.utils.extract_model(str(FIXTURES / name), str(cut), ["images"], head.rknn_outputs)
    images = np.random.default_rng(0).random((1, 3, 160, 160), dtype=np.float32)
    expected = ort.InferenceSession(str(cut), providers=["CPUExecutionProvider"]).run(None, {"images": images})
    simulated = simulate(FIXTURES / name, "rk3588", head.rknn_outputs, {"images": images})
    assert [s.shape for s in simulated] == [e.shape for e in expected]
    for tensor, s, e in zip(head.rknn_outputs, simulated, expected):
        assert _cosine(s, e) >= MIN_COSINE, tensor
