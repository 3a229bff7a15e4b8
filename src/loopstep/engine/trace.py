"""The computation trace as plain data: what forward computed, and the graph backward walked.

Kept free of any framework so the UI, the text stream and recordings read the same thing
(the same idea as micrograd's Value graph, but for a real framework's autograd).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .summary import TensorSummary


@dataclass(frozen=True)
class TraceOp:
    """One operation of forward or loss, in the order it ran."""

    index: int
    op: str
    inputs: tuple[tuple[int, ...], ...]
    output: tuple[int, ...]
    summary: str = ""
    module: str = ""  # the module path the op ran inside ("" for the top level)
    phase: str = "forward"  # "forward" or "loss"


@dataclass(frozen=True, eq=False)  # identity equality: real graphs are too deep to compare recursively
class GraphNode:
    """A node of the autograd graph, from the loss's grad_fn down to the parameters' leaves.

    ``param`` names the parameter of an AccumulateGrad leaf; ``grad`` is the gradient that
    reached it in this backward pass (not the accumulated ``.grad``). ``repeat`` > 1 means
    this node stands for that many identical siblings collapsed into one.
    """

    name: str
    param: str | None = None
    grad: TensorSummary | None = None
    children: tuple[GraphNode, ...] = ()
    repeat: int = 1
    shared: bool = False  # already shown elsewhere in the tree (a node with several parents)

    def count(self) -> int:
        total, stack = 0, [self]
        while stack:
            node = stack.pop()
            total += 1
            stack.extend(node.children)
        return total

    def walk(self):
        """Every node, parents before children, without recursion."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@dataclass(frozen=True)
class Trace:
    ops: tuple[TraceOp, ...] = ()
    graph: GraphNode | None = None
    #: Hand-written formulas with their numbers (the NumPy backend has no autograd).
    formulas: tuple[str, ...] = ()
    #: True when forward ops were not recorded (continue mode records nothing).
    ops_recorded: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.ops and self.graph is None and not self.formulas
