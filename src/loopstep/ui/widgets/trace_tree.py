"""The computation trace as a tree: forward and loss ops in order, then the autograd graph
from the loss down to each parameter with the gradient that reached it.

Graph nodes are added when their parent is expanded, so a big model's graph costs nothing
until someone opens it; repeated identical blocks arrive already collapsed (×N).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ...engine.summary import count
from ...engine.trace import GraphNode, Trace, TraceOp
from ..view import View
from .cell_update import repaint_changed
from .tensor_text import shape_text, short

#: Graphs with at most this many nodes open fully; bigger ones open one level.
OPEN_FULLY = 40
#: The trace before the first phase of a run (a start, a restart).
NOTHING_YET = Trace(notes=("nothing has run yet: s runs forward on the first batch",))


class TraceTree(Tree):
    DEFAULT_CSS = "TraceTree { height: 1fr; }"
    _filling = False  # True while show() rebuilds the nodes (Tree's own __init__ refreshes too)
    _sized_from = None  # the line count's size before the rebuild in progress (see _build)
    _lines_shown: tuple | None = None  # the rows on screen before a rebuild (see show)

    def __init__(self, **kwargs) -> None:
        super().__init__("trace", **kwargs)
        self.border_title = "computation trace"
        self.show_root = False
        self._trace: Trace | None = None

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        # Rebuilding the nodes asks for a layout of the whole screen at every node added. The
        # tree's height on screen does not depend on its nodes: its line count (the virtual
        # size) is set when it next renders, and a change of that still lays it out.
        if self._filling:
            layout = False
        elif (
            layout
            and self._sized_from is not None
            and self.is_mounted
            and self._same_scrollbars(self._sized_from)
        ):
            layout = False  # a new line count, the same scrollbars: no need to lay out the screen
        if self._lines_shown is not None and not regions and not layout and not recompose:
            return self  # show() repaints the rows that changed once the rebuild is done
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _build(self) -> None:
        # Tree sets its virtual size (lines × widest line) here, which lays out the screen.
        self._sized_from = self.virtual_size
        try:
            super()._build()
        finally:
            self._sized_from = None

    def _same_scrollbars(self, before) -> bool:
        """Whether the new virtual size keeps the scrollbars as they were; if so, update them."""
        region = self.scrollable_content_region
        after = self.virtual_size
        always_shown = self.styles.overflow_y == "scroll"  # loopstep.tcss: it never comes and goes
        if not always_shown and (before.height > region.height) != (after.height > region.height):
            return False
        if (before.width > region.width) != (after.width > region.width):
            return False
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.window_virtual_size = after.height
        if self.show_horizontal_scrollbar:
            self.horizontal_scrollbar.window_virtual_size = after.width
        if self.scroll_y > self.max_scroll_y:
            self.scroll_y = self.max_scroll_y
        return True

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        trace = snapshot.trace if snapshot is not None else None
        if trace is not None and snapshot.event is None:
            trace = NOTHING_YET  # before the first phase nothing was computed (or left unrecorded)
        if trace is None or trace == self._trace:
            return
        old, self._trace = self._trace, trace
        shown = self._rows_on_screen()
        self._lines_shown = shown
        self._filling = True
        try:
            # Only numbers changed: relabel, and the changed lines repaint, not the pane.
            if not (old is not None and same_shape(old, trace) and relabel(self.root, trace, old)):
                self.clear()
                fill_tree(self.root, trace)
        finally:
            self._filling = False
        try:
            # Count the lines now rather than when the tree next renders: the scrollbars then
            # change in this frame, not in one more frame sent a moment later.
            _ = self._tree_lines
        finally:
            self._lines_shown = None
        if shown is not None:
            self._repaint_changed_rows(shown)

    def _rows_on_screen(self) -> tuple | None:
        """What each row of the pane shows now, with the scroll offset and size it was
        drawn at; None when the pane is not on screen (its rows are not worth comparing)."""
        if not self.is_mounted or not self.display or not self.size.area:
            return None
        rows = tuple(self.render_line(y) for y in range(self.size.height))
        return self.scroll_offset, self.size, rows

    def _repaint_changed_rows(self, shown: tuple) -> None:
        """Repaint only the cells whose text or style changed: a rebuilt tree would repaint
        the whole pane, border and title included, at every phase (most of a step's bytes
        over SSH, where the trace of forward and of loss differ by a few rows)."""
        offset, size, before = shown
        if self.scroll_offset != offset or self.size != size:
            super().refresh()
            return
        repaint_changed(self, before, [self.render_line(y) for y in range(size.height)])

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        node = event.node
        if isinstance(node.data, GraphNode) and not node.children:
            add_graph_children(node, node.data, depth=1)


def fill_tree(root: TreeNode, trace: Trace) -> None:
    if not trace.ops_recorded and not trace.ops:
        root.add_leaf(
            Text("forward ops are not recorded while the run continues freely: step to see them", style="dim")
        )
    forward = [op for op in trace.ops if op.phase != "loss"]
    loss = [op for op in trace.ops if op.phase == "loss"]
    for title, ops in (("forward", forward), ("loss", loss)):
        if ops:
            branch = root.add(Text(f"{title} ({count(len(ops), 'op')})", style="bold"), expand=True)
            for op in ops:
                branch.add_leaf(op_label(op))
    if trace.formulas:
        branch = root.add(Text("formulas", style="bold"), expand=True)
        for line in trace.formulas:
            branch.add_leaf(line)
    if trace.graph is not None:
        full = trace.graph.count() <= OPEN_FULLY
        branch = root.add(Text("backward: loss → parameters", style="bold"), expand=True)
        node = branch.add(graph_label(trace.graph), data=trace.graph, expand=True)
        add_graph_children(node, trace.graph, depth=10_000 if full else 1)
    for note in trace.notes:
        root.add_leaf(Text(note, style="dim"))
    if trace.empty and trace.ops_recorded and not trace.notes:
        root.add_leaf(Text("nothing computed yet in this iteration", style="dim"))


def same_shape(a: Trace, b: Trace) -> bool:
    """Same ops, formulas and graph layout: only the numbers on the lines may differ."""
    return (
        [(op.op, op.phase) for op in a.ops] == [(op.op, op.phase) for op in b.ops]
        and bool(a.formulas) == bool(b.formulas)
        and a.notes == b.notes
        and a.ops_recorded == b.ops_recorded
        and _graph_shape(a.graph) == _graph_shape(b.graph)
    )


def _graph_shape(node: GraphNode | None):
    if node is None:
        return None
    return (node.name, node.param, node.repeat, tuple(_graph_shape(c) for c in node.children))


def relabel(root: TreeNode, trace: Trace, old: Trace) -> bool:
    """Update the op and formula lines in place; False if the tree is not laid out as expected."""
    sections = {str(node.label).split(" (")[0]: node for node in root.children}
    forward = [op for op in trace.ops if op.phase != "loss"]
    loss = [op for op in trace.ops if op.phase == "loss"]
    pairs = []
    for title, ops in (("forward", forward), ("loss", loss)):
        if ops:
            if title not in sections or len(sections[title].children) != len(ops):
                return False
            pairs += [(leaf, op_label(op)) for leaf, op in zip(sections[title].children, ops)]
    if trace.formulas:
        if "formulas" not in sections:
            return False
        branch = sections["formulas"]
        leaves = list(branch.children)
        for extra in leaves[len(trace.formulas) :]:
            extra.remove()
        for line in trace.formulas[len(leaves) :]:
            branch.add_leaf(line)
        pairs += [(leaf, Text(line)) for leaf, line in zip(leaves, trace.formulas)]
    if trace.graph != old.graph:
        graph_top = sections.get("backward: loss → parameters")
        if graph_top is None or not graph_top.children:
            return False
        pairs += list(_graph_pairs(graph_top.children[0], trace.graph))
    for leaf, label in pairs:
        if leaf.label != label:
            leaf.set_label(label)
    return True


def _graph_pairs(node: TreeNode, graph: GraphNode):
    """(tree node, new label) for every drawn node of a graph with the same layout."""
    yield node, graph_label(graph)
    drawn = list(node.children)
    for child_node, child in zip(drawn, graph.children):
        yield from _graph_pairs(child_node, child)


def add_graph_children(node: TreeNode, graph: GraphNode, depth: int) -> None:
    for child in graph.children:
        if child.children and not child.shared:
            sub = node.add(graph_label(child), data=child, expand=depth > 1)
            if depth > 1:
                add_graph_children(sub, child, depth - 1)
        else:
            node.add_leaf(graph_label(child), data=child)


def op_label(op: TraceOp) -> Text:
    inputs = " ".join(shape_text(s) for s in op.inputs)
    text = Text.assemble((f"{op.index:>3} ", "dim"), (op.op, "bold"), f" {inputs} → {shape_text(op.output)}")
    if op.module:
        text.append(f"  {op.module}", style="italic")
    if op.summary:
        text.append(f"  {op.summary}", style="dim")
    return text


def graph_label(node: GraphNode) -> Text:
    text = Text(node.name)
    if node.repeat > 1:
        text.append(f" ×{node.repeat}", style="bold")
    if node.param is not None:
        text.append(f" → {node.param}", style="bold")
        if node.grad is not None:
            text.append(f"  grad {short(node.grad)}")
    if node.shared:
        text.append("  (shown above)", style="dim")
    return text
