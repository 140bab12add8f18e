"""Fuzz: a hostile variant of any committed fixture, or of a real-model corpus file, gives findings or a one-line
error, never an internal error; under --confirm and through compare too, within the run limits.

Variants edit the graph (inputs, outputs, value types, initializers, attributes, versions, nodes, wiring) and the
serialized bytes (tests/fuzz_mutations.py). Every rule runs, under every target and with every deployment option
set, so that no rule is skipped. Hypothesis runs derandomized and without a database: CI sees the same examples
on every run, and a failure names the fixture and the edits that broke onnxlint.
"""

from __future__ import annotations

import json

import onnx
import pytest
from fuzz_mutations import GRAPH_MUTATIONS, SEED_MODELS, mutate_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onnxlint.checks import ALL_RULES
from onnxlint.cli import main
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.knowledge import known_chips
from onnxlint.rknn.targets import known_versions, resolve_target

SEEDS = {path.name: onnx.load(str(path), load_external_data=False) for path in SEED_MODELS}
VERSION = known_versions()[-1]
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def hostile_models(draw) -> tuple[str, bytes, list[str]]:
    """(seed fixture name, the variant's bytes, what was done to it)."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    rnd = draw(st.randoms(use_true_random=False))
    model = onnx.ModelProto()
    model.CopyFrom(SEEDS[name])
    done = [rnd.choice(GRAPH_MUTATIONS)(model, rnd) for _ in range(draw(st.integers(1, 3)))]
    data = model.SerializeToString()
    if draw(st.booleans()):
        data, edits = mutate_bytes(data, rnd, draw(st.integers(1, 6)))
        done.append(edits)
    return name, data, done


def _deployment(target: str | None, seed: str) -> LintSettings:
    """Every option a rule may need, so that none is skipped for want of one."""
    first_input = SEEDS[seed].graph.input[0].name
    return LintSettings(
        target=resolve_target(target, VERSION) if target else None,
        anchors=(10, 13, 16, 30, 33, 23),
        classes=80,
        mean=(0, 0, 0),
        std=(255, 255, 255),
        input_layout="nhwc",
        dynamic_axes={first_input: {0: "batch"}},
    )


def _assert_findings_or_one_line_error(report, seed: str, done: list[str]) -> None:
    crashes = [f"{e.source}: {e.exception}: {e.message} (traceback in {e.traceback})" for e in report.internal_errors]
    assert not crashes, f"{seed} after {done}: {crashes}"
    if report.error is not None:
        assert report.error.strip() and "\n" not in report.error
        assert not report.findings


@pytest.mark.parametrize("target", (None, *known_chips()))
@settings(FUZZ, max_examples=150)
@given(variant=hostile_models())
def test_hostile_model_gives_findings_or_one_line_error(tmp_path, target, variant):
    seed, data, done = variant
    path = tmp_path / "hostile.onnx"
    path.write_bytes(data)
    _assert_findings_or_one_line_error(lint_file(path, ALL_RULES, _deployment(target, seed)), seed, done)


@settings(FUZZ, max_examples=8)
@given(variant=hostile_models())
def test_cli_with_jobs_reports_the_good_file_after_a_hostile_one(tmp_path, capsys, variant):
    seed, data, done = variant
    good, hostile, after = SEED_MODELS[0], tmp_path / "hostile.onnx", tmp_path / "after.onnx"
    hostile.write_bytes(data)
    after.write_bytes(good.read_bytes())
    code = main([str(good), str(hostile), str(after), "--jobs", "2", "--target", "rk3588", "--format", "json"])
    first, middle, last = json.loads(capsys.readouterr().out)["results"]
    assert [first["path"], middle["path"], last["path"]] == [str(good), str(hostile), str(after)]
    assert not middle["internal_errors"], f"{seed} after {done}: {middle['internal_errors']}"
    assert first["error"] is None and first["findings"] and last["findings"] == first["findings"]
    assert code == (2 if middle["error"] else 1)


def _corpus_seeds() -> dict[str, onnx.ModelProto]:
    """The smaller real-model corpus files (tests/test_corpus.py), when fetched: models nobody here made."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("ONNXLINT_CORPUS_DIR") or Path.home() / ".cache" / "onnxlint-corpus") / "models"
    small = sorted(p for p in folder.glob("*.onnx") if p.stat().st_size <= CORPUS_SEED_BYTES) if folder.is_dir() else []
    return {path.name: onnx.load(str(path), load_external_data=False) for path in small}


CORPUS_SEED_BYTES = 3 << 20  # mutating and linting a model costs time in proportion to its size
CORPUS_SEEDS = _corpus_seeds()


@pytest.mark.skipif(not CORPUS_SEEDS, reason="the real-model corpus is not fetched (python tools/fetch_corpus.py)")
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_hostile_variants_of_real_models(tmp_path, data):
    name = data.draw(st.sampled_from(sorted(CORPUS_SEEDS)))
    rnd = data.draw(st.randoms(use_true_random=False))
    model = onnx.ModelProto()
    model.CopyFrom(CORPUS_SEEDS[name])
    done = [rnd.choice(GRAPH_MUTATIONS)(model, rnd) for _ in range(data.draw(st.integers(1, 3)))]
    payload = model.SerializeToString()
    if data.draw(st.booleans()):
        payload, edits = mutate_bytes(payload, rnd, data.draw(st.integers(1, 6)))
        done.append(edits)
    path = tmp_path / "hostile.onnx"
    path.write_bytes(payload)
    target = data.draw(st.sampled_from((None, "rk3588", "rv1106")))
    report = lint_file(path, ALL_RULES, LintSettings(target=resolve_target(target, VERSION) if target else None))
    _assert_findings_or_one_line_error(report, name, done)


@settings(FUZZ, max_examples=6)
@given(variant=hostile_models())
def test_confirm_on_a_hostile_model_ends_in_evidence_or_one_line(tmp_path, capsys, variant):
    """--confirm runs the model: a hostile one ends in evidence (often inconclusive) within the limits, never in
    a traceback or a hang."""
    seed, data, done = variant
    path = tmp_path / "hostile.onnx"
    path.write_bytes(data)
    code = main([str(path), "--confirm", "--run-timeout", "60", "--run-memory", "2048", "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, f"{seed} after {done}: {err}"
    (result,) = json.loads(out)["results"]
    assert not result["internal_errors"], f"{seed} after {done}: {result['internal_errors']}"
    assert all(f["evidence"] is not None for f in result["findings"])
    assert code == 2 if result["error"] else code in (0, 1)


@settings(FUZZ, max_examples=6)
@given(variant=hostile_models())
def test_compare_with_a_hostile_model_ends_in_a_comparison_or_one_line(tmp_path, capsys, variant):
    seed, data, done = variant
    path = tmp_path / "hostile.onnx"
    path.write_bytes(data)
    reference = SEED_MODELS[[p.name for p in SEED_MODELS].index(seed)]
    code = main(
        ["compare", str(reference), str(path), "--run-timeout", "60", "--run-memory", "2048", "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, f"{seed} after {done}: {err}"
    if code == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("onnxlint: error: ")
    else:
        assert code in (0, 1) and json.loads(out)["schema_version"] == 1
