"""GraphView: networkx structure, stable names, subgraphs and functions, shapes, lazy weights."""

from __future__ import annotations

import networkx as nx
import numpy as np
import onnx
from conftest import parse
from onnx import TensorProto, helper, numpy_helper

from onnxlint.core.graph import build_graphs
from onnxlint.core.model import LoadedModel, load_model


def _graphs(tmp_path, model):
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    loaded = load_model(path)
    return loaded, build_graphs(loaded)


def test_nodes_edges_producer_consumers(tmp_path):
    _, (main,) = _graphs(
        tmp_path,
        parse("""<ir_version: 8, opset_import: ["" : 17]>
        g (float[1, 4] x) => (float[1, 4] y) { a = Relu(x)  b = Sigmoid(a)  y = Mul(a, b) }"""),
    )
    assert [n.name for n in main.nodes] == ["Relu_0", "Sigmoid_1", "Mul_2"]
    assert main.producer("a").name == "Relu_0"
    assert [n.name for n in main.consumers("a")] == ["Sigmoid_1", "Mul_2"]
    assert isinstance(main.nx, nx.MultiDiGraph)
    assert sorted(main.nx.edges(keys=True)) == [(0, 1, "a"), (0, 2, "a"), (1, 2, "b")]
    assert main.nx.edges[0, 2, "a"]["shape"] == (1, 4)
    assert main.shape("b") == (1, 4) and main.opset() == 17


def test_unsorted_nodes_get_topological_names(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Sigmoid", ["a"], ["y"]), helper.make_node("Relu", ["x"], ["a"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    _, (main,) = _graphs(tmp_path, model)
    assert [n.name for n in main.nodes] == ["Relu_0", "Sigmoid_1"]


def test_subgraphs_and_functions_are_walked_with_paths(tmp_path):
    model = parse("""<ir_version: 8, opset_import: ["" : 17, "local" : 1]>
        g (bool c, float[4] x) => (float[4] y) {
            z = local.Twice(x)
            y = If(c) <then_branch = t () => (float[4] a) { a = Relu(z) },
                       else_branch = e () => (float[4] b) { b = Neg(z) }>
        }
        <domain: "local", opset_import: ["" : 17]>
        Twice (v) => (w) { w = Add(v, v) }""")
    _, graphs = _graphs(tmp_path, model)
    assert [g.path for g in graphs] == [
        "main",
        "main/If_1.then_branch",
        "main/If_1.else_branch",
        "function:local.Twice",
    ]
    assert graphs[1].nodes[0].name == "Relu_0"
    # The If reads z from the outer scope: an implicit input, so the edge exists.
    assert graphs[0].producer("z").name == "Twice_0" and [n.name for n in graphs[0].consumers("z")] == ["If_1"]


def test_constants_are_read_on_demand_and_large_weights_never(tmp_path, monkeypatch):
    big = numpy_helper.from_array(np.ones((128, 128, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 128, 6, 6])],
        [big],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="m.data", size_threshold=0)
    loaded = load_model(path)
    (main,) = build_graphs(loaded)
    reads = []
    monkeypatch.setattr(LoadedModel, "read_tensor", lambda self, t: reads.append(t.name))
    assert main.constant("w") is None and reads == []
    from onnxlint.checks import ALL_RULES
    from onnxlint.core.engine import lint_file

    lint_file(path, ALL_RULES)
    assert reads == []
