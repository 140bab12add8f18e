from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings, normalize_dynamic_axes

MODEL = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 3, 8, 8] images) => (float[1, 3, 8, 8] output0) { output0 = Relu(images) }"""

SEED_000_SCRIPT = """
import torch
input_names = ['images']
output_names = ['output0']
torch.onnx.export(model, img, 'yolov5s.onnx', verbose=False, opset_version=12,
                  input_names=input_names, output_names=output_names,
                  dynamic_axes={"image": {0: "batch"}, "output": {0: "batch"}})
"""


def _settings(spec):
    return LintSettings(dynamic_axes=normalize_dynamic_axes(spec))


def test_fail_script_with_the_seed_000_typo(tmp_path):
    script = tmp_path / "export.py"
    script.write_text(SEED_000_SCRIPT)
    report = lint_file(script, [rule("IO005")])
    assert [(f.code, f.location.tensor, f.location.line, f.data["suggestion"]) for f in report.findings] == [
        ("IO005", "image", 5, "images"),
        ("IO005", "output", 5, "output0"),
    ]


def test_pass_script_with_matching_keys(tmp_path):
    script = tmp_path / "export.py"
    script.write_text(SEED_000_SCRIPT.replace('"image"', '"images"').replace('"output"', '"output0"'))
    assert codes(lint_file(script, [rule("IO005")])) == []


def test_script_without_literal_names_is_not_guessed_and_says_so(tmp_path):
    script = tmp_path / "export.py"
    script.write_text(
        "import torch\ntorch.onnx.export(m, x, 'f.onnx', input_names=names(), "
        "output_names=['y'], dynamic_axes={'x': {0: 'b'}})\n"
    )
    report = lint_file(script, [rule("IO005")])
    assert report.findings == ()
    [skipped] = report.rules_skipped
    assert skipped.code == "IO005" and "as literals" in skipped.reason


def test_script_without_export_call_is_reported_skipped(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("print('no export here')\n")
    report = lint_file(script, [rule("IO005")])
    assert [(s.code, s.reason) for s in report.rules_skipped] == [
        ("IO005", "no torch.onnx.export call found in the script")
    ]


def test_fail_onnx_with_spec(tmp_path):
    report = lint_text(tmp_path, MODEL, "IO005", settings=_settings({"image": {0: "batch"}}))
    [finding] = report.findings
    assert finding.data == {"key": "image", "suggestion": "images", "names": ["images", "output0"]}


def test_pass_onnx_with_matching_spec(tmp_path):
    assert codes(lint_text(tmp_path, MODEL, "IO005", settings=_settings({"images": [0]}))) == []


def test_onnx_without_spec_is_reported_skipped(tmp_path):
    report = lint_text(tmp_path, MODEL, "IO005")
    assert [s.code for s in report.rules_skipped] == ["IO005"]
