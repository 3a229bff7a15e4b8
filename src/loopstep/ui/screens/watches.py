"""Watch expressions: evaluated at every pause and shown in the watch pane, a changed value
marked. Only expressions that read the run are accepted."""

from __future__ import annotations

from ...engine.watches import WatchError, check_watch
from .list_editor import ListEditorScreen


class WatchesScreen(ListEditorScreen):
    HEADING = "watches: evaluated at every pause, in the training frame (kept across r)"
    PLACEHOLDER = "add: e.g. loss.item(), model.fc1.weight.grad.norm() (enter)"
    EXAMPLES = "examples: loss.item()  x.shape  (pred.argmax(1) == y).float().mean()  optimizer.param_groups[0]['lr']"
    PREFIX = "watch"

    def accept(self, text: str) -> str:
        try:
            return check_watch(text)
        except WatchError as exc:
            raise ValueError(str(exc).replace("--watch ", "")) from None
