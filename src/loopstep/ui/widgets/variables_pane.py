"""Variables (pudb's): the training frame's names (the loop's own objects first, then tensors),
each on one line; enter opens a model into its children and parameters, a dict or list into
its items; / then typing keeps the names that contain it (enter or escape goes back to the
list, where the app's keys work again). Rows come from the training thread at each
pause (only while the pane is shown); opening a row asks it for that row's parts."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Tree

from ...engine.variables import Variable
from ..view import View

#: Columns the tree's guides and the name take before the value, per level.
INDENT = 4


class PartsRead(Message):
    """The parts one row opens into, read by the training thread."""

    def __init__(self, path: tuple[str, ...], parts: list[Variable], key: object) -> None:
        super().__init__()
        self.path = path
        self.parts = parts
        self.key = key


class FilterInput(Input):
    """The filter: enter, escape or down hand the keys back to the list."""

    BINDINGS = [
        Binding("escape,enter,down", "back_to_list", show=False),
    ]

    def action_back_to_list(self) -> None:
        self.parent.focus_list()


class VariablesPane(Vertical):
    DEFAULT_CSS = """
    VariablesPane { height: 1fr; }
    VariablesPane FilterInput, VariablesPane FilterInput:focus { height: 1; border: none; padding: 0 1; }
    VariablesPane Tree { height: 1fr; }
    """
    BINDINGS = [Binding("slash", "filter", "filter", show=False)]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "variables (v: trace)"
        self._rows: tuple[Variable, ...] | None = None
        self._filter = ""
        self._opened: set[tuple[str, ...]] = set()

    def compose(self):
        yield FilterInput(placeholder="/ filters the names", id="variables-filter")
        tree: Tree = Tree("frame", id="variables-tree")
        tree.show_root = False
        yield tree

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        if view.variables is self._rows:
            return
        self._rows = view.variables
        self._rebuild()

    def action_filter(self) -> None:
        self.query_one(FilterInput).focus()

    def focus_list(self) -> None:
        tree = self.query_one(Tree)
        tree.focus()
        if tree.cursor_line < 0 and tree.last_line >= 0:
            tree.cursor_line = 0

    def _rebuild(self) -> None:
        tree = self.query_one(Tree)
        line = tree.cursor_line
        tree.clear()
        rows = self._rows
        if rows is None:
            tree.root.add_leaf(Text("(read at the next pause)", style="dim"))
            return
        if not rows:
            tree.root.add_leaf(Text("no variables here", style="dim"))
        for row in rows:
            if self._filter and self._filter.lower() not in row.name.lower():
                continue
            node = self._add(tree.root, row, len(row.path) - 1)
            if row.path in self._opened:
                self._reopen(node)
        tree.cursor_line = max(0, line)

    def _reopen(self, node) -> None:
        """A row open before this pause opens again (its parts are read anew)."""
        node.expand()
        self.app.read_parts(node.data, self._rows)

    def _add(self, parent, row: Variable, depth: int):
        # The tree's guides (INDENT a level, the top level has none), the name, two spaces, the border.
        width = max(16, self.size.width - INDENT * depth - len(row.name) - 4)
        label = Text.assemble((row.name, "bold"), "  ", row.line(width))
        if row.expandable:
            return parent.add(label, data=row.path, allow_expand=True)
        return parent.add_leaf(label, data=row.path)

    def on_input_changed(self, message: Input.Changed) -> None:
        message.stop()
        self._filter = message.value.strip()
        self._rebuild()

    def on_tree_node_expanded(self, message: Tree.NodeExpanded) -> None:
        message.stop()
        node = message.node
        path = node.data
        if path is None:
            return
        fresh = path not in self._opened
        self._opened.add(path)
        if fresh and not node.children:
            self.app.read_parts(path, self._rows)

    def on_tree_node_collapsed(self, message: Tree.NodeCollapsed) -> None:
        message.stop()
        if message.node.data is not None:
            self._opened.discard(message.node.data)

    def add_parts(self, message: PartsRead) -> None:
        if message.key is not self._rows:
            return  # an answer about an earlier pause
        node = self._find(self.query_one(Tree).root, message.path)
        if node is None or node.children:
            return
        if not message.parts:
            node.add_leaf(Text("(nothing inside)", style="dim"))
        for part in message.parts:
            child = self._add(node, part, len(part.path) - 1)
            if part.path in self._opened:
                self._reopen(child)

    def _find(self, node, path):
        for child in node.children:
            if child.data == path:
                return child
            if child.data is not None and path[: len(child.data)] == child.data:
                found = self._find(child, path)
                if found is not None:
                    return found
        return None
