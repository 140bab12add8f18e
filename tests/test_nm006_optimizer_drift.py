"""NM006: onnxruntime with graph optimisations off against all on."""

from conftest import FIXTURES, codes, lint_text, rule
from test_nm005_simplifier_drift import CONV_BN, EXACT, HEALTHY

from onnxlint.confirm.runner import ConfirmOptions
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings


def test_fail_at_zero_tolerance(tmp_path):
    # onnxruntime's optimiser fuses the BatchNormalization into the Conv, which rounds differently.
    [finding] = lint_text(tmp_path, CONV_BN, "NM006", settings=EXACT).findings
    assert finding.location.tensor == "y" and 0 < finding.data["max_abs"] < 1e-5


def test_pass_at_the_default_tolerance(tmp_path):
    assert codes(lint_text(tmp_path, CONV_BN, "NM006", settings=LintSettings(run=ConfirmOptions()))) == []


def test_healthy_fixtures_do_not_drift():
    for name in HEALTHY:
        assert codes(lint_file(FIXTURES / name, [rule("NM006")], LintSettings(run=ConfirmOptions()))) == [], name


def test_a_model_onnxruntime_refuses_gives_one_info_finding(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 11]>
    g (float[2] x) => (float[2] y) { y = Gelu(x) }"""
    [finding] = lint_text(tmp_path, text, "NM006", settings=LintSettings(run=ConfirmOptions())).findings
    assert finding.severity.value == "info" and "could not compare" in finding.message
