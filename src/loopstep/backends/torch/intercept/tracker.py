"""Turns the calls a script makes (forward, loss, backward, step, zero_grad) into phases.

The hooks in ``hooks.py`` decide *whether* a call counts (right thread, top level, not
inside a DataLoader fetch); this module decides *which phase* it is and numbers it:

- the iteration counts the user's optimizer steps; it advances at the first forward
  after a step, so a zero_grad between a step and the next forward belongs to the
  iteration that stepped (and ends it);
- a forward run with grad disabled is part of a validation pass, reported as one
  validate phase when the pass is over;
- the loss is the first loss function called after a forward, or else the tensor that
  ``.backward()`` is called on.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ....engine.phases import Phase, PhaseEvent, SourceLocation
from ..watch import ModelWatch
from .facts import BackwardFact, ForwardFact, RunFacts
from .frames import is_user_file, user_location


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a model's input or output (a tensor, a tuple, a dict...)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = first_tensor(item)
            if found is not None:
                return found
    return None


class LooseParams(nn.Module):
    """Stands in for a model when an optimizer updates tensors that no module owns."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__()
        self.loose = params


def module_holding(param_id: int) -> nn.Module | None:
    """The outermost module, among the user's variables on the stack, that holds the parameter
    (the model an optimizer was made for, before the script has called it)."""
    frame = sys._getframe(1)
    found: nn.Module | None = None
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
                if isinstance(value, nn.Module) and not isinstance(value, LooseParams):
                    if any(id(p) == param_id for p in value.parameters()):
                        if found is None or any(m is found for m in value.modules()):
                            found = value
        frame = frame.f_back
    return found


def _watch_over_loose(params: list[torch.Tensor]) -> ModelWatch:
    watch = ModelWatch(LooseParams(params))
    watch.named = [(f"param{i}", p) for i, p in enumerate(params)]
    return watch


@dataclass
class _Validation:
    """A validation pass in progress: reported as one phase when it is over."""

    location: SourceLocation | None
    mode: str
    grad_enabled: bool
    watch: ModelWatch
    weighted: float = 0.0
    count: int = 0
    last_batch: int = 1
    #: The last batch it ran on (x_val, pred_val, y_val), shown at its pause.
    tensors: dict = field(default_factory=dict)

    def add(self, loss: float) -> None:
        self.weighted += loss * self.last_batch
        self.count += self.last_batch

    @property
    def loss(self) -> float | None:
        return self.weighted / self.count if self.count else None


@dataclass
class _Fetch:
    """The DataLoader iterator that gave the latest batch."""

    dataset: int
    serial: int
    index: int


@dataclass
class _Epochs:
    train_dataset: int | None = None
    serial: int | None = None
    validated: bool = False
    serials: dict[int, int] = field(default_factory=dict)


class PhaseTracker:
    def __init__(self, stepper, *, detail: bool = True) -> None:
        self.stepper = stepper
        self.detail = detail  # False: never record ops or per-pass grads (text streams show neither)
        self.iteration = 0
        self.epoch = 0
        self.batch = -1
        self.stepped = False  # an optimizer stepped since the last training forward
        self.loss_seen = False  # the loss of the current micro-batch was reported
        self.last_loss: float | None = None
        self.watches: dict[int, ModelWatch] = {}
        self.current: ModelWatch | None = None
        self.empty = ModelWatch(nn.Module())
        self.loss_modules: list[nn.Module] = []
        self.optimizers: list[weakref.ref] = []
        self.validation: _Validation | None = None
        self.fetch: _Fetch | None = None
        self.epochs = _Epochs()
        self.facts = RunFacts()
        self.facts.shown_params = lambda: list(self.shown.named)
        self.steps = 0
        self.on_first_step: Callable[[], None] | None = None
        self.on_new_optimizer: Callable[[torch.optim.Optimizer], None] | None = None
        self.grads_used_by_step = False
        self.lr_override: float | None = None
        self._lr_done: set[int] = set()
        self._recording = None
        self._serial = 0
        self._optimizer_watch: dict[int, tuple[torch.optim.Optimizer, ModelWatch]] = {}
        self._labels: dict[int, tuple[torch.optim.Optimizer, str]] = {}

    @property
    def shown(self) -> ModelWatch:
        return self.current or self.empty

    @property
    def wants_detail(self) -> bool:
        return self.detail and self.stepper.wants_detail

    # ----- reporting ------------------------------------------------------------------------------
    def _emit(self, phase: Phase, location: SourceLocation | None = None, **fields: Any) -> None:
        if self.validation is not None and phase is not Phase.VALIDATE:
            self._flush_validation()
        if phase is not Phase.VALIDATE and self.current is not None:
            self.current.shown_mode = None
        event = PhaseEvent(
            phase,
            self.epoch,
            max(self.batch, 0),
            self.iteration,
            location=location or user_location(),
            **fields,
        )
        self.stepper.at_phase(event)

    def _flush_validation(self) -> None:
        validation, self.validation = self.validation, None
        self.epochs.validated = True
        validation.watch.shown_mode = (validation.mode, validation.grad_enabled)
        shown = {name: t for name, t in validation.tensors.items() if isinstance(t, torch.Tensor)}
        if validation.loss is not None:
            shown["val_loss"] = torch.tensor(validation.loss, dtype=torch.float64)
        validation.watch.show_validation(shown)
        self.current = validation.watch
        self._emit(Phase.VALIDATE, validation.location, loss=validation.loss)

    def finish(self) -> None:
        """The script returned: report a validation pass it ended with."""
        if self.validation is not None:
            self._flush_validation()
        self.facts.finish()

    # ----- models, optimizers, batches -----------------------------------------------------------
    def watch_for(self, model: nn.Module) -> ModelWatch:
        watch = self.watches.get(id(model))
        if watch is None or watch.model is not model:
            watch = ModelWatch(model)
            self.watches[id(model)] = watch
            self.facts.models.append(model)
            self._optimizer_watch.clear()
        return watch

    def _watch_for_optimizer(self, optimizer: torch.optim.Optimizer) -> ModelWatch:
        known = self._optimizer_watch.get(id(optimizer))
        if known is not None and known[0] is optimizer and known[1].model is not None:
            return known[1]
        watch = self._find_watch_for_optimizer(optimizer)
        self._optimizer_watch[id(optimizer)] = (optimizer, watch)
        return watch

    def _find_watch_for_optimizer(self, optimizer: torch.optim.Optimizer) -> ModelWatch:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        first = id(params[0]) if params else None
        for watch in self.watches.values():
            if not isinstance(watch.model, LooseParams) and any(id(p) == first for _, p in watch.named):
                return watch
        owner = module_holding(first) if first is not None else None
        if owner is not None:  # a model not called yet (zero_grad at the top of the loop)
            return self.watch_for(owner)
        key = -id(optimizer)
        watch = self.watches.get(key)
        if watch is None:
            watch = self.watches[key] = _watch_over_loose(params)
        return watch

    def note_optimizer(self, optimizer: torch.optim.Optimizer) -> int:
        """Number the optimizer (1-based, in the order they were made)."""
        for index, ref in enumerate(self.optimizers):
            if ref() is optimizer:
                return index + 1
        self.optimizers.append(weakref.ref(optimizer))
        self.facts.optimizers.append(optimizer)
        if self.on_new_optimizer is not None:
            self.on_new_optimizer(optimizer)
        return len(self.optimizers)

    def _optimizer_label(self, optimizer: torch.optim.Optimizer) -> str:
        known = self._labels.get(id(optimizer))
        if known is not None and known[0] is optimizer:
            return known[1]
        label = self._make_optimizer_label(optimizer)
        self._labels[id(optimizer)] = (optimizer, label)
        return label

    def _make_optimizer_label(self, optimizer: torch.optim.Optimizer) -> str:
        index = self.note_optimizer(optimizer)
        live = sum(1 for ref in self.optimizers if ref() is not None)
        name = type(optimizer).__name__
        return f"optimizer {index} of {live}: {name}" if live > 1 else name

    def note_fetch(self, iterator: Any) -> None:
        serial = getattr(iterator, "_loopstep_serial", None)
        if serial is None:
            self._serial += 1
            serial = self._serial
            try:
                iterator._loopstep_serial = serial
            except AttributeError:
                pass
        index = int(getattr(iterator, "_num_yielded", 1)) - 1
        self.fetch = _Fetch(id(getattr(iterator, "_dataset", iterator)), serial, index)

    def _advance_batch(self) -> None:
        """Epoch and batch of a new training micro-batch."""
        epochs = self.epochs
        fetch = self.fetch
        if fetch is not None and epochs.train_dataset is None:
            epochs.train_dataset = fetch.dataset
        if fetch is not None and fetch.dataset == epochs.train_dataset:
            new_pass = epochs.serial is not None and (
                fetch.serial != epochs.serial or fetch.index <= self.batch
            )
            if new_pass:
                self.epoch += 1
            epochs.serial = fetch.serial
            self.batch = fetch.index
        elif epochs.train_dataset is None and epochs.validated:
            self.epoch += 1
            self.batch = 0
        else:
            self.batch += 1
        epochs.validated = False

    # ----- the phases -------------------------------------------------------------------------------
    def before_forward(self, model: nn.Module, args: tuple) -> bool:
        """A top-level model call is starting. Returns True for a training forward."""
        if not torch.is_grad_enabled():
            return False
        self._phase_starts(Phase.FORWARD)
        if self.stepped:
            self.iteration += 1
            self.stepped = False
        self._advance_batch()
        self.loss_seen = False
        watch = self.watch_for(model)
        watch.new_iteration()
        watch.set_tensor("x", first_tensor(args))
        if self.wants_detail:
            self._recording = watch.recording("forward")
            self._recording.__enter__()
        return True

    def after_forward(self, model: nn.Module, output: Any, training_pass: bool, args: tuple = ()) -> None:
        self._stop_recording()
        watch = self.watch_for(model)
        self.current = watch
        if not training_pass:
            self._validation_forward(model, watch, output)
            self.validation.tensors = {"x_val": first_tensor(args), "pred_val": first_tensor(output)}
            return
        watch.set_tensor("pred", first_tensor(output))
        self.facts.forward(
            ForwardFact(self.iteration, self.epoch, type(model).__name__, model.training, True, False), model
        )
        detail = type(model).__name__ if len(self.watches) > 1 else ""
        self._emit(Phase.FORWARD, detail=detail)

    def _validation_forward(self, model: nn.Module, watch: ModelWatch, output: Any) -> None:
        if self.validation is None:
            self.validation = _Validation(
                user_location(3), "train" if model.training else "eval", torch.is_grad_enabled(), watch
            )
        pred = first_tensor(output)
        self.validation.last_batch = int(pred.shape[0]) if pred is not None and pred.dim() else 1
        self.facts.forward(
            ForwardFact(self.iteration, self.epoch, type(model).__name__, model.training, False, True), model
        )

    def abort_call(self) -> None:
        """A forward or loss call raised: close what its start opened."""
        self._stop_recording()

    def _stop_recording(self) -> None:
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.__exit__(None, None, None)

    def before_loss(self) -> None:
        if self.validation is None:
            self.stepper.entering(Phase.LOSS)
        if self.validation is None and not self.loss_seen and self.current is not None and self.wants_detail:
            self._recording = self.current.recording("loss")
            self._recording.__enter__()

    def after_loss(self, label: str, args: tuple, output: Any) -> None:
        self._stop_recording()
        if not isinstance(output, torch.Tensor) or output.numel() != 1:
            return
        if self.validation is not None:
            self.validation.add(float(output.detach()))
            if len(args) > 1 and isinstance(args[1], torch.Tensor):
                self.validation.tensors["y_val"] = args[1]
            return
        if self.loss_seen or not output.requires_grad:
            return
        target = args[1] if len(args) > 1 and isinstance(args[1], torch.Tensor) else None
        self._report_loss(output, target, label)

    def _report_loss(self, loss: torch.Tensor, target: torch.Tensor | None, label: str) -> None:
        watch = self.shown
        watch.set_tensor("loss", loss)
        if target is not None:
            watch.set_tensor("y", target)
        watch.keep_graph(loss)
        self.loss_seen = True
        self.last_loss = float(loss.detach()) if loss.numel() == 1 else None
        self._emit(Phase.LOSS, loss=self.last_loss, detail=label)

    def _phase_starts(self, phase: Phase) -> None:
        """A phase is about to run: a validation pass before it is over (reported now, while
        .grad and the parameters are still as the pass left them)."""
        if self.validation is not None:
            self._flush_validation()
        self.stepper.entering(phase)

    def backward(self, tensor: torch.Tensor, run: Callable[[], Any]) -> Any:
        self._phase_starts(Phase.BACKWARD)
        if not self.loss_seen:
            self._report_loss(tensor, None, "")
        self.facts.backward(BackwardFact(self.iteration, self.epoch, self.grads_used_by_step))
        watch = self.current
        if watch is not None and self.wants_detail:
            with watch.capturing_grads():
                result = run()
        else:
            result = run()
        self._emit(Phase.BACKWARD, loss=self.last_loss)
        return result

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        self._phase_starts(Phase.STEP)
        if self.lr_override is not None and id(optimizer) not in self._lr_done:
            self.before_step_lr(optimizer)
        if self.wants_detail:
            self._watch_for_optimizer(optimizer).remember_before_step()

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        watch = self._watch_for_optimizer(optimizer)
        watch.mark_stepped()
        self.current = watch
        self.stepped = True
        self.grads_used_by_step = True
        self.steps += 1
        if self.steps == 1 and self.on_first_step is not None:
            self.on_first_step()
        self._emit(Phase.STEP, loss=self.last_loss, detail=self._optimizer_label(optimizer))

    def zero_grad(self, owner: Any, run: Callable[[], Any]) -> Any:
        self._phase_starts(Phase.ZERO_GRAD)
        # The pause shows what was zeroed: the model, or the optimizer's parameters.
        if isinstance(owner, torch.optim.Optimizer):
            self.current = self._watch_for_optimizer(owner)
        elif isinstance(owner, nn.Module) and any(True for _ in owner.parameters()):
            self.current = self.watch_for(owner)
        skipped = not self.stepper.zero_grad_on
        result = None if skipped else run()
        if not skipped:
            self.grads_used_by_step = False
        if isinstance(owner, torch.optim.Optimizer):
            label = self._optimizer_label(owner)
        else:
            label = f"{type(owner).__name__}.zero_grad"
        self._emit(
            Phase.ZERO_GRAD,
            skipped=skipped,
            loss=self.last_loss,
            detail=label,
            ends_iteration=self.stepped,
        )
        return result

    # ----- settings -----------------------------------------------------------------------------------
    def current_lr(self) -> float | None:
        for ref in self.optimizers:
            optimizer = ref()
            if optimizer is not None and optimizer.param_groups:
                return float(optimizer.param_groups[0]["lr"])
        return None

    def set_lr(self, lr: float) -> None:
        """Use this learning rate from now on, in every optimizer (also ones made later)."""
        self.lr_override = lr
        self._lr_done = set()
        for ref in self.optimizers:
            optimizer = ref()
            if optimizer is not None:
                self.before_step_lr(optimizer)

    def before_step_lr(self, optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:
            group["lr"] = self.lr_override
        self._lr_done.add(id(optimizer))
