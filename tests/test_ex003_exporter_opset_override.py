from conftest import codes, rule

from onnxlint.core.engine import lint_file


def _lint(tmp_path, source):
    script = tmp_path / "export.py"
    script.write_text(source)
    return lint_file(script, [rule("EX003")])


def test_fail_low_opset_without_dynamo_false(tmp_path):
    [finding] = _lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=12)\n").findings
    assert (finding.code, finding.data) == ("EX003", {"opset_version": 12, "dynamo": None})


def test_fail_low_opset_with_dynamo_true(tmp_path):
    assert codes(
        _lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=11, dynamo=True)\n")
    ) == ["EX003"]


def test_pass_dynamo_false(tmp_path):
    assert (
        codes(_lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=12, dynamo=False)\n"))
        == []
    )


def test_pass_opset_18(tmp_path):
    assert codes(_lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=18)\n")) == []


def test_pass_star_kwargs_may_choose_the_exporter(tmp_path):
    assert codes(_lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=12, **kw)\n")) == []
