from conftest import codes, rule

from onnxlint.core.engine import lint_file


def _lint(tmp_path, source):
    script = tmp_path / "export.py"
    script.write_text(source)
    return lint_file(script, [rule("EX002")])


def test_fail_folding_disabled(tmp_path):
    [finding] = _lint(
        tmp_path, "import torch\n\ndef go():\n    torch.onnx.export(m, x, 'm.onnx', do_constant_folding=False)\n"
    ).findings
    assert (finding.code, finding.location.line) == ("EX002", 4)


def test_fail_folding_disabled_through_a_variable(tmp_path):
    source = "import torch\nfold = False\ntorch.onnx.export(m, x, 'm.onnx', do_constant_folding=fold)\n"
    assert codes(_lint(tmp_path, source)) == ["EX002"]


def test_pass_default_folding(tmp_path):
    assert codes(_lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', do_constant_folding=True)\n")) == []


def test_pass_value_not_known_statically(tmp_path):
    source = "import torch\ntorch.onnx.export(m, x, 'm.onnx', do_constant_folding=args.fold)\n"
    assert codes(_lint(tmp_path, source)) == []


def test_pass_dynamo_exporter_ignores_the_argument(tmp_path):
    source = "import torch\ntorch.onnx.export(m, (x,), 'm.onnx', dynamo=True, do_constant_folding=False)\n"
    assert codes(_lint(tmp_path, source)) == []
