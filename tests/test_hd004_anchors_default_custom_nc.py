from conftest import FIXTURES, codes, lint_text, rule
from mini_yolo import COCO, mini_yolo

from onnxlint.core.engine import lint_file


def test_fail_custom_classes_with_coco_anchors(tmp_path):
    [finding] = lint_text(tmp_path, mini_yolo(3, COCO), "HD004").findings
    assert (finding.code, finding.data["nc"]) == ("HD004", 3)


def test_pass_custom_classes_with_evolved_anchors(tmp_path):
    evolved = [[5, 5, 7, 8, 11, 11], [17, 17, 28, 28, 41, 37], [56, 56, 79, 82, 143, 140]]
    assert codes(lint_text(tmp_path, mini_yolo(3, evolved), "HD004")) == []


def test_pass_coco_model():
    assert codes(lint_file(FIXTURES / "yolov5n_legacy_op12.onnx", [rule("HD004")])) == []
