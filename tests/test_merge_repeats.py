"""One finding per rule and cause: per-node findings with the same message become one, naming the count and the
first nodes, with every node kept as a related location; per-node ignores and baselines stay correct."""

from __future__ import annotations

import json

import onnx
from onnx import TensorProto, helper

from onnxlint.checks import ALL_RULES
from onnxlint.cli import main
from onnxlint.core.engine import lint_file
from onnxlint.core.policy import Policy


def _hardswish_chain(count: int) -> onnx.ModelProto:
    """`count` HardSwish nodes under opset 11, where HardSwish does not exist yet (OP001 on each)."""
    nodes = [helper.make_node("HardSwish", [f"t{i}"], [f"t{i + 1}"], name=f"/block{i}/HardSwish") for i in range(count)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(f"t{count}", TensorProto.FLOAT, [1, 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=7)


def _save(tmp_path, count=5):
    path = tmp_path / "hardswish.onnx"
    onnx.save(_hardswish_chain(count), str(path))
    return path


def _op001(report):
    return [f for f in report.findings if f.code == "OP001"]


def test_repeats_become_one_finding_with_every_node(tmp_path):
    (finding,) = _op001(lint_file(_save(tmp_path), ALL_RULES))
    assert finding.location.node == "/block0/HardSwish"
    assert [where.node for where in finding.related] == [f"/block{i}/HardSwish" for i in range(1, 5)]
    assert finding.message.endswith("(5 places: /block0/HardSwish, /block1/HardSwish, /block2/HardSwish and 2 more)")
    assert finding.data["count"] == 5 and finding.data["places"][-1] == "/block4/HardSwish"
    assert finding.data["since_version"] == 14  # the rule's own facts stay


def test_one_node_is_not_merged(tmp_path):
    (finding,) = _op001(lint_file(_save(tmp_path, count=1), ALL_RULES))
    assert "places" not in finding.data and finding.related == ()
    assert finding.message == "HardSwish needs ai.onnx opset >= 14 but the model imports opset 11"


def test_per_node_ignores_apply_before_the_merge(tmp_path):
    policy = Policy(per_node_ignores=(("/block[01]/*", frozenset({"OP001"})),))
    (finding,) = _op001(lint_file(_save(tmp_path), ALL_RULES, policy=policy))
    assert finding.location.node == "/block2/HardSwish" and finding.data["count"] == 3
    everything = Policy(per_node_ignores=(("/block*", frozenset({"OP001"})),))
    assert _op001(lint_file(_save(tmp_path), ALL_RULES, policy=everything)) == []


def test_text_shows_one_line_and_show_all_every_node(tmp_path, capsys):
    path = _save(tmp_path)
    main([str(path), "--select", "OP001"])
    out = capsys.readouterr().out
    assert out.count("OP001") == 1 and "also:" not in out
    main([str(path), "--select", "OP001", "--show-all"])
    out = capsys.readouterr().out
    assert [line.strip() for line in out.splitlines() if "also:" in line] == [
        f"also: /block{i}/HardSwish (HardSwish)" for i in range(1, 5)
    ]


def test_baseline_absorbs_the_merged_finding(tmp_path, capsys):
    path, baseline = _save(tmp_path), tmp_path / "baseline.json"
    assert main([str(path), "--select", "OP001", "--write-baseline", str(baseline)]) == 0
    capsys.readouterr()
    assert main([str(path), "--select", "OP001", "--baseline", str(baseline), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["findings"] == []
