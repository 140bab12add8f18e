"""With the real rknn-toolkit2: the facts in rules/targets/ still hold, in the toolkit's own words."""

from __future__ import annotations

import onnx
import pytest

from conftest import FIXTURES, parse
from onnxlint.targets import installed_version, known_versions, load_facts
from rknn_toolkit import load_and_build, toolkit_python

pytestmark = [pytest.mark.rknn,
              pytest.mark.skipif(toolkit_python() is None,
                                 reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)")]


@pytest.fixture(scope="module")
def facts():
    version = installed_version()
    if version not in known_versions():
        pytest.skip(f"onnxlint has no knowledge for the installed rknn-toolkit2 {version}")
    return load_facts(version)


def _relu(tmp_path, opset: int):
    path = tmp_path / f"relu_{opset}.onnx"
    onnx.save(parse(f"""<ir_version: 8, opset_import: ["" : {opset}]>
        g (float[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) {{ y = Relu(x) }}"""), str(path))
    return path


def test_max_opset_and_refusal(tmp_path, facts):
    assert load_and_build(_relu(tmp_path, facts.max_opset), "rk3588")[0] is None
    failed, log = load_and_build(_relu(tmp_path, facts.max_opset + 1), "rk3588")
    assert failed == "load_onnx"
    assert facts.opset_refusal.format(opset=facts.max_opset + 1, max_opset=facts.max_opset) in log


def test_dynamic_input_refusal(facts):
    failed, log = load_and_build(FIXTURES / "yolov5n_dynamic_batch.onnx", "rk3588")
    assert failed == "load_onnx"
    assert facts.dynamic_input_refusal.format(shape=["batch", 3, 160, 160], name="images") in log


def _cpu_layers(log: str) -> dict[str, int]:
    """Op types of the layers the verbose build table places on the CPU (I/O operators left out)."""
    import collections
    import re

    row = re.compile(r"^D RKNN: \[[^\]]*\] +\d+ +(\S+) +\S+ +(NPU|CPU) ")
    counts = collections.Counter()
    for line in log.splitlines():
        match = row.match(re.sub(r"\x1b\[[0-9;]*m", "", line))
        if match and match.group(2) == "CPU" and match.group(1) not in ("InputOperator", "OutputOperator"):
            counts[match.group(1)] += 1
    return dict(counts)


@pytest.mark.parametrize("chip", ["rk3568", "rk3588"])
def test_cpu_fallback_prediction_matches_a_real_build(facts, chip):
    from onnxlint.checks import ALL_RULES
    from onnxlint.engine import lint_file
    from onnxlint.registry import LintSettings, find_rule

    model = FIXTURES / "yolov5n_legacy_op12.onnx"
    failed, log = load_and_build(model, chip, verbose=True)
    assert failed is None
    report = lint_file(model, [find_rule(ALL_RULES, "TG003")], LintSettings(target=chip, toolkit=facts))
    predicted = {f.data["op_type"]: len(f.data["nodes"]) for f in report.findings}
    actual = _cpu_layers(log)
    # The toolkit adds its own output Reshape on some chips; every predicted CPU layer must be in the build.
    assert all(actual.get(op, 0) >= count for op, count in predicted.items()), (predicted, actual)
    assert sum(actual.values()) - sum(predicted.values()) <= 1, (predicted, actual)


@pytest.mark.parametrize("chip", ["rk3588", "rk3576"])
def test_uint8_input_aborts_the_build(tmp_path, facts, chip):
    path = tmp_path / "uint8.onnx"
    onnx.save(parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (uint8[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) { y = Cast <to = 1> (x) }"""), str(path))
    failed, log = load_and_build(path, chip)
    assert failed is not None and failed != "load_onnx"  # loads, then the build kills the process
    expected = facts.input_dtype_aborts["uint8"][chip].format(name="x")
    assert expected.split("] ")[-1].replace("E RKNN: ", "") in log.replace("\x1b[0m", "")
