"""The autograd graph as plain data, walked from the loss's grad_fn to the leaves."""

from __future__ import annotations

import torch

from ...engine.trace import GraphNode
from .stats import summarize_many

#: Beyond this many nodes the rest of the graph is cut (and said so) to keep pauses fast.
MAX_NODES = 4000


def build_graph(root, param_names: dict[int, str], batch_grads: dict[str, torch.Tensor]) -> GraphNode | None:
    if root is None:
        return None
    # Iterative post-order walk: real graphs are deeper than Python's recursion limit.
    order: list = []
    seen: set[int] = set()
    parents_first: dict[int, list] = {}
    stack = [root]
    while stack and len(order) < MAX_NODES:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        kids = [child for child, _ in getattr(node, "next_functions", ()) if child is not None]
        parents_first[id(node)] = kids
        stack.extend(reversed(kids))
    truncated = bool(stack)

    names: dict[int, str | None] = {}
    for node in order:
        variable = getattr(node, "variable", None)
        names[id(node)] = param_names.get(id(variable)) if variable is not None else None
    leaf_names = [n for n in names.values() if n is not None]
    summaries = dict(zip(leaf_names, summarize_many([batch_grads.get(n) for n in leaf_names])))

    built: dict[int, GraphNode] = {}
    placed: set[int] = set()

    def make(node, children: tuple[GraphNode, ...]) -> GraphNode:
        param = names.get(id(node))
        return GraphNode(
            name=node.name() if hasattr(node, "name") else type(node).__name__,
            param=param,
            grad=summaries.get(param) if param else None,
            children=children,
        )

    # Build children before parents; a node reached a second time is shown as shared.
    for node in reversed(order):
        kids = []
        for child in parents_first.get(id(node), ()):
            if id(child) not in built:
                if id(child) in seen:  # built later under another parent: show it there
                    kids.append(GraphNode(child.name(), param=names.get(id(child)), shared=True))
                continue  # otherwise cut by MAX_NODES
            if id(child) in placed:
                kids.append(GraphNode(built[id(child)].name, param=built[id(child)].param, shared=True))
            else:
                kids.append(built[id(child)])
                placed.add(id(child))
        built[id(node)] = make(node, _collapse(tuple(kids)))
    graph = built[id(root)]
    if truncated:
        graph = GraphNode(
            graph.name,
            graph.param,
            graph.grad,
            graph.children + (GraphNode(f"… graph cut at {MAX_NODES} nodes"),),
        )
    return graph


def _collapse(children: tuple[GraphNode, ...]) -> tuple[GraphNode, ...]:
    """Identical leaf-less siblings in a row become one node with a repeat count."""
    out: list[GraphNode] = []
    for child in children:
        if (
            out
            and not child.children
            and not out[-1].children
            and out[-1].name == child.name
            and child.param is None
            and out[-1].param is None
        ):
            last = out[-1]
            out[-1] = GraphNode(last.name, repeat=last.repeat + 1, shared=last.shared)
        else:
            out.append(child)
    return tuple(out)
