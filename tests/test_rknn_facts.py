"""With the real rknn-toolkit2: the facts in rules/targets/ still hold, in the toolkit's own words."""

from __future__ import annotations

import onnx
import pytest
from conftest import FIXTURES, ROOT, parse

from onnxlint.rknn.targets import installed_version, known_versions, load_facts, resolve_target
from onnxlint.rknn.toolkit import build, toolkit_missing, toolkit_python

pytestmark = [pytest.mark.rknn, pytest.mark.skipif(toolkit_python() is None, reason=toolkit_missing())]


@pytest.fixture(scope="module")
def facts():
    version = installed_version()
    if version not in known_versions():
        pytest.skip(f"onnxlint has no knowledge for the installed rknn-toolkit2 {version}")
    return load_facts(version)


def _relu(tmp_path, opset: int):
    path = tmp_path / f"relu_{opset}.onnx"
    onnx.save(
        parse(f"""<ir_version: 8, opset_import: ["" : {opset}]>
        g (float[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) {{ y = Relu(x) }}"""),
        str(path),
    )
    return path


def test_max_opset_and_refusal(tmp_path, facts):
    assert build(_relu(tmp_path, facts.max_opset), "rk3588").failed_stage is None
    result = build(_relu(tmp_path, facts.max_opset + 1), "rk3588")
    failed, log = result.failed_stage, result.log
    assert failed == "load_onnx"
    assert facts.opset_refusal.format(opset=facts.max_opset + 1, max_opset=facts.max_opset) in log


def test_dynamic_input_refusal(facts):
    result = build(FIXTURES / "yolov5n_dynamic_batch.onnx", "rk3588")
    failed, log = result.failed_stage, result.log
    assert failed == "load_onnx"
    assert facts.dynamic_input_refusal.format(shape=["batch", 3, 160, 160], name="images") in log


@pytest.mark.parametrize("chip", ["rk3568", "rk3588"])
def test_cpu_fallback_prediction_matches_a_real_build(facts, chip):
    from onnxlint.checks import ALL_RULES
    from onnxlint.core.engine import lint_file
    from onnxlint.core.registry import LintSettings, find_rule

    model = FIXTURES / "yolov5n_legacy_op12.onnx"
    result = build(model, chip, verbose=True)
    assert result.failed_stage is None
    report = lint_file(model, [find_rule(ALL_RULES, "TG003")], LintSettings(target=resolve_target(chip, facts.version)))
    predicted = {f.data["op_type"]: len(f.data["nodes"]) for f in report.findings}
    actual = result.cpu_layers
    # The toolkit adds its own output Reshape on some chips; every predicted CPU layer must be in the build.
    assert all(actual.get(op, 0) >= count for op, count in predicted.items()), (predicted, actual)
    assert sum(actual.values()) - sum(predicted.values()) <= 1, (predicted, actual)


@pytest.mark.parametrize("chip", ["rk3588", "rk3576"])
def test_uint8_input_aborts_the_build(tmp_path, facts, chip):
    path = tmp_path / "uint8.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (uint8[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) { y = Cast <to = 1> (x) }"""),
        str(path),
    )
    result = build(path, chip)
    failed, log = result.failed_stage, result.log
    assert failed is not None and failed != "load_onnx"  # loads, then the build kills the process
    expected = facts.input_dtype_aborts["uint8"][chip].format(name="x")
    assert expected.split("] ")[-1].replace("E RKNN: ", "") in log.replace("\x1b[0m", "")


@pytest.mark.parametrize("name", ["lstm_if_legacy.onnx", "lstm_if_dynamo.onnx"])
def test_unsupported_op_prediction_matches_a_real_build(facts, name):
    """TG005 says the If stops the build; the toolkit's build() does fail on it."""
    from onnxlint.checks import ALL_RULES
    from onnxlint.core.engine import lint_file
    from onnxlint.core.registry import LintSettings, find_rule

    report = lint_file(
        FIXTURES / name, [find_rule(ALL_RULES, "TG005")], LintSettings(target=resolve_target("rk3588", facts.version))
    )
    [finding] = report.findings
    result = build(FIXTURES / name, "rk3588")
    failed, log = result.failed_stage, result.log
    assert failed == "build"
    assert f"If('{finding.data['nodes'][0]}')" in log  # the toolkit names the node onnxlint named


def test_mean_values_count_refusal(facts):
    """TG007: the toolkit counts channels on dim 1, so an NHWC input meets three mean values with a refusal."""
    values = [0, 0, 0]
    result = build(FIXTURES / "resnet_nhwc_input.onnx", "rk3588", config={"mean_values": [values]})
    failed, log = result.failed_stage, result.log
    assert failed == "load_onnx"
    expected = facts.preprocessing_refusal.format(option="mean_values", values=values, index=0, channels=64)
    assert expected.removeprefix("E load_onnx: ") in log


# One case per condition kind and chip family: fp16 builds (rk3588, rk3568) and an int8-only chip (rv1106).
DRIFT_SAMPLE = {
    "rk3588": [
        "Slice.step2",
        "Pow.exp3_3",
        "ConvTranspose.k3s3",
        "LayerNormalization",
        "NonZero",
        "Greater",
        "Resize.linear_align_corners_x2",
        "Conv.k33",
    ],
    "rk3568": ["Reshape", "GRU.batch2"],
    "rv1106": ["Pow.exp0_5"],
}


@pytest.mark.parametrize("chip", sorted(DRIFT_SAMPLE))
def test_tables_match_a_fresh_probe(tmp_path, facts, chip):
    """Re-measure a sample of the committed per-chip cases with the installed toolkit: a table that has drifted
    from the toolkit fails here (after a toolkit upgrade, rerun python -m onnxlint.rknn.probe_ops)."""
    import json
    import subprocess
    import sys

    from onnxlint.rknn.knowledge import probe_folder, probe_table

    cases = DRIFT_SAMPLE[chip]
    # The probe builds in the toolkit's interpreter (ONNXLINT_RKNN_PYTHON, inherited) whatever runs it.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "onnxlint.rknn.probe_ops",
            "--chips",
            chip,
            "--jobs",
            "2",
            "--out",
            str(tmp_path),
            "--cases",
            *cases,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    fresh = json.loads((tmp_path / probe_folder(facts.version) / f"{chip}.json").read_text())["cases"]
    committed = probe_table(facts.version, chip)["cases"]
    assert {case: fresh[case]["outcome"] for case in cases} == {case: committed[case]["outcome"] for case in cases}


def test_float16_and_float64_io_are_rewritten_to_float32(tmp_path, facts):
    for dtype in ("float16", "double"):
        path = tmp_path / f"{dtype}.onnx"
        onnx.save(
            parse(f"""<ir_version: 8, opset_import: ["" : 13]>
            g ({dtype}[1, 3, 8, 8] x) => ({dtype}[1, 3, 8, 8] y) {{ y = Relu(x) }}"""),
            str(path),
        )
        result = build(path, "rk3588")
        failed, log = result.failed_stage, result.log
        assert failed is None
        assert facts.io_dtype_conversions["float16"]["message"].removeprefix("W ") in log


def test_float64_input_data_is_refused_by_the_runtime(tmp_path, facts):
    import numpy as np

    from onnxlint.rknn.toolkit import simulate

    path = tmp_path / "double.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (double[1, 3, 8, 8] x) => (double[1, 3, 8, 8] y) { y = Relu(x) }"""),
        str(path),
    )
    with pytest.raises(RuntimeError) as failure:
        simulate(path, "rk3588", [], {"x": np.ones((1, 3, 8, 8), np.float64)})
    assert facts.io_dtype_conversions["float64"]["data_refusal"].format(index=0).removeprefix("E ") in str(
        failure.value
    )


def test_int8_only_chips_refuse_fp16_builds(tmp_path, facts):
    """The chips the family file lists as int8-only refuse an fp16 build, so onnxlint's builds quantize there."""
    import numpy as np

    from onnxlint.rknn.toolkit import simulate

    for chip in facts.int8_only_chips:
        with pytest.raises(RuntimeError) as failure:
            simulate(_relu(tmp_path, 13), chip, [], {"x": np.ones((1, 3, 8, 8), np.float32)})
        assert f"target_platform({chip}) not support do_quantization = False" in str(failure.value)
