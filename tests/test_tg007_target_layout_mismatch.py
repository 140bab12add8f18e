import pytest
from conftest import codes, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target

RK3588 = resolve_target("rk3588", "2.5.0")
SCALED = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 3, 8, 8] images) => (float[1, 3, 8, 8] y) <float s = {255.0}> {
    x = Div(images, s)
    y = Relu(x)
}"""
PLAIN = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 3, 8, 8] images) => (float[1, 3, 8, 8] y) { y = Relu(images) }"""
NHWC = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 64, 64, 3] images) => (float[1, 3, 64, 64] y) { y = Transpose <perm = [0, 3, 1, 2]> (images) }"""


def _settings(**kwargs):
    return LintSettings(**kwargs)


def test_fail_double_normalization(tmp_path):
    report = lint_text(tmp_path, SCALED, "TG007", settings=_settings(mean=(0, 0, 0), std=(255, 255, 255)))
    [finding] = report.findings
    assert finding.data["graph_std"] == [255, 255, 255] and finding.data["deployment_std"] == [255, 255, 255]
    assert finding.location.node == "Div_0"


def test_pass_graph_normalises_and_deployment_leaves_data_alone(tmp_path):
    assert codes(lint_text(tmp_path, SCALED, "TG007", settings=_settings(mean=(0, 0, 0), std=(1, 1, 1)))) == []


def test_pass_deployment_normalises_a_plain_graph(tmp_path):
    settings = _settings(mean=(0, 0, 0), std=(255, 255, 255), target=RK3588)
    assert codes(lint_text(tmp_path, PLAIN, "TG007", settings=settings)) == []


def test_fail_nhwc_input_with_rknn_values_per_channel(tmp_path):
    # Measured: rknn-toolkit2 counts channels on dim 1 and refuses 3 values for [1, 64, 64, 3].
    settings = _settings(mean=(0, 0, 0), target=RK3588)
    [finding] = lint_text(tmp_path, NHWC, "TG007", settings=settings).findings
    assert "'E load_onnx: The len of mean_values ([0, 0, 0]) for input 0 is wrong, expect 64!'" in finding.message
    assert finding.data["channels"] == 64


def test_fail_single_value_on_rknn_but_not_elsewhere(tmp_path):
    rknn = _settings(mean=(0,), target=RK3588)
    assert codes(lint_text(tmp_path, PLAIN, "TG007", settings=rknn)) == ["TG007"]
    assert codes(lint_text(tmp_path, PLAIN, "TG007", settings=_settings(mean=(0,)))) == []


def test_fail_wrong_count_without_target(tmp_path):
    [finding] = lint_text(tmp_path, PLAIN, "TG007", settings=_settings(std=(1, 1))).findings
    assert finding.data == {"input": "images", "option": "std_values", "values": [1, 1], "channels": 3}


def test_warn_per_channel_values_on_many_channels(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 6, 8, 8] x) => (float[1, 6, 8, 8] y) { y = Relu(x) }"""
    settings = _settings(mean=(1, 2, 3, 4, 5, 6), target=RK3588)
    [finding] = lint_text(tmp_path, text, "TG007", settings=settings).findings
    assert finding.severity.value == "warning"


@pytest.mark.parametrize(
    "layout, text, expected",
    [("nchw", NHWC, ["TG007"]), ("nhwc", NHWC, []), ("nchw", PLAIN, []), ("nhwc", PLAIN, ["TG007"])],
)
def test_layout_without_target(tmp_path, layout, text, expected):
    assert codes(lint_text(tmp_path, text, "TG007", settings=_settings(input_layout=layout))) == expected


def test_rknn_runtime_converts_nhwc_data_for_nchw_models(tmp_path):
    settings = _settings(input_layout="nhwc", target=RK3588)
    assert codes(lint_text(tmp_path, PLAIN, "TG007", settings=settings)) == []


def test_skipped_without_deployment_options(tmp_path):
    assert [s.code for s in lint_text(tmp_path, PLAIN, "TG007").rules_skipped] == ["TG007"]
