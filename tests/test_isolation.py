"""A rule or stage that crashes is an internal error for that rule and file: the other rules still report, the
other files still run, the traceback goes to a file, and the exit code is 2 (never a traceback on the terminal)."""

from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from conftest import FIXTURES, rule

from onnxlint.checks.nm001_bn_training_mode import BnTrainingMode
from onnxlint.checks.nm002_dropout_training_mode import DropoutTrainingMode
from onnxlint.cli import main
from onnxlint.core import engine
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.output import FORMATS

TRAINING = FIXTURES / "yolov5n_training.onnx"


def _crash(self, ctx):
    raise ValueError("3 is not in list")


def test_crashing_rule_is_an_internal_error_and_the_other_rules_still_report(monkeypatch):
    monkeypatch.setattr(DropoutTrainingMode, "check_model", _crash)
    report = lint_file(TRAINING, [rule("NM001"), rule("NM002")])
    assert [e.source for e in report.internal_errors] == ["NM002"]
    crash = report.internal_errors[0]
    assert (crash.exception, crash.message) == ("ValueError", "3 is not in list")
    traceback = Path(crash.traceback).read_text(encoding="utf-8")
    assert "Traceback" in traceback and "_crash" in traceback and str(TRAINING) in traceback
    assert {f.code for f in report.findings} == {"NM001"}  # the other rule's findings survive
    assert report.rules_run == 2


def test_unexpected_loader_failure_is_an_internal_error(monkeypatch):
    def broken(model):
        raise IndexError("list index out of range")

    monkeypatch.setattr(engine, "build_graphs", broken)
    report = lint_file(TRAINING, [rule("NM001")])
    assert report.error is None and report.findings == ()
    assert [(e.source, e.exception) for e in report.internal_errors] == [("load", "IndexError")]


def test_cli_reports_every_file_and_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(DropoutTrainingMode, "check_model", _crash)
    later = tmp_path / "later.onnx"
    later.write_bytes(TRAINING.read_bytes())
    code = main([str(TRAINING), str(later), "--select", "NM001,NM002", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    results = json.loads(out)["results"]
    assert [r["path"] for r in results] == [str(TRAINING), str(later)]
    for result in results:
        assert [e["source"] for e in result["internal_errors"]] == ["NM002"]
        assert {f["code"] for f in result["findings"]} == {"NM001"}
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("onnxlint: internal error: ") for line in lines)
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["text", "github", "sarif"])
def test_every_format_shows_internal_errors(monkeypatch, fmt, tmp_path):
    monkeypatch.setattr(DropoutTrainingMode, "check_model", _crash)
    report = lint_file(TRAINING, [rule("NM002")])
    out = tmp_path / "report"
    with out.open("w", encoding="utf-8") as stream:
        FORMATS[fmt].lint([report], stream, [rule("NM002")])
    text = out.read_text(encoding="utf-8")
    assert "NM002" in text and "3 is not in list" in text
    if fmt == "sarif":
        invocation = json.loads(text)["runs"][0]["invocations"][0]
        assert invocation["executionSuccessful"] is False
        assert "NM002 failed" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_internal_errors_leave_no_partial_findings(monkeypatch):
    def half(self, ctx):
        yield from BnTrainingMode.__dict__["_original"](self, ctx)
        raise RuntimeError("after one finding")

    monkeypatch.setattr(BnTrainingMode, "_original", BnTrainingMode.check_model, raising=False)
    monkeypatch.setattr(BnTrainingMode, "check_model", half)
    report = lint_file(TRAINING, [rule("NM001")])
    assert report.findings == ()  # a rule that did not finish reports nothing it may have got wrong
    assert report.internal_errors[0].message == "after one finding"


def test_crashing_confirmer_is_inconclusive_and_an_internal_error(monkeypatch):
    from onnxlint.confirm import runner
    from onnxlint.confirm.ort import InferenceMode
    from onnxlint.core import sandbox

    class BrokenConfirmer(InferenceMode):
        def confirm(self, run, finding):
            raise KeyError("count")

    class RefusingConfirmer(InferenceMode):
        def confirm(self, run, finding):
            import onnx

            raise onnx.checker.ValidationError("the model is invalid")  # the model's fault, not onnxlint's

    def in_process(function, *args, limits, on_emit):  # the child's work, here, so that the patches apply
        monkeypatch.setattr(sandbox, "emit", on_emit)
        return function(*args)

    monkeypatch.setattr(sandbox, "run", in_process)
    monkeypatch.setattr(BnTrainingMode, "confirmer", BrokenConfirmer(op_type="BatchNormalization"))
    report = lint_file(TRAINING, [rule("NM001")])
    (confirmed,) = runner.confirm_reports([report], [rule("NM001")], LintSettings())
    evidence = confirmed.findings[0].evidence
    assert evidence.verdict == "inconclusive" and "KeyError" in evidence.detail
    assert [(e.source, e.exception) for e in confirmed.internal_errors] == [("NM001 confirmation", "KeyError")]

    monkeypatch.setattr(BnTrainingMode, "confirmer", RefusingConfirmer(op_type="BatchNormalization"))
    (confirmed,) = runner.confirm_reports([report], [rule("NM001")], LintSettings())
    assert confirmed.findings[0].evidence.verdict == "inconclusive" and confirmed.internal_errors == ()


def _bug_in_child():
    return {}["missing"]


def test_child_traceback_reaches_the_internal_error_file():
    from onnxlint.core import sandbox
    from onnxlint.core.errors import internal_error

    with pytest.raises(KeyError) as raised:
        sandbox.run(_bug_in_child, limits=sandbox.Limits(timeout_s=60, memory_mib=2048))
    crash = internal_error("compare", raised.value, "a.onnx")
    written = Path(crash.traceback).read_text(encoding="utf-8")
    assert "_bug_in_child" in written and 'return {}["missing"]' in written


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched loader reaches workers by fork")
def test_worker_that_dies_is_an_internal_error_and_the_other_files_are_reported(monkeypatch, capsys, tmp_path):
    """A segfault in onnx's C++ on a hostile file kills its worker and breaks the pool under every other file."""
    load = engine.load_model

    def load_or_die(path):
        if Path(path).name == "segfault.onnx":
            faulthandler.disable()  # the worker dies quietly, as a real segfault in C++ would
            os.kill(os.getpid(), signal.SIGSEGV)
        return load(path)

    monkeypatch.setattr(engine, "load_model", load_or_die)
    paths = [tmp_path / name for name in ("first.onnx", "segfault.onnx", "third.onnx", "fourth.onnx")]
    for path in paths:
        path.write_bytes(TRAINING.read_bytes())
    code = main([*map(str, paths), "--jobs", "2", "--select", "NM001", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    results = json.loads(out)["results"]
    assert [r["path"] for r in results] == list(map(str, paths))
    dead = results[1]
    assert [(e["source"], e["exception"]) for e in dead["internal_errors"]] == [("worker", "BrokenProcessPool")]
    for result in results[:1] + results[2:]:
        assert not result["internal_errors"] and {f["code"] for f in result["findings"]} == {"NM001"}
    assert f"onnxlint: internal error: {paths[1]}: worker failed (BrokenProcessPool" in err
