import pytest
from conftest import FIXTURES, codes, lint_text, rule
from mini_yolo import mini_yolo

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.settings.deployment import parse_classes

MODEL = mini_yolo(2, [[10, 13], [30, 61]], strides=(8, 16))


def test_fail_class_count_differs(tmp_path):
    [finding] = lint_text(tmp_path, MODEL, "HD005", settings=LintSettings(classes=3)).findings
    assert finding.data == {"head_classes": 2, "deployment_classes": 3}
    assert "7 channels = 1 x (5 + 2)" in finding.message


def test_pass_same_count(tmp_path):
    assert codes(lint_text(tmp_path, MODEL, "HD005", settings=LintSettings(classes=2))) == []


def test_skipped_without_classes_or_head(tmp_path):
    assert [s.reason for s in lint_text(tmp_path, MODEL, "HD005").rules_skipped] == ["no --classes given"]
    report = lint_file(FIXTURES / "resnet_legacy_op13_dynbatch.onnx", [rule("HD005")], LintSettings(classes=10))
    assert [s.reason for s in report.rules_skipped] == ["no YOLO head recognised"]


def test_labels_file(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("person\nbicycle\n\ncar\n")
    assert parse_classes(str(labels)) == 3 and parse_classes("80") == 80
    with pytest.raises(ValueError, match="positive"):
        parse_classes("0")
