from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings, normalize_dynamic_axes

MODEL = """<ir_version: 8, opset_import: ["" : 17]>
g (float[{batch}, 3, 8, 8] images) => (float[{batch}, 3, 8, 8] output0) {{ output0 = Relu(images) }}"""
SPEC = LintSettings(dynamic_axes=normalize_dynamic_axes({"images": {"0": "batch"}, "output0": {"0": "batch"}}))


def test_fail_requested_axis_exported_static(tmp_path):
    report = lint_text(tmp_path, MODEL.format(batch=1), "IO006", settings=SPEC)
    assert [(f.location.tensor, f.data["axis"], f.data["requested"]) for f in report.findings] == [
        ("images", 0, "batch"),
        ("output0", 0, "batch"),
    ]


def test_pass_requested_axis_is_dynamic(tmp_path):
    assert codes(lint_text(tmp_path, MODEL.format(batch="batch"), "IO006", settings=SPEC)) == []


def test_fail_axis_out_of_range(tmp_path):
    spec = LintSettings(dynamic_axes=normalize_dynamic_axes({"images": {"4": "x"}}))
    [finding] = lint_text(tmp_path, MODEL.format(batch="b"), "IO006", settings=spec).findings
    assert finding.data == {"axis": 4, "rank": 4}


def test_fail_on_real_export_with_the_seed_000_typo(fixture_path):
    # The typo'd keys were dropped by torch: the corrected spec shows every requested axis is static.
    spec = LintSettings(
        dynamic_axes=normalize_dynamic_axes({"images": {"0": "batch"}, "output0": {"0": "batch", "1": "anchors"}})
    )
    report = lint_file(fixture_path("yolov5n_dynaxes_typo.onnx"), [rule("IO006")], spec)
    assert [(f.location.tensor, f.data["axis"]) for f in report.findings] == [
        ("images", 0),
        ("output0", 0),
        ("output0", 1),
    ]


def test_pass_on_real_export_with_dynamic_batch(fixture_path):
    spec = LintSettings(dynamic_axes=normalize_dynamic_axes({"images": {"0": "batch"}, "output0": {"0": "batch"}}))
    assert codes(lint_file(fixture_path("yolov5n_dynamic_batch.onnx"), [rule("IO006")], spec)) == []
