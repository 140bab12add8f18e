import pytest
from conftest import codes, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.finding import Severity


def _lint(tmp_path, source):
    script = tmp_path / "export.py"
    script.write_text(source)
    return lint_file(script, [rule("EX001")])


@pytest.mark.parametrize(
    "spelling",
    [
        "import torch\ntorch.onnx.export(m, x, 'm.onnx', training=torch.onnx.TrainingMode.TRAINING)",
        "from torch.onnx import TrainingMode, export\nexport(m, x, 'm.onnx', training=TrainingMode.TRAINING)",
        "import torch.onnx as tonnx\ntonnx.export(m, x, 'm.onnx', training=tonnx.TrainingMode.TRAINING)",
        "import torch\ntorch.onnx.export(m, x, 'm.onnx', True, False, True)",
    ],
)
def test_fail_training_export(tmp_path, spelling):
    [finding] = _lint(tmp_path, spelling).findings
    assert (finding.code, finding.location.line, finding.severity) == ("EX001", 2, Severity.ERROR)


def test_warn_preserve(tmp_path):
    report = _lint(
        tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', training=torch.onnx.TrainingMode.PRESERVE)"
    )
    [finding] = report.findings
    assert finding.severity is Severity.WARNING and finding.data == {"training": "PRESERVE"}


def test_pass_eval_export(tmp_path):
    assert (
        codes(_lint(tmp_path, "import torch\ntorch.onnx.export(m, x, 'm.onnx', training=torch.onnx.TrainingMode.EVAL)"))
        == []
    )


def test_pass_other_export_functions(tmp_path):
    assert codes(_lint(tmp_path, "import mylib\nmylib.onnx.export(m, training=mylib.TrainingMode.TRAINING)")) == []


def test_pass_dynamo_exporter_ignores_the_argument(tmp_path):
    source = (
        "import torch\ntorch.onnx.export(m, (x,), 'm.onnx', dynamo=True, training=torch.onnx.TrainingMode.TRAINING)\n"
    )
    assert codes(_lint(tmp_path, source)) == []
