"""The computation trace of a pause as JSON, so a replay shows the trace pane the run showed.

The autograd graph is written as a flat list (each node names its children by index):
real graphs are deeper than JSON parsers or Python recursion like.
"""

from __future__ import annotations

from typing import Any

from ..trace import GraphNode, Trace, TraceOp
from .format import RecordingError, summary_from_json, summary_to_json

#: Beyond this many ops a recorded trace keeps the first ones only.
MAX_OPS = 2000


def trace_to_json(trace: Trace) -> dict:
    out: dict[str, Any] = {
        "ops": [
            [op.index, op.op, [list(s) for s in op.inputs], list(op.output), op.summary, op.module, op.phase]
            for op in trace.ops[:MAX_OPS]
        ],
        "formulas": list(trace.formulas),
        "ops_recorded": trace.ops_recorded,
        "notes": list(trace.notes),
    }
    if trace.graph is not None:
        out["graph"] = _graph_to_list(trace.graph)
    return out


def _graph_to_list(root: GraphNode) -> list:
    nodes: list[list] = []
    index: dict[int, int] = {}
    order: list[GraphNode] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in index:
            continue
        index[id(node)] = len(order)
        order.append(node)
        stack.extend(reversed(node.children))
    for node in order:
        grad = summary_to_json(node.grad) if node.grad is not None else None
        kids = [index[id(child)] for child in node.children]
        nodes.append([node.name, node.param, grad, kids, node.repeat, node.shared])
    return nodes


def _graph_from_list(nodes: Any) -> GraphNode | None:
    if not isinstance(nodes, list) or not nodes:
        return None
    for entry in nodes:
        if not isinstance(entry, list) or len(entry) != 6 or not isinstance(entry[3], list):
            raise RecordingError("a recorded graph node is malformed")
        if not all(isinstance(k, int) and 0 <= k < len(nodes) for k in entry[3]):
            raise RecordingError("a recorded graph node points at a missing child")
    built: dict[int, GraphNode] = {}
    visiting: set[int] = set()
    stack: list[int] = [0]
    while stack:  # iterative post-order: build children before their parents
        i = stack[-1]
        if i in built:
            stack.pop()
            continue
        waiting = [k for k in nodes[i][3] if k not in built]
        if waiting:
            if i in visiting:
                raise RecordingError("a recorded graph has a cycle")
            visiting.add(i)
            stack.extend(waiting)
            continue
        name, param, grad, kids, repeat, shared = nodes[i]
        built[i] = GraphNode(
            name=str(name),
            param=None if param is None else str(param),
            grad=None if grad is None else summary_from_json(grad),
            children=tuple(built[k] for k in kids),
            repeat=int(repeat),
            shared=bool(shared),
        )
        stack.pop()
    return built[0]


def trace_from_json(data: Any) -> Trace:
    if not isinstance(data, dict):
        raise RecordingError("a recorded trace is not an object")
    try:
        ops = tuple(
            TraceOp(
                index=int(o[0]),
                op=str(o[1]),
                inputs=tuple(tuple(int(d) for d in s) for s in o[2]),
                output=tuple(int(d) for d in o[3]),
                summary=str(o[4]),
                module=str(o[5]),
                phase=str(o[6]),
            )
            for o in data.get("ops", [])
        )
        return Trace(
            ops=ops,
            graph=_graph_from_list(data.get("graph")),
            formulas=tuple(str(f) for f in data.get("formulas", [])),
            ops_recorded=bool(data.get("ops_recorded", True)),
            notes=tuple(str(n) for n in data.get("notes", [])),
        )
    except (IndexError, TypeError, ValueError) as exc:
        raise RecordingError(f"a recorded trace is malformed ({exc})") from None
