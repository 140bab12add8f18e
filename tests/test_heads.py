"""YOLO head recognition on real exports, proved numerically: the suggested cut reproduces the original
tensors, and decoding the cut with the anchors and strides read back reproduces the model's own output."""

from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import FIXTURES
from mini_yolo import COCO, mini_yolo

from onnxlint.analysis.heads import COCO_ANCHORS_PX, detect_heads, model_heads
from onnxlint.analysis.layout import image_height
from onnxlint.core.graph import build_graphs
from onnxlint.core.model import load_model

YOLO_FIXTURES = [
    "yolov5n_legacy_op12.onnx",
    "yolov5n_dynamo_op18.onnx",
    "yolov5n_dynamic_batch.onnx",
    "yolov5n_norm_in_graph.onnx",
    "yolov5n_unnamed.onnx",
    "yolov5n_training.onnx",
]


def _heads(name):
    model = load_model(FIXTURES / name)
    return detect_heads(build_graphs(model)[0], image_height(model.declared_inputs[0].shape))


@pytest.mark.parametrize("name", YOLO_FIXTURES)
def test_yolov5_head_read_back(name):
    [head] = _heads(name)
    assert (head.family, head.nc, head.na) == ("yolov5", 80, 3)
    assert [level.stride for level in head.levels] == [8, 16, 32]
    assert [level.shape[1:] for level in head.levels] == [(255, 20, 20), (255, 10, 10), (255, 5, 5)]
    assert head.decode_in_graph and all(level.sigmoid_in_graph for level in head.levels)
    if name != "yolov5n_training.onnx":  # exported without constant folding: the anchor grid is computed
        assert head.anchors_px == [list(map(float, row)) for row in COCO_ANCHORS_PX]


def test_dynamic_height_and_width_keep_levels_in_graph_order():
    [head] = _heads("yolov5n_dynamic_hw.onnx")
    assert [level.stride for level in head.levels] == [None, None, None]
    assert head.rknn_outputs == ["/detect/m.0/Conv_output_0", "/detect/m.1/Conv_output_0", "/detect/m.2/Conv_output_0"]


@pytest.mark.parametrize("name", ["yolov8n_legacy_op12.onnx", "yolov8n_dynamo_op18.onnx"])
def test_anchor_free_head_read_back(name):
    [head] = _heads(name)
    assert (head.family, head.nc, head.na, head.reg_max) == ("yolov8", 80, None, 16)
    assert [level.stride for level in head.levels] == [8, 16, 32]
    assert [[conv.op_type for conv in level.convs] for level in head.levels] == [["Conv", "Conv"]] * 3
    assert head.decode_in_graph and head.anchors_px is None


@pytest.mark.parametrize("name", ["resnet_legacy_op13_dynbatch.onnx", "resnet_nhwc_input.onnx", "lstm_if_legacy.onnx"])
def test_no_head_in_classifiers(name):
    assert _heads(name) == []


def _run_cut_and_model(tmp_path, name: str, outputs: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Outputs of the model cut at `outputs`, and the full model's output, on the same seeded image."""
    cut = tmp_path / "cut.onnx"
    onnx.utils.extract_model(str(FIXTURES / name), str(cut), ["images"], outputs)
    images = {"images": np.random.default_rng(0).random((1, 3, 160, 160), dtype=np.float32)}
    raw = ort.InferenceSession(str(cut), providers=["CPUExecutionProvider"]).run(None, images)
    (expected,) = ort.InferenceSession(str(FIXTURES / name), providers=["CPUExecutionProvider"]).run(None, images)
    return raw, expected


def _decode(raw: np.ndarray, stride: int, anchors: tuple, na: int) -> np.ndarray:
    """yolov5's export-time decode, written from its definition, for one level."""
    batch, _, ny, nx = raw.shape
    p = 1 / (1 + np.exp(-raw.reshape(batch, na, -1, ny, nx).transpose(0, 1, 3, 4, 2)))
    yv, xv = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    grid = np.stack((xv, yv), -1)[None, None] - 0.5
    xy = (p[..., :2] * 2 + grid) * stride
    wh = (p[..., 2:4] * 2) ** 2 * np.asarray(anchors, dtype=np.float32).reshape(1, na, 1, 1, 2)
    return np.concatenate((xy, wh, p[..., 4:]), -1).reshape(batch, -1, p.shape[-1])


@pytest.mark.parametrize("name", ["yolov5n_legacy_op12.onnx", "yolov5n_dynamo_op18.onnx"])
def test_cut_at_suggested_outputs_reproduces_the_model(tmp_path, name):
    [head] = _heads(name)
    raw, expected = _run_cut_and_model(tmp_path, name, head.rknn_outputs)
    decoded = np.concatenate(
        [_decode(r, level.stride, level.anchors_px, head.na) for r, level in zip(raw, head.levels)], 1
    )
    np.testing.assert_allclose(decoded, expected, rtol=1e-4, atol=1e-3)
    # The read-back anchors matter: the same cut decoded with anchors swapped between levels does not match.
    swapped = np.concatenate(
        [
            _decode(r, level.stride, head.levels[-1 - i].anchors_px, head.na)
            for i, (r, level) in enumerate(zip(raw, head.levels))
        ],
        1,
    )
    assert not np.allclose(swapped, expected, rtol=1e-2, atol=1.0)


def _decode_anchor_free(raw: list[np.ndarray], strides: list[int], reg_max: int) -> np.ndarray:
    """YOLOv8's export-time decode, written from its definition: DFL expectation, distances to boxes."""
    boxes = np.concatenate([b.reshape(1, 4 * reg_max, -1) for b in raw[0::2]], 2)
    scores = np.concatenate([c.reshape(1, c.shape[1], -1) for c in raw[1::2]], 2)
    centres, scales = [], []
    for box, stride in zip(raw[0::2], strides):
        height, width = box.shape[2:]
        yv, xv = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
        centres.append(np.stack((xv, yv), -1).reshape(-1, 2))
        scales.append(np.full((height * width, 1), stride))
    centre, scale = np.concatenate(centres).T, np.concatenate(scales).T
    logits = boxes.reshape(1, 4, reg_max, -1)
    bins = np.exp(logits - logits.max(2, keepdims=True))
    bins /= bins.sum(2, keepdims=True)
    distance = (bins * np.arange(reg_max).reshape(1, 1, -1, 1)).sum(2)
    top_left, bottom_right = centre - distance[:, :2], centre + distance[:, 2:]
    xywh = np.concatenate(((top_left + bottom_right) / 2, bottom_right - top_left), 1) * scale
    return np.concatenate((xywh, 1 / (1 + np.exp(-scores))), 1)


@pytest.mark.parametrize("name", ["yolov8n_legacy_op12.onnx", "yolov8n_dynamo_op18.onnx"])
def test_anchor_free_cut_at_suggested_outputs_reproduces_the_model(tmp_path, name):
    [head] = _heads(name)
    raw, expected = _run_cut_and_model(tmp_path, name, head.rknn_outputs)
    decoded = _decode_anchor_free(raw, [level.stride for level in head.levels], head.reg_max)
    np.testing.assert_allclose(decoded, expected, rtol=1e-4, atol=1e-3)


def _without_constant_folding(text: str) -> str:
    """mini_yolo as torch exports it with do_constant_folding=False: the Reshape targets and the anchor grids are
    arithmetic on constants (behind Identity), not constants."""
    lines = []
    for line in text.splitlines():
        reshape = re.match(r"\s*r(\d+) = Reshape\(c\1, shape\1\)", line)
        anchors = re.match(r"\s*a(\d+) = Mul\(p\1, anchors\1\)", line)
        if reshape:
            s = reshape.group(1)
            lines += [f"  i{s} = Identity(shape{s})", f"  sh{s} = Max(i{s}, i{s})", f"  r{s} = Reshape(c{s}, sh{s})"]
        elif anchors:
            s = anchors.group(1)
            lines += [
                f"  g{s} = Identity(anchors{s})",
                f"  ag{s} = Mul(g{s}, two)",
                f"  hg{s} = Div(ag{s}, two)",
                f"  a{s} = Mul(p{s}, hg{s})",
            ]
        else:
            lines.append(line)
    return "\n".join(lines)


def _model_heads(tmp_path, text: str):
    model = load_model(_save(tmp_path, text))
    return model_heads(model, build_graphs(model)[0])


def test_head_read_back_without_constant_folding(tmp_path):
    [head] = _model_heads(tmp_path, _without_constant_folding(mini_yolo(2, COCO[:2], strides=(8, 16))))
    assert (head.family, head.nc, head.na, head.strides_text, head.cut) == ("yolov5", 2, 3, "8/16", False)
    assert head.decode_in_graph and head.anchors_px == [list(map(float, row)) for row in COCO[:2]]


def test_head_survives_a_model_the_checker_rejects(tmp_path):
    # Opset 11 takes Split's sizes and Unsqueeze's axes as attributes: this graph is invalid there, the checker
    # and the reference evaluator refuse it. The head is still found; the anchors, behind the invalid Unsqueeze,
    # are not read.
    text = _without_constant_folding(mini_yolo(2, COCO[:2], strides=(8, 16))).replace('"" : 13', '"" : 11')
    text = text.replace("g8 = Identity(anchors8)", "g8 = Unsqueeze(anchors8, axes)").replace(
        "<int64[3] split", "<int64[1] axes = {0}, int64[3] split"
    )
    model = load_model(_save(tmp_path, text))
    assert model.checker_error
    [head] = model_heads(model, build_graphs(model)[0])
    assert (head.nc, head.strides_text, head.anchors_px) == (2, "8/16", None)


def _save(tmp_path, text: str):
    path = tmp_path / "model.onnx"
    onnx.save(onnx.parser.parse_model(text), str(path))
    return path


def test_strides_of_a_dynamic_input_read_at_a_concrete_size():
    model = load_model(FIXTURES / "yolov5n_dynamic_hw.onnx")
    [head] = model_heads(model, build_graphs(model)[0])
    assert [level.stride for level in head.levels] == [8, 16, 32]
    assert head.rknn_outputs == ["/detect/m.0/Conv_output_0", "/detect/m.1/Conv_output_0", "/detect/m.2/Conv_output_0"]


def test_anchor_based_head_already_cut(tmp_path):
    [head] = _model_heads(tmp_path, mini_yolo(2, COCO, outputs="cut"))
    assert (head.family, head.nc, head.na, head.strides_text, head.cut) == ("yolov5", 2, 3, "8/16/32", True)
    assert not head.decode_in_graph and head.rknn_outputs == ["c8", "c16", "c32"]


def _anchor_free_cut(nc: int, reg_max: int = 16, order: str = "box-first") -> str:
    outputs, body, inits = [], [], []
    for stride in (8, 16, 32):
        grid = 64 // stride
        for branch, channels in (("box", 4 * reg_max), ("cls", nc)):
            inits.append(f"int64[4] w{branch}{stride}s = {{{channels}, 3, {stride}, {stride}}}")
            body += [
                f"w{branch}{stride} = ConstantOfShape <value = float[1] {{0.01}}> (w{branch}{stride}s)",
                f"{branch}{stride} = Conv <strides = [{stride}, {stride}]> (images, w{branch}{stride})",
            ]
            outputs.append((branch, f"float[1, {channels}, {grid}, {grid}] {branch}{stride}"))
    if order == "branches":  # all boxes, then all classes, as ultralytics' cut lists them
        outputs = sorted(outputs, key=lambda pair: pair[0] != "box")
    signature = ", ".join(declared for _, declared in outputs)
    return "\n".join(
        [
            '<ir_version: 8, opset_import: ["" : 13]>',
            f"detector (float[1, 3, 64, 64] images) => ({signature})",
            "<" + ", ".join(inits) + ">",
            "{",
            *body,
            "}",
        ]
    )


@pytest.mark.parametrize("order", ["box-first", "branches"])
def test_anchor_free_head_already_cut(tmp_path, order):
    [head] = _model_heads(tmp_path, _anchor_free_cut(80, order=order))
    assert (head.family, head.nc, head.reg_max, head.strides_text, head.cut) == ("yolov8", 80, 16, "8/16/32", True)
    assert head.rknn_outputs == ["box8", "cls8", "box16", "cls16", "box32", "cls32"]


def test_no_cut_head_in_outputs_of_other_sizes(tmp_path):
    # Two Conv outputs whose sizes do not halve level by level: a segmentation-like model, not a cut head.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 64, 64] images, float[255, 3, 8, 8] w, float[255, 3, 3, 3] v) =>
      (float[1, 255, 8, 8] a, float[1, 255, 62, 62] b) {
        a = Conv <strides = [8, 8]> (images, w)
        b = Conv(images, v)
    }"""
    assert _model_heads(tmp_path, text) == []
