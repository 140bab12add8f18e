from conftest import codes, lint_text
from mini_yolo import mini_yolo

TWO_LEVELS = [[10, 13], [30, 61]]


def test_fail_training_branch_outputs(tmp_path):
    [finding] = lint_text(tmp_path, mini_yolo(2, TWO_LEVELS, strides=(8, 16), outputs="training"), "HD002").findings
    assert (finding.code, finding.location.tensor) == ("HD002", "t8")
    assert finding.data == {"outputs": ["t8", "t16"], "nc": 2, "na": 1}


def test_pass_inference_export(tmp_path):
    assert codes(lint_text(tmp_path, mini_yolo(2, TWO_LEVELS, strides=(8, 16)), "HD002")) == []
