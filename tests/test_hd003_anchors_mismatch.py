import pytest
from conftest import FIXTURES, codes, lint_text, rule
from mini_yolo import COCO, mini_yolo

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.settings.deployment import parse_anchors

TWO_LEVELS = [[10, 13], [30, 61]]
MODEL = mini_yolo(2, TWO_LEVELS, strides=(8, 16))


def test_fail_deployment_anchors_differ(tmp_path):
    settings = LintSettings(anchors=(10.0, 13.0, 33.0, 61.0))
    [finding] = lint_text(tmp_path, MODEL, "HD003", settings=settings).findings
    assert finding.data == {"graph_anchors": [10.0, 13.0, 30.0, 61.0], "deployment_anchors": [10.0, 13.0, 33.0, 61.0]}
    assert "[10x13, 30x61] but the deployment uses [10x13, 33x61]" in finding.message


def test_pass_same_anchors_within_rounding(tmp_path):
    settings = LintSettings(anchors=(10.2, 13.0, 30.0, 60.8))
    assert codes(lint_text(tmp_path, MODEL, "HD003", settings=settings)) == []


def test_skipped_without_anchors_or_baked_anchors(tmp_path):
    report = lint_text(tmp_path, MODEL, "HD003")
    assert [(s.code, s.reason) for s in report.rules_skipped] == [("HD003", "no --anchors given")]
    report = lint_file(FIXTURES / "yolov8n_legacy_op12.onnx", [rule("HD003")], LintSettings(anchors=(1.0, 2.0)))
    assert [s.code for s in report.rules_skipped] == ["HD003"]


def test_fail_anchor_grid_exported_without_constant_folding():
    # TrainingMode.TRAINING turns constant folding off: the anchor grid is arithmetic on constants, evaluated.
    report = lint_file(FIXTURES / "yolov5n_training.onnx", [rule("HD003")], LintSettings(anchors=(1.0, 2.0)))
    assert [f.code for f in report.findings] == ["HD003"]


YOLOV5_YAML = """nc: 3
depth_multiple: 0.33
anchors:
  - [10,13, 16,30, 33,23]  # P3/8
  - [30,61, 62,45, 59,119]  # P4/16
  - [116,90, 156,198, 373,326]  # P5/32

backbone:
  [[-1, 1, Conv, [64, 6, 2, 2]]]
"""


@pytest.mark.parametrize("source", ["json", "yaml", "txt"])
def test_anchor_sources_agree(tmp_path, source):
    flat = tuple(float(v) for row in COCO for v in row)
    if source == "json":
        value = "[[10,13, 16,30, 33,23], [30,61, 62,45, 59,119], [116,90, 156,198, 373,326]]"
    elif source == "yaml":
        value = str(tmp_path / "yolov5s.yaml")
        (tmp_path / "yolov5s.yaml").write_text(YOLOV5_YAML)
    else:
        value = str(tmp_path / "anchors.txt")
        (tmp_path / "anchors.txt").write_text("\n".join(f"{v:.1f}" for v in flat) + "\n")
    assert parse_anchors(value) == flat


def test_fail_real_export_against_custom_anchors():
    custom = LintSettings(anchors=(5, 5, 7, 8, 11, 11, 17, 17, 28, 28, 41, 37, 56, 56, 79, 82, 143, 140))
    report = lint_file(FIXTURES / "yolov5n_legacy_op12.onnx", [rule("HD003")], custom)
    assert codes(report) == ["HD003"]


@pytest.mark.parametrize("value, fragment", [("[[1, 2, 3]]", "pairs"), ("/nope.txt", "cannot read")])
def test_bad_anchor_values(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_anchors(value)


def test_autoanchor_count_in_yaml_is_refused(tmp_path):
    (tmp_path / "m.yaml").write_text("nc: 3\nanchors: 3\n")
    with pytest.raises(ValueError, match="autoanchor"):
        parse_anchors(str(tmp_path / "m.yaml"))
