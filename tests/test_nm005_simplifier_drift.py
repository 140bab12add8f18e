"""NM005: the model against onnxsim's simplification of it."""

from conftest import FIXTURES, codes, lint_text, rule

from onnxlint.confirm.metrics import Tolerance
from onnxlint.confirm.runner import ConfirmOptions
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings

WEIGHTS = ", ".join(str(round((i % 7) / 7.0 - 0.4, 4)) for i in range(108))
# Folding a BatchNormalization into the Conv rounds differently: visible only at zero tolerance.
CONV_BN = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 3, 8, 8] x) => (float[1, 4, 8, 8] y) <float[4, 3, 3, 3] w = {WEIGHTS}, float[4] s = {1.5, 0.5, 2.0, 0.7},
    float[4] b = {0.1, -0.2, 0.3, 0.0}, float[4] mean = {0.2, -0.1, 0.05, 0.3}, float[4] var = {0.9, 1.7, 0.3, 2.2}> {
    c = Conv <pads = [1, 1, 1, 1]> (x, w)
    y = BatchNormalization (c, s, b, mean, var)
}""".replace("WEIGHTS", WEIGHTS)
EXACT = LintSettings(run=ConfirmOptions(tolerance=Tolerance(rtol=0.0, atol=0.0)))
HEALTHY = [
    "yolov5n_legacy_op12.onnx",
    "yolov8n_legacy_op12.onnx",
    "resnet_legacy_op13_dynbatch.onnx",
    "lstm_if_legacy.onnx",
    "yolov5n_dynamic_hw.onnx",
]


def test_fail_at_zero_tolerance(tmp_path):
    [finding] = lint_text(tmp_path, CONV_BN, "NM005", settings=EXACT).findings
    assert finding.location.tensor == "y" and finding.evidence.verdict == "confirmed"
    assert 0 < finding.data["max_abs"] < 1e-5 and finding.data["mismatch_ratio"] > 0.5


def test_pass_at_the_default_tolerance(tmp_path):
    assert codes(lint_text(tmp_path, CONV_BN, "NM005", settings=LintSettings(run=ConfirmOptions()))) == []


def test_healthy_fixtures_do_not_drift():
    for name in HEALTHY:
        assert codes(lint_file(FIXTURES / name, [rule("NM005")], LintSettings(run=ConfirmOptions()))) == [], name


def test_a_model_that_differs_from_itself_is_left_to_its_own_rules():
    # Training-mode Dropout draws new masks every run: NM002 reports that; a drift would only measure it.
    report = lint_file(FIXTURES / "resnet_dropout_training.onnx", [rule("NM005")], LintSettings(run=ConfirmOptions()))
    assert codes(report) == []


def test_skipped_without_confirm(tmp_path):
    report = lint_text(tmp_path, CONV_BN, "NM005")
    assert [(s.code, s.reason) for s in report.rules_skipped] == [("NM005", "runs the model: needs --confirm")]
