"""`onnxlint rknn-build`: retries with the rules the toolkit names until the model builds."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from onnxlint.cli import main
from onnxlint.rknn import toolkit


def _run(capsys, *args):
    code = main(["rknn-build", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_without_the_toolkit_it_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setattr(toolkit, "toolkit_python", lambda: None)
    code, _, err = _run(capsys, FIXTURES / "toolkit" / "dfl_split.onnx", "--target", "rk3588")
    assert code == 2 and "rknn-toolkit2 is not installed" in err and len(err.splitlines()) == 1


def test_auto_outputs_need_a_head(capsys, monkeypatch):
    monkeypatch.setattr(toolkit, "toolkit_python", lambda: "python")
    code, _, err = _run(
        capsys, FIXTURES / "resnet_legacy_op13_dynbatch.onnx", "--target", "rk3588", "--outputs", "auto"
    )
    assert code == 2 and "found no YOLO head" in err


def test_the_prediction_loads_the_model_once_for_the_failures_and_the_heads(monkeypatch):
    """The knowledge base's prediction (the build-failure rule alone) and the heads --outputs auto cuts at come
    from one load of the model."""
    from onnxlint.checks.tg008_target_toolkit_failure import TargetToolkitFailure
    from onnxlint.core import engine
    from onnxlint.rknn.build import predict

    loads = []
    monkeypatch.setattr(engine, "load_model", lambda path, _load=engine.load_model: loads.append(path) or _load(path))
    prediction = predict(FIXTURES / "toolkit" / "dfl_split.onnx", "rk3588")
    assert {f.code for f in prediction.report.findings} == {TargetToolkitFailure.code}
    assert [f.data["failure"] for f in prediction.report.findings] == ["dfl-split"]
    heads = predict(FIXTURES / "yolov5n_legacy_op12.onnx", "rk3588").context.heads
    assert heads[0].rknn_outputs == [
        "/detect/m.0/Conv_output_0",
        "/detect/m.1/Conv_output_0",
        "/detect/m.2/Conv_output_0",
    ]
    assert len(loads) == 2


@pytest.mark.rknn
@pytest.mark.skipif(
    toolkit.toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"
)
def test_finds_the_configuration_that_builds(capsys, tmp_path):
    out_file, log = tmp_path / "model.rknn", tmp_path / "build.log"
    code, out, _ = _run(
        capsys,
        FIXTURES / "toolkit" / "dfl_split.onnx",
        "--target",
        "rk3588",
        "--export-rknn",
        out_file,
        "--log",
        log,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 0 and report["built"]
    assert [a["failed_stage"] for a in report["attempts"]] == ["build", None]
    assert report["attempts"][0]["fusion_rules"] == ["seperate_conv_rs_split"]
    assert "/model.22/dfl/conv/Conv" in report["attempts"][0]["matched_nodes"]
    assert report["calls"][0] == "rknn.config(target_platform='rk3588', disable_rules=['seperate_conv_rs_split'])"
    assert report["predicted"] == ["dfl-split"] and report["unpredicted_fusion_rules"] == []
    assert out_file.stat().st_size > 0 and "seperate_conv_rs_split" in log.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.log", "model.rknn"]  # nothing half-written


@pytest.mark.rknn
@pytest.mark.skipif(
    toolkit.toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"
)
def test_a_failure_no_rule_can_fix_is_reported(capsys, tmp_path):
    code, out, _ = _run(
        capsys, FIXTURES / "toolkit" / "shape_only_output.onnx", "--target", "rk3588", "--log", tmp_path / "b.log"
    )
    assert code == 1 and "no configuration built" in out and "All outputs ['channels'] of model are constants" in out
