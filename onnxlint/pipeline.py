"""The lint pipeline, the one the command line, onnxlint.lint and rknn-build share: files (or a loaded model) in,
reports and an exit code out. Jobs, the baseline, confirmation and the exit-code policy live here; callers parse
their arguments into a LintSetup, call it, and render what it returns."""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from onnxlint.core.engine import Linted, crashed_report, lint_file, lint_loaded, unreadable_report
from onnxlint.core.finding import Report
from onnxlint.core.policy import exit_code
from onnxlint.settings.options import LintSetup

if TYPE_CHECKING:
    import onnx

IN_MEMORY = "<model>"  # the report path of a model given as an onnx.ModelProto


@dataclass(frozen=True)
class LintOutcome:
    reports: tuple[Report, ...]
    exit_code: int


def lint_paths(
    paths: Sequence[str],
    setup: LintSetup,
    unsearchable: Mapping[str, str] | None = None,
    record: Callable[[list[Report]], None] | None = None,
) -> LintOutcome:
    """Lint `paths` (setup.jobs at a time), with an unreadable entry for each folder in `unsearchable`
    ({folder: why}). `record` receives every finding before the baseline filters them (--write-baseline)."""
    return _finish(_lint_all(paths, setup), setup, unsearchable or {}, record, names={})


def lint_model(model: str | os.PathLike[str] | onnx.ModelProto, setup: LintSetup) -> Report:
    """The report of one model, a path or an onnx.ModelProto (reported as IN_MEMORY)."""
    if isinstance(model, (str, os.PathLike)):
        return lint_paths([str(model)], setup).reports[0]
    import onnx

    # The loader vets a model as bytes on disk (their UTF-8, each tensor's size against its dims), and
    # confirmation runs it from a file in a child process: an in-memory model goes through one temporary file.
    with tempfile.TemporaryDirectory(prefix="onnxlint-") as folder:
        path = str(Path(folder) / "model.onnx")
        onnx.save(model, path)
        return _finish([_lint_one(setup)(path)], setup, {}, None, names={path: IN_MEMORY}).reports[0]


def lint_with_context(path: str | os.PathLike[str], setup: LintSetup) -> Linted:
    """One file's report (its policy applied; no baseline or confirmation) and the context its rules read, for a
    caller that also needs the model's analyses: the model is loaded once for both."""
    resolved = setup.resolved
    return lint_loaded(path, resolved.rules, resolved.settings, resolved.policy)


def _lint_one(setup: LintSetup) -> Callable[[str], Report]:
    resolved = setup.resolved
    return functools.partial(lint_file, rules=resolved.rules, settings=resolved.settings, policy=resolved.policy)


def _lint_all(paths: Sequence[str], setup: LintSetup) -> list[Report]:
    lint_one = _lint_one(setup)
    if setup.jobs > 1 and len(paths) > 1:
        return _lint_in_processes(lint_one, list(paths), setup.jobs, setup)
    return [lint_one(path) for path in paths]


def _finish(
    reports: list[Report],
    setup: LintSetup,
    unsearchable: Mapping[str, str],
    record: Callable[[list[Report]], None] | None,
    names: Mapping[str, str],
) -> LintOutcome:
    """Baseline, confirmation and exit code. `names` maps a file read to the path its report shows."""
    settings = setup.resolved.settings
    reports = [unreadable_report(folder, why, settings) for folder, why in unsearchable.items()] + reports
    shown = [dataclasses.replace(r, path=names[r.path]) if r.path in names else r for r in reports]
    if record is not None:
        record(shown)
    if setup.baseline is not None:
        shown = [setup.baseline.new_findings(report) for report in shown]
    if setup.confirm is not None:
        from onnxlint.confirm.runner import confirm_reports

        read = {shown_as: path for path, shown_as in names.items()}
        confirmed = confirm_reports(
            [dataclasses.replace(r, path=read.get(r.path, r.path)) for r in shown],
            setup.resolved.rules,
            settings,
            setup.confirm,
        )
        shown = [dataclasses.replace(r, path=names[r.path]) if r.path in names else r for r in confirmed]
    return LintOutcome(tuple(shown), exit_code(shown, setup.resolved.fail_on, recording=record is not None))


def _lint_in_processes(lint_one, paths: list[str], jobs: int, setup: LintSetup) -> list[Report]:
    """Reports of `paths`, in their order, linted `jobs` at a time in worker processes.

    A worker that dies (a segfault in onnx's C++ on a hostile file) breaks its whole pool: every file still in it
    fails with BrokenProcessPool. Those files are linted again, each in a pool of its own, so that only a file
    that kills a worker by itself becomes an internal error, and every other file is still reported."""
    reports = _lint_in_pool(lint_one, paths, min(jobs, len(paths)))
    for at, outcome in enumerate(reports):
        if isinstance(outcome, BaseException):
            (alone,) = _lint_in_pool(lint_one, [paths[at]], 1)
            reports[at] = (
                crashed_report(paths[at], setup.resolved.settings, "worker", alone)
                if isinstance(alone, BaseException)
                else alone
            )
    return reports


def _lint_in_pool(lint_one, paths: list[str], workers: int) -> list:
    """One future per file: a report each, or the BrokenProcessPool of a file whose pool died under it."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    outcomes = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(lint_one, path) for path in paths]:
            try:
                outcomes.append(future.result())
            except BrokenProcessPool as exc:
                outcomes.append(exc)
    return outcomes
