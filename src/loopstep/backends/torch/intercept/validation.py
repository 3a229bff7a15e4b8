"""Validation passes: forwards run without grad (no_grad, inference_mode), reported as one
validate phase per pass, with the pass's own mean loss.

A pass ends at the next training phase, or where another begins: its batches come from
another DataLoader (``val_loader`` then ``test_loader``), or the script's split variable
changes (nanoGPT's ``estimate_loss`` evaluates ``for split in ['train', 'val']``). A pass is
named after its loader's variable, or its split, where they can be found. The mean weighs
each batch's loss by its size; losses computed inside the model's forward count too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ....engine.phases import Phase, SourceLocation
from .facts import ForwardFact
from .frames import call_site, is_user_file, site_line, user_location
from .outputs import first_tensor, returned_loss

#: A user variable with one of these names whose value is a string names the split.
SPLIT_NAMES = ("split", "split_name", "phase", "stage", "mode")


@dataclass
class ValidationPass:
    location: SourceLocation | None
    mode: str  # "train" or "eval": the model's mode while the pass ran
    grad_enabled: bool
    model: Any  # the module whose forward opened the pass
    loader: Any = None  # the DataLoader iterator its batches came from, if any
    split: str | None = None
    name: str = ""
    weighted: float = 0.0
    count: int = 0
    forwards: int = 0
    losses: list[float] = field(default_factory=list)
    last_batch: int = 1
    #: Where the pass runs (see ``frames.call_site``): a call from another line is another pass.
    site: tuple = ()
    function: str = ""  # the user function that runs it: "evaluate"
    #: The last batch it ran on (x_val, pred_val, y_val), shown at its pause.
    tensors: dict = field(default_factory=dict)

    def add(self, loss: float) -> None:
        self.weighted += loss * self.last_batch
        self.count += self.last_batch
        self.losses.append(loss)

    @property
    def loss(self) -> float | None:
        return self.weighted / self.count if self.count else None

    @property
    def _unnamed(self) -> str:
        inside = self.function not in ("", "<module>", "main")
        return f"no_grad pass in {self.function}()" if inside else "no_grad pass"

    #: For a pass with no loader or split to name it: its call site's own curve name ("" for
    #: the first such site of a run, "evaluate() from line 20" for the next).
    site_series: str = ""

    @property
    def series(self) -> str:
        """The name of the validation curve this pass belongs to ("" when it has none)."""
        return self.name or self.split or self.site_series

    @property
    def label(self) -> str:
        base = self.name or (self.split and f"split {self.split!r}") or self._unnamed
        what = (
            "no loss: inference"
            if self.count == 0
            else f"{self.forwards} forward{'s' * (self.forwards != 1)}"
        )
        return f"{base} ({what})"


def split_of(frame_skip: int = 3) -> str | None:
    """The value of a split variable in the innermost user frame that has one."""
    frame = sys._getframe(frame_skip)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            local = frame.f_locals
            for name in SPLIT_NAMES:
                value = local.get(name)
                if isinstance(value, str):
                    return value
        frame = frame.f_back
    return None


def loader_name(iterator: Any, loaders: dict[int, Any]) -> str:
    """The variable name of the DataLoader that made ``iterator`` (found in user frames)."""
    loader = loaders.get(id(iterator))
    if loader is None:
        return ""
    frame = sys._getframe(2)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            for scope in (frame.f_locals, frame.f_globals):
                for name, value in scope.items():
                    if value is loader:
                        return name
        frame = frame.f_back
    return ""


class ValidationPhases:
    """The tracker's validation half (mixed into :class:`~.tracker.PhaseTracker`): forwards
    without grad gather into passes, each reported as one validate phase when it ends."""

    def _flush_validation(self) -> None:
        validation, self.validation = self.validation, None
        self.watch.shown_mode = (validation.mode, validation.grad_enabled)
        self.watch.model = validation.model
        shown = {name: t for name, t in validation.tensors.items() if isinstance(t, torch.Tensor)}
        if validation.loss is not None:
            shown["val_loss"] = torch.tensor(validation.loss, dtype=torch.float64)
        self.watch.show_validation(shown)
        self._emit(
            Phase.VALIDATE,
            validation.location,
            loss=validation.loss,
            detail=validation.label,
            series=validation.series,
        )

    def _validation_forward(self, module: nn.Module, output: Any, args: tuple) -> None:
        latest = self._latest() if self._fetched_for_validation else None
        split = split_of()
        function, site = call_site(3)
        current = self.validation
        if current is not None and (
            current.loader is not latest or current.split != split or current.site != site
        ):
            self._flush_validation()
            current = None
        if current is None:
            self.validation = current = ValidationPass(
                user_location(3), "train" if module.training else "eval", torch.is_grad_enabled(), module,
                loader=latest, split=split, name=loader_name(latest, self.loaders) if latest is not None else "",
                site=site, function=function,
            )  # fmt: skip
            if not current.name and not current.split:
                current.site_series = self._site_series(site, function)
        if latest is not None:
            self.counter.validated_from(latest)
        pred = first_tensor(output)
        current.last_batch = int(pred.shape[0]) if pred is not None and pred.dim() else 1
        current.forwards += 1
        current.tensors = {"x_val": first_tensor(args), "pred_val": pred}
        model = self.models.model_of(module)
        self.facts.forward(
            ForwardFact(self.counter.iteration, self.counter.epoch, model.name, module.training, False, True),
            model.module,
        )
        inner, self.inner_loss = self.inner_loss, None
        loss = returned_loss(output, inner)
        if loss is not None:
            current.add(float(loss.detach()))

    def _site_series(self, site: tuple, function: str) -> str:
        """One validation curve per place that runs an unnamed pass: the first is the run's
        "val" curve, any other is named after where it is called from."""
        known = self._unnamed_sites.get(site)
        if known is None:
            line = site_line(site)
            where = f"{function}() from line {line}" if line else f"{function or 'pass'} at line {line}"
            known = self._unnamed_sites[site] = "" if not self._unnamed_sites else where
        return known
