"""--confirm with onnxruntime: each confirmer proves a true finding and refutes a false one."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from conftest import FIXTURES, parse

from onnxlint.checks.io002_static_dim_lost import StaticDimLost
from onnxlint.checks.nm001_bn_training_mode import BnTrainingMode
from onnxlint.checks.op001_op_not_in_opset import OpNotInOpset
from onnxlint.checks.op003_model_invalid import ModelInvalid
from onnxlint.checks.tg007_target_layout_mismatch import TargetLayoutMismatch
from onnxlint.cli import main
from onnxlint.confirm.runner import ConfirmOptions, ModelRun, confirm_reports
from onnxlint.core.finding import Finding, Location, Report, Severity
from onnxlint.core.registry import LintSettings


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _verdicts(out: str) -> list[tuple[str, str]]:
    return [(f["code"], f["evidence"]["verdict"]) for r in json.loads(out)["results"] for f in r["findings"]]


def _finding(code: str, *, node: str | None = None, tensor: str | None = None, **data) -> Finding:
    return Finding(
        code=code,
        rule="r",
        severity=Severity.ERROR,
        message="m",
        location=Location(graph="main", node=node, tensor=tensor),
        data=data,
    )


def _without_toolkit(monkeypatch) -> None:
    # Confirmations run in a child process: it sees the environment, not this process's monkeypatches.
    monkeypatch.setenv("ONNXLINT_RKNN_PYTHON", "/nonexistent")


def _model_run(tmp_path, text: str, settings: LintSettings = LintSettings()) -> ModelRun:
    path = tmp_path / "model.onnx"
    onnx.save(parse(text), str(path))
    return ModelRun(str(path), settings, ConfirmOptions())


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("yolov5n_training.onnx", [("NM001", "confirmed")]),
        ("resnet_dropout_training.onnx", [("NM001", "confirmed"), ("NM002", "confirmed")]),
        ("yolov5n_dynamic_batch.onnx", [("IO002", "confirmed")]),
        ("yolov5n_dynamic_hw.onnx", [("IO002", "confirmed")]),
        ("yolov5n_dynamic_hw_cached_grid.onnx", [("IO007", "confirmed")]),
    ],
)
def test_defective_fixtures_are_confirmed(capsys, fixture, expected):
    code, out, _ = _run(capsys, FIXTURES / fixture, "--confirm", "--ignore", "NM005,NM006", "--format", "json")
    assert code == 1 and _verdicts(out) == expected


def test_double_normalization_is_confirmed_with_numbers(capsys):
    _code, out, _ = _run(
        capsys,
        FIXTURES / "yolov5n_norm_in_graph.onnx",
        "--confirm",
        "--select",
        "TG007",
        "--mean",
        "0,0,0",
        "--std",
        "255,255,255",
        "--format",
        "json",
    )
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["evidence"]["verdict"] == "confirmed"
    assert finding["evidence"]["metrics"]["cosine"] < 0.99
    assert finding["evidence"]["backend"].startswith("onnxruntime ")


def test_head_cut_reproduces_the_head_tensors(capsys, monkeypatch):
    _without_toolkit(monkeypatch)  # onnxruntime only (the simulator: rknn tests)
    _code, out, _ = _run(
        capsys,
        FIXTURES / "yolov5n_legacy_op12.onnx",
        "--confirm",
        "--target",
        "rk3588",
        "--toolkit",
        "2.5.0",
        "--select",
        "HD001",
        "--format",
        "json",
    )
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["evidence"]["verdict"] == "confirmed"
    assert finding["evidence"]["metrics"]["max_abs"] == 0.0
    assert finding["evidence"]["metrics"]["snr_db"] == "inf"  # identical tensors; JSON has no infinity
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("onnxlint").joinpath("schemas", "lint-report.schema.json").read_text())
    jsonschema.validate(json.loads(out), schema, cls=jsonschema.Draft202012Validator)


def test_rules_without_confirmation_are_skipped_and_clean_models_have_nothing(capsys):
    code, out, _ = _run(capsys, FIXTURES / "yolov5n_unnamed.onnx", "--confirm", "--format", "json")
    assert _verdicts(out) == [("IO004", "skipped")]
    code, out, _ = _run(capsys, FIXTURES / "yolov5n_legacy_op12.onnx", "--confirm", "--format", "json")
    assert code == 0 and _verdicts(out) == []


def test_refuted_finding_stays_visible_and_does_not_fail(tmp_path, capsys, monkeypatch):
    # A finding the model disproves: IO002 claims a fixed output dim that in fact follows the batch.
    run = _model_run(
        tmp_path,
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[N, 4] x) => (float[M, 4] y) { y = Relu(x) }""",
    )
    false_claim = _finding("IO002", tensor="y", axes=[0])
    report = Report(path=run.path, target=None, findings=(false_claim,))
    from onnxlint.checks import ALL_RULES

    [confirmed] = confirm_reports([report], ALL_RULES, LintSettings())
    assert confirmed.findings[0].evidence.verdict == "refuted" and confirmed.findings[0].refuted
    assert (
        "'y': [1, 4]" in confirmed.findings[0].evidence.detail
        and "'y': [2, 4]" in confirmed.findings[0].evidence.detail
    )


def test_ort_load_refutes_a_missing_op_claim_but_not_the_checker(tmp_path):
    run = _model_run(
        tmp_path,
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2] x) => (float[2] y) { y = Relu(x) }""",
    )
    assert OpNotInOpset.confirmer.confirm(run, _finding("OP001")).verdict == "refuted"
    # onnx.checker's rejection stands even where onnxruntime runs the model
    assert ModelInvalid.confirmer.confirm(run, _finding("OP003")).verdict == "inconclusive"


def test_ort_load_confirms_an_op_missing_from_the_opset(tmp_path):
    model = parse("""<ir_version: 8, opset_import: ["" : 11]>
        g (float[2] x) => (float[2] y) { y = Gelu(x) }""")  # Gelu is opset 20
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    evidence = OpNotInOpset.confirmer.confirm(ModelRun(str(path), LintSettings(), ConfirmOptions()), _finding("OP001"))
    assert evidence.verdict == "confirmed" and "Gelu" in evidence.detail


def test_inference_mode_refutes_a_model_already_in_inference_mode(tmp_path):
    run = _model_run(
        tmp_path,
        """<ir_version: 8, opset_import: ["" : 15]>
        g (float[2, 3, 4, 4] x) => (float[2, 3, 4, 4] y) <float[3] s = {1, 1, 1}, float[3] b = {0, 0, 0},
            float[3] m = {0.5, 0.5, 0.5}, float[3] v = {2, 2, 2}> {
            y = BatchNormalization <training_mode = 0> (x, s, b, m, v)
        }""",
    )
    assert BnTrainingMode.confirmer.confirm(run, _finding("NM001", node="BatchNormalization_0")).verdict == "refuted"


def test_double_normalization_refuted_when_the_deployment_leaves_data_alone(tmp_path):
    run = _model_run(
        tmp_path,
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 3, 8, 8] images) => (float[1, 3, 8, 8] y) <float s = {255.0}> {
            x = Div(images, s)
            y = Relu(x)
        }""",
    )
    finding = _finding(
        "TG007",
        tensor="images",
        input="images",
        graph_mean=[0, 0, 0],
        graph_std=[255, 255, 255],
        deployment_mean=[0, 0, 0],
        deployment_std=[1, 1, 1],
    )
    assert TargetLayoutMismatch.confirmer.confirm(run, finding).verdict == "refuted"


def test_user_inputs_and_seed_are_used(tmp_path, capsys):
    arrays = tmp_path / "inputs.npz"
    np.savez(arrays, images=np.full((1, 3, 160, 160), 0.5, np.float32))
    code, out, _ = _run(
        capsys,
        FIXTURES / "yolov5n_training.onnx",
        "--confirm",
        "--inputs",
        arrays,
        "--seed",
        "7",
        "--select",
        "NM001",
        "--format",
        "json",
    )
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["evidence"]["verdict"] == "confirmed" and "seed 7" in finding["evidence"]["detail"]
    code, _, err = _run(capsys, FIXTURES / "yolov5n_training.onnx", "--confirm", "--inputs", tmp_path / "no.npz")
    assert code == 2 and "--inputs: cannot read" in err


def test_toolkit_confirmations_are_skipped_without_the_toolkit(capsys, monkeypatch):
    _without_toolkit(monkeypatch)
    _code, out, _ = _run(
        capsys,
        FIXTURES / "lstm_if_legacy.onnx",
        "--confirm",
        "--target",
        "rk3588",
        "--toolkit",
        "2.5.0",
        "--select",
        "TG005",
        "--format",
        "json",
    )
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["evidence"] == {
        "backend": "rknn-toolkit2",
        "verdict": "skipped",
        "metrics": {},
        "detail": "ONNXLINT_RKNN_PYTHON names '/nonexistent', which does not exist",
    }


def test_evidence_in_text_and_sarif(capsys):
    import jsonschema
    from conftest import ROOT

    _code, out, _ = _run(capsys, FIXTURES / "resnet_dropout_training.onnx", "--confirm")
    assert "        confirmed by onnxruntime " in out and "[cosine " in out
    _code, out, _ = _run(capsys, FIXTURES / "resnet_dropout_training.onnx", "--confirm", "--format", "sarif")
    document = json.loads(out)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    evidence = document["runs"][0]["results"][0]["properties"]["evidence"]
    assert evidence["verdict"] == "confirmed" and evidence["metrics"]["cosine"] < 1


def test_sizes_use_random_data_even_with_user_inputs(tmp_path):
    run = _model_run(
        tmp_path,
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[N, 4] x) => (float[M, 4] y) { y = Relu(x) }""",
    )
    run = ModelRun(run.path, LintSettings(), ConfirmOptions(inputs={"x": np.ones((1, 4), np.float32)}))
    evidence = StaticDimLost.confirmer.confirm(run, _finding("IO002", tensor="y", axes=[0]))
    assert evidence.verdict == "refuted" and "'y': [2, 4]" in evidence.detail


@pytest.mark.parametrize(
    "args, code",
    [
        ([FIXTURES / "resnet_nhwc_input.onnx", "--select", "LY001"], "LY001"),
        ([FIXTURES / "yolov5n_norm_in_graph.onnx", "--select", "LY002"], "LY002"),
        (
            [
                FIXTURES / "yolov5n_legacy_op12.onnx",
                "--select",
                "HD003",
                "--anchors",
                "[[12,16,19,36,40,28],[36,75,76,55,72,146],[142,110,192,243,459,401]]",
            ],
            "HD003",
        ),
    ],
)
def test_layout_normalization_and_anchor_findings_are_confirmed(capsys, args, code):
    _, out, _ = _run(capsys, *args, "--confirm", "--format", "json")
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["code"] == code and finding["evidence"]["verdict"] == "confirmed", finding["evidence"]
    if code == "HD003":
        assert 0.5 < finding["evidence"]["metrics"]["mean_iou"] < 0.9


@pytest.mark.parametrize(
    "code, text",
    [
        (
            "OP002",
            """<ir_version: 5, opset_import: ["" : 10]>
        g (float[1, 1, 2, 2] x) => (float[1, 1, 4, 4] y) <float[4] s = {1.0, 1.0, 2.0, 2.0}> { y = Upsample(x, s) }""",
        ),
        (
            "OP003",
            """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2] x) => (float[2] y) { y = Relu(missing) }""",
        ),
        (
            "IO001",
            """<ir_version: 8, opset_import: ["" : 13]>
        g (float[N, 3] x) => (float[M, 3] y) { y = Relu(x) }""",
        ),
    ],
)
def test_more_findings_confirmed(tmp_path, capsys, code, text):
    path = tmp_path / "model.onnx"
    model = parse(text)
    onnx.save(model, str(path))
    _, out, _ = _run(capsys, path, "--confirm", "--select", code, "--format", "json")
    [finding] = json.loads(out)["results"][0]["findings"]
    assert finding["evidence"]["verdict"] == "confirmed", finding["evidence"]
