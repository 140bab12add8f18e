"""GraphView: a read-only networkx view of one ONNX graph (main graph, subgraph or function body).

networkx nodes are ONNX nodes (keyed by topological index); edges are tensors, keyed by tensor name
and carrying its dtype and shape. Shapes come from onnx shape inference with data propagation.
"""

from __future__ import annotations

import gc
import math
import operator
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property, partial
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper

from onnxlint.core.model import LoadedModel, ModelLoadError, UnreadableTensor, type_and_shape

if TYPE_CHECKING:
    import networkx as nx

DEFAULT_DOMAINS = ("", "ai.onnx")
# Operators whose attributes hold subgraphs; custom-domain operators may too.
CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})
Shape = tuple[int | str | None, ...]


class Node:
    """One ONNX node with its stable display name and topological index.

    A plain slotted class, compared by identity: models have 10^5 nodes and a frozen dataclass
    would cost a setattr call per field per node.
    """

    __slots__ = ("_inputs", "_outputs", "domain", "index", "name", "op_type", "position", "proto", "required")

    def __init__(
        self,
        name: str,
        index: int,
        position: int,
        proto: onnx.NodeProto,
        opsets: Mapping[str, int],
        fields: tuple[str, str, tuple[str, ...], tuple[str, ...]] | None = None,
    ):
        self.name = name  # the node's own name, or "<op_type>_<index>" when the file gives none
        self.index = index  # topological
        self.position = position  # in the file
        self.proto = proto
        # (op_type, domain, inputs, outputs) as the file has them, when the caller has read them already
        op_type, domain, self._inputs, self._outputs = fields or (
            proto.op_type,
            proto.domain,
            tuple(proto.input),
            tuple(proto.output),
        )
        self.op_type = op_type
        self.domain = "" if domain in DEFAULT_DOMAINS else domain  # "" = default ONNX domain
        # (inputs, outputs) the operator's schema requires in the opset the graph imports
        self.required = _required_arity(self.op_type, self.domain, opsets.get(self.domain))

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op_type})"

    # A required input or output the file leaves out reads as '', the name ONNX gives an omitted optional one:
    # rules that index a node's required inputs then see an absent tensor (no producer, shape or value), never
    # an IndexError, on a malformed node (onnx.checker reports the node itself, OP003).
    @property
    def inputs(self) -> tuple[str, ...]:
        return _padded(self._inputs, self.required[0])

    @property
    def outputs(self) -> tuple[str, ...]:
        return _padded(self._outputs, self.required[1])

    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute's value (a string as text), or `default` when the node does not set it.

        An attribute of a type the operator's schema never declared (perm as floats, axis as a string) counts as
        not set: the file is malformed (onnx.checker says so, OP003), and no reader could use such a value."""
        for attribute in self.proto.attribute:
            if attribute.name == name:
                declared = _attribute_types().get((self.domain, self.op_type, name))
                if declared is not None and attribute.type not in declared:
                    return default
                try:
                    value = helper.get_attribute_value(attribute)
                except ValueError:  # an attribute type onnx does not define, on an operator without a schema
                    return default
                # A STRING attribute is bytes in ONNX, and need not be UTF-8 in a corrupted file.
                return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return default


def _padded(names: tuple[str, ...], length: int) -> tuple[str, ...]:
    return names + ("",) * (length - len(names)) if len(names) < length else names


@cache
def _required_arity(op_type: str, domain: str, opset: int | None) -> tuple[int, int]:
    """(inputs, outputs) an operator's schema requires at `opset`; (0, 0) for one onnx does not define there."""
    if opset is None or not onnx.defs.has(op_type, opset, domain):
        return 0, 0
    schema = onnx.defs.get_schema(op_type, opset, domain)
    return schema.min_input, schema.min_output


@cache
def _attribute_types() -> dict[tuple[str, str, str], frozenset[int]]:
    """{(domain, op_type, attribute): the AttributeProto types any version of the operator declares for it}."""
    types: dict[tuple[str, str, str], set[int]] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        domain = "" if schema.domain in DEFAULT_DOMAINS else schema.domain
        for name, attribute in schema.attributes.items():
            # int() reads the pybind11 enum; onnx's stub for OpSchema.AttrType declares no __int__
            types.setdefault((domain, schema.name, name), set()).add(int(attribute.type))  # type: ignore[call-overload]
    return {key: frozenset(found) for key, found in types.items()}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    elem_type: int | None
    shape: Shape | None


class GraphView:
    """Navigation over one graph: producer/consumers, initializers, shapes, opsets, subgraphs."""

    def __init__(
        self,
        model: LoadedModel,
        graph: onnx.GraphProto | onnx.FunctionProto,
        path: str,
        opsets: dict[str, int],
        value_types: Mapping[str, onnx.ValueInfoProto],
    ):
        self.model = model
        self.path = path
        self.opsets = opsets
        self.is_function = isinstance(graph, onnx.FunctionProto)
        self._value_types = value_types
        if self.is_function:
            self.initializers: dict[str, onnx.TensorProto] = {}
            self.input_names = tuple(graph.input)
            self.output_names = tuple(graph.output)
        else:
            # '' names no tensor in ONNX (it marks an omitted input): an initializer called that is unreachable.
            self.initializers = {t.name: t for t in graph.initializer if t.name}
            self.input_names = tuple(v.name for v in graph.input if v.name not in self.initializers)
            self.output_names = tuple(v.name for v in graph.output)
        self.nodes, self._node_inputs, self._produced_at = _topological_nodes(model, graph.node, path, opsets)
        self.subgraphs: tuple[GraphView, ...] = ()

    # Producer and consumer indexes are made on first use: 10^5 entries each, and a rule that never navigates
    # (or a model whose rules are all skipped) never needs them.
    @cached_property
    def _producer(self) -> dict[str, Node]:
        if not self._produced_at:
            return {}
        by_position = {node.position: node for node in self.nodes}
        return {name: by_position[position] for name, position in self._produced_at.items()}

    @cached_property
    def _consumers(self) -> dict[str, list[Node]]:
        consumers: dict[str, list[Node]] = {}
        for node, inputs in zip(self.nodes, self._node_inputs):
            for name in dict.fromkeys(inputs):  # a node reading a tensor twice consumes it once
                consumers.setdefault(name, []).append(node)
        return consumers

    @cached_property
    def nx(self) -> nx.MultiDiGraph:
        """The graph as networkx: node key = topological index, one edge per (tensor, consumer)."""
        import networkx as nx  # built on first use: most rules navigate with producer()/consumers()

        graph = nx.MultiDiGraph(name=self.path)
        graph.add_nodes_from((n.index, {"name": n.name, "op_type": n.op_type}) for n in self.nodes)
        for tensor, consumers in self._consumers.items():
            producer = self._producer.get(tensor)
            if producer is None:
                continue
            info = self.tensor(tensor)
            for consumer in consumers:
                graph.add_edge(
                    producer.index,
                    consumer.index,
                    key=tensor,
                    elem_type=info.elem_type if info else None,
                    shape=info.shape if info else None,
                )
        return graph

    def opset(self, domain: str = "") -> int | None:
        return self.opsets.get("" if domain in DEFAULT_DOMAINS else domain)

    def producer(self, tensor: str) -> Node | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> tuple[Node, ...]:
        return tuple(self._consumers.get(tensor, ()))

    def tensor(self, name: str) -> TensorInfo | None:
        """dtype and inferred shape of a tensor, when known."""
        if name in self.initializers:
            init = self.initializers[name]
            return TensorInfo(name, init.data_type, tuple(init.dims))
        value = self._value_types.get(name)
        if value is None:
            return None
        return TensorInfo(name, *type_and_shape(value.type))

    def shape(self, name: str) -> Shape | None:
        info = self.tensor(name)
        return info.shape if info else None

    @cached_property
    def by_op(self) -> dict[tuple[str, str], tuple[Node, ...]]:
        """{(domain, op_type): nodes in topological order}: rules that judge an operator judge it once."""
        index: dict[tuple[str, str], list[Node]] = {}
        for node in self.nodes:
            index.setdefault((node.domain, node.op_type), []).append(node)
        return {key: tuple(nodes) for key, nodes in index.items()}

    def nodes_of(self, op_type: str, domain: str = "") -> tuple[Node, ...]:
        """Nodes of one operator, in topological order."""
        return self.by_op.get((domain, op_type), ())

    def constant(self, name: str, max_elements: int = 1 << 16) -> np.ndarray | None:
        """Values of a constant tensor (initializer or Constant node) if small enough to be a parameter
        a rule may read, else None. Large weights are never read. A malformed constant's value is unknown: None."""
        if name in self.initializers:
            tensor = self.initializers[name]
        else:
            node = self.producer(name)
            if node is None or node.op_type != "Constant" or node.domain != "":
                return None
            tensor = node.attr("value")
            if not isinstance(tensor, onnx.TensorProto):
                return _constant_attribute_value(node)
        if math.prod(tensor.dims) > max_elements:
            return None
        try:
            return self.model.read_tensor(tensor)
        except UnreadableTensor:
            return None

    def scalar(self, name: str) -> np.generic | None:
        """The value of a constant holding exactly one number (a ratio, a flag), else None."""
        value = self.constant(name, max_elements=1)
        return value.reshape(-1)[0] if value is not None and value.size == 1 else None

    def walk(self) -> Iterator[GraphView]:
        """This graph and every graph nested in it, depth first."""
        yield self
        for sub in self.subgraphs:
            yield from sub.walk()


def build_graphs(model: LoadedModel) -> tuple[GraphView, ...]:
    """GraphViews for the main graph, its nested subgraphs and the model-local functions.

    Raises ModelLoadError for a graph that cannot be ordered (a cycle).
    """
    # A graph view is 10^5 small objects and no garbage: the cycle collector would walk them all several times
    # while they are made (a third of the build time), for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_graphs(model)
    finally:
        if collecting:
            gc.enable()


def _build_graphs(model: LoadedModel) -> tuple[GraphView, ...]:
    inferred = model.inference.model
    opsets = {("" if o.domain in DEFAULT_DOMAINS else o.domain): o.version for o in inferred.opset_import}
    value_types = _value_types(inferred.graph)
    # ChainMap only reads the maps it chains; typeshed asks for MutableMapping all the same
    main = _build_tree(model, inferred.graph, "main", opsets, ChainMap(value_types))  # type: ignore[arg-type]
    views = [*main.walk()]
    for function in inferred.functions:
        function_opsets = {
            ("" if o.domain in DEFAULT_DOMAINS else o.domain): o.version for o in function.opset_import
        } or opsets
        function_view = _build_tree(
            model, function, f"function:{function.domain}.{function.name}", function_opsets, ChainMap()
        )
        views.extend(function_view.walk())
    return tuple(views)


def _build_tree(model: LoadedModel, graph, path: str, opsets: dict[str, int], value_types: ChainMap) -> GraphView:
    view = GraphView(model, graph, path, opsets, value_types)
    children = []
    attributes = map(len, map(operator.attrgetter("attribute"), (node.proto for node in view.nodes)))
    for node, count in zip(view.nodes, attributes):
        if not count:
            continue  # most nodes have no attributes: counted in C, not walked
        for attribute in node.proto.attribute:
            bodies = [attribute.g] if attribute.HasField("g") else list(attribute.graphs)
            for position, body in enumerate(bodies):
                suffix = f"[{position}]" if len(bodies) > 1 else ""
                sub_types = value_types.new_child(_value_types(body))  # type: ignore[arg-type]  # read only, as above
                children.append(
                    _build_tree(model, body, f"{path}/{node.name}.{attribute.name}{suffix}", opsets, sub_types)
                )
    view.subgraphs = tuple(children)
    return view


class _ValueTypes(Mapping):
    """Declared and inferred types by tensor name, indexed on the first lookup (10^5 entries that a run whose rules
    read no shape never needs); converted to TensorInfo only when asked for."""

    def __init__(self, graph: onnx.GraphProto):
        self._graph = graph
        self._types: dict[str, onnx.ValueInfoProto] | None = None

    @property
    def types(self) -> dict[str, onnx.ValueInfoProto]:
        if self._types is None:
            graph = self._graph
            types = dict(zip(map(_NAME, graph.value_info), graph.value_info))
            types.update((value.name, value) for value in graph.input)
            types.update((value.name, value) for value in graph.output)
            self._types = types
        return self._types

    def __getitem__(self, name: str) -> onnx.ValueInfoProto:
        return self.types[name]

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __iter__(self):
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)


def _value_types(graph: onnx.GraphProto) -> Mapping[str, onnx.ValueInfoProto]:
    return _ValueTypes(graph)


def _all_inputs(node: onnx.NodeProto) -> list[str]:
    """A node's inputs plus the outer-scope tensors its subgraphs read (implicit inputs)."""
    names = [name for name in node.input if name]
    if node.op_type not in CONTROL_FLOW and node.domain in DEFAULT_DOMAINS:
        return names
    for attribute in node.attribute:
        bodies = [attribute.g] if attribute.HasField("g") else list(attribute.graphs)
        for body in bodies:
            names.extend(_outer_references(body))
    return names


def _outer_references(graph: onnx.GraphProto) -> list[str]:
    local = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    for node in graph.node:
        local.update(node.output)
    return sorted({name for node in graph.node for name in _all_inputs(node) if name not in local})


def _topological_nodes(model: LoadedModel, protos, path: str, opsets: Mapping[str, int]):
    """Nodes in topological order (file order when it already is one) with stable display names,
    each node's inputs (implicit subgraph inputs included) in the same order, and
    {tensor: file position of the node producing it}.

    Each field of every node is read once, in bulk (map over the protos runs in C, where a loop over 10^5
    nodes in Python costs more than the reading itself)."""
    protos = list(protos)
    names = list(map(_NAME, protos))
    op_types = list(map(_OP_TYPE, protos))
    domains = list(map(_DOMAIN, protos))
    raw_inputs = list(map(tuple, map(_INPUT, protos)))
    raw_outputs = list(map(tuple, map(_OUTPUT, protos)))
    inputs: list = raw_inputs
    if any(map(operator.contains, raw_inputs, repeat(""))):  # '' marks an omitted input: no tensor
        inputs = list(map(list, map(partial(filter, None), raw_inputs)))
    else:
        inputs = list(raw_inputs)
    for position, (op_type, domain) in enumerate(zip(op_types, domains)):
        if op_type in CONTROL_FLOW or domain not in DEFAULT_DOMAINS:
            inputs[position] = _all_inputs(protos[position])  # and the outer tensors its subgraphs read
    # {output: position}, the first producer winning: a dict built from the reversed pairs keeps the first.
    positions = chain.from_iterable(map(repeat, range(len(protos)), map(len, raw_outputs)))
    produced_at = dict(reversed(list(zip(chain.from_iterable(raw_outputs), positions))))
    produced_at.pop("", None)
    order = _order(model, protos, inputs, produced_at, path) or range(len(protos))
    nodes = tuple(
        Node(
            names[i] or f"{op_types[i]}_{index}",
            index,
            i,
            protos[i],
            opsets,
            (op_types[i], domains[i], raw_inputs[i], raw_outputs[i]),
        )
        for index, i in enumerate(order)
    )
    return nodes, [inputs[i] for i in order], produced_at


_NAME, _OP_TYPE, _DOMAIN = (operator.attrgetter(name) for name in ("name", "op_type", "domain"))
_INPUT, _OUTPUT = operator.attrgetter("input"), operator.attrgetter("output")


def _order(
    model: LoadedModel, protos, inputs: list[list[str]], produced_at: dict[str, int], path: str
) -> list[int] | None:
    """A topological order of node positions, or None when the file order already is one."""
    readers = chain.from_iterable(map(repeat, range(len(inputs)), map(len, inputs)))
    producers = map(produced_at.get, chain.from_iterable(inputs), repeat(-1))
    if not any(map(operator.ge, producers, readers)):  # every tensor made before it is read (in C)
        return None
    import networkx as nx

    dependencies = nx.DiGraph()
    dependencies.add_nodes_from(range(len(protos)))
    for position, names in enumerate(inputs):
        for name in names:
            source = produced_at.get(name)
            if source == position:
                raise ModelLoadError(
                    model.path,
                    f"graph '{path}' has a cycle: node "
                    f"'{_raw_name(protos[position], position)}' consumes its own output",
                )
            if source is not None:
                dependencies.add_edge(source, position)
    try:
        return list(nx.lexicographical_topological_sort(dependencies))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(dependencies)
        steps = " -> ".join(_raw_name(protos[a], a) for a, _ in cycle)
        raise ModelLoadError(model.path, f"graph '{path}' has a cycle: {steps}") from None


def _raw_name(proto: onnx.NodeProto, position: int) -> str:
    return proto.name or f"{proto.op_type}@{position}"


_CONSTANT_ATTRS: dict[str, Callable[[Any], np.ndarray]] = {
    "value_float": lambda v: np.asarray(v, dtype=np.float32),
    "value_floats": lambda v: np.asarray(v, dtype=np.float32),
    "value_int": lambda v: np.asarray(v, dtype=np.int64),
    "value_ints": lambda v: np.asarray(v, dtype=np.int64),
}


def _constant_attribute_value(node: Node) -> np.ndarray | None:
    """A Constant node's value given as a number or a list of numbers (value_float, value_ints...)."""
    for name, convert in _CONSTANT_ATTRS.items():
        value = node.attr(name)
        if value is not None:
            return convert(value)
    return None


def format_shape(shape: Shape | None) -> str:
    """[batch, 3, 640, 640] style, '?' for an unnamed dim; 'unknown' when there is no shape."""
    if shape is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
