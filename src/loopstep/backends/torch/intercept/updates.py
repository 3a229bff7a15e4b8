"""Parameters changed outside any optimizer: a hand-written update (``p.data.add_(p.grad,
alpha=-lr)``, ``with torch.no_grad(): p -= lr * p.grad``), found at the next forward.

An in-place change under ``no_grad`` bumps the tensor's version counter, which costs nothing
to read. A change through ``.data`` does not, so until an optimizer has stepped in this run
(a script without one updates by hand) each backward also takes the parameters' norms, in
one fused call, and the next forward compares them.
"""

from __future__ import annotations

from operator import attrgetter

import torch
from torch import nn

from ....engine.phases import PhaseEvent, SourceLocation

_VERSION = attrgetter("_version")


class UpdateWatch:
    def __init__(self) -> None:
        self._versions: list[int] | None = None
        self._norms: torch.Tensor | None = None
        self._params: list[nn.Parameter] = []
        #: An optimizer has stepped in this run: version counters alone are watched.
        self.optimizer_seen = False

    def after_backward(self, named: list[tuple[str, nn.Parameter]]) -> None:
        """A backward ran: remember the parameters as they are, to see them change by hand."""
        params = [p for _, p in named]
        self._params = params
        self._versions = list(map(_VERSION, params))
        self._norms = None
        if not self.optimizer_seen and params:
            with torch.no_grad():
                self._norms = torch.stack(
                    [n.double() for n in torch._foreach_norm([p.detach() for p in params])]
                )

    def stepped(self) -> None:
        """An optimizer stepped: what changed the parameters since the backward was the step."""
        self.optimizer_seen = True
        self._versions = None
        self._norms = None

    def forget(self) -> None:
        """What was remembered is from before a sleep: no change is judged against it."""
        self._versions = None
        self._norms = None

    def changed(self) -> list[nn.Parameter]:
        """At a forward: the parameters changed by hand since the last backward."""
        versions, norms, params = self._versions, self._norms, self._params
        self._versions = self._norms = None
        if versions is None:
            return []
        now_versions = list(map(_VERSION, params))
        changed = [p for p, was, now in zip(params, versions, now_versions) if was != now]
        if changed or norms is None:
            return changed
        with torch.no_grad():
            now = torch.stack([n.double() for n in torch._foreach_norm([p.detach() for p in params])])
        differs = (now != norms).tolist()
        return [p for p, moved in zip(params, differs) if moved]


#: What a hand-written update looks like in a line of code.
_UPDATE_MARKS = (".data", "-=", "+=", ".add_(", ".sub_(", ".copy_(", ".mul_(")


def update_line(after: PhaseEvent | None) -> SourceLocation | None:
    """Where a hand-written update most likely is: the first line after the last phase's that
    changes a tensor in place (``p.data.add_(...)``, ``p -= ...``), within a few lines. The
    update itself is seen only at the next phase, which says nothing of where it ran."""
    import linecache

    where = after.location if after is not None else None
    if where is None:
        return None
    for line in range(where.line + 1, where.line + 12):
        text = linecache.getline(where.path, line)
        if any(mark in text for mark in _UPDATE_MARKS) and not text.lstrip().startswith("#"):
            return SourceLocation(where.path, line, where.function)
    return None


def stale_grads(named: list[tuple[str, nn.Parameter]], params: list, used: dict[int, int]) -> list[str]:
    """Which of the parameters a step (or an update by hand) just used had a .grad an earlier
    one used: the same tensor, accumulated in place, not one made anew since. Judged after the
    step, as a closure's zero_grad runs inside it; ``used`` (param id → grad id) is updated."""
    mine = {id(p) for p in params}
    stale = [
        name for name, p in named if id(p) in mine and p.grad is not None and used.get(id(p)) == id(p.grad)
    ]
    used.update((id(p), id(p.grad)) for p in params if p.grad is not None)
    return stale
