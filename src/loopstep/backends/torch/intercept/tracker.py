"""Turns the calls a script makes into phases, as the script does them.

The hooks in ``hooks.py`` decide *whether* a call counts (right thread, top level, not inside
a DataLoader fetch); this module decides *which phase* it is, which models and optimizers it
touched, and numbers it (:mod:`.counting`). Every phase shows every model the script trains
(:class:`~..watch.RunWatch`), named after the script's own variables (:mod:`.models`).

- **forward**: a top-level call of a module that has parameters, with grad enabled; a loss
  computed inside it (``logits, loss = model(x, y)``) is reported as the loss phase right after.
- **loss**: the first loss module or functional loss after a forward, else the tensor that
  ``.backward()`` is called on; the loss the user computed, before any ``/ k``.
- **backward**, **clip**, **step**, **zero_grad**: the calls themselves; an optimizer's closure
  (LBFGS) runs its phases inside the step, marked so.
- **update**: the parameters changed outside any optimizer, found at the next forward.
- **validate**: forwards without grad, one phase per pass (:mod:`.validation`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ....engine.phases import Phase, PhaseEvent, SourceLocation
from ..watch import RunWatch
from .batches import LoaderNotes
from .counting import Counter, epoch_variable
from .distributed_data import LoaderChecks
from .facts import BackwardFact, ForwardFact, RunFacts
from .frames import assigned_name, framework_location, user_location
from .models import RunModels, unwrap_optimizer
from .optimizer_settings import OptimizerSettings
from .outputs import first_tensor, returned_loss
from .positions import position
from .updates import UpdateWatch, stale_grads, update_line
from .validation import ValidationPass, ValidationPhases


class PhaseTracker(ValidationPhases, OptimizerSettings, LoaderNotes):
    def __init__(self, stepper, *, detail: bool = True) -> None:
        self.stepper = stepper
        self.detail = detail  # False: never record ops or per-pass grads (text streams show neither)
        self.models = RunModels()
        self.watch = RunWatch(self.models)
        self.counter = Counter()
        self.facts = RunFacts()
        self.loader_checks = LoaderChecks()
        self.updates = UpdateWatch()
        self.validation: ValidationPass | None = None
        self.in_step: list[str] = []  # optimizers stepping now (a closure runs inside)
        self.loss_seen = False  # the loss of the current batch was reported
        self.last_loss: float | None = None
        self.loss_tensor: torch.Tensor | None = None
        self.forward_output: Any = None
        self.forward_name = ""
        self.inner_loss: torch.Tensor | None = None  # computed inside the forward in progress
        self._unnamed_sites: dict[tuple, str] = {}
        self._update_copied = False
        self._forward_in_step = False  # the current step(closure) ran a forward already
        self._stale_hooks: list = []  # of a recording abandoned inside torch's hook loop
        self.training_forward_since_step = False
        self.step_losses: dict[int, float] = {}  # id(optimizer) -> what its next step descends
        self.manual_loss = 0.0
        #: Parameters whose .grad a step used and no zero_grad cleared since: id -> id of that .grad.
        self.used_by_step: dict[int, int] = {}
        #: At the step just run: the parameters it found in ``used_by_step`` (names).
        self.stale_at_step: list[str] = []
        self.lr_override: float | None = None
        self._lr_done: set[int] = set()
        self._recording = None
        self._copied = False  # the step in progress copied its parameters first (for Δ)
        self._closure_loss: float | None = None
        self._latest_iterator: weakref.ref | None = None
        self._fetched_for_validation = False
        #: DataLoader iterator -> its DataLoader (weak both ways), to name validation passes.
        self.loaders: dict[int, Any] = {}
        self.on_new_optimizer: Callable[[torch.optim.Optimizer], None] | None = None
        #: Where a phase reported after the fact ran (:meth:`report_late`): the user's line,
        #: a framework's, the model's mode with grad on or off, and the lr in force.
        self._late_location: tuple | None = None
        self.lr_then: float | None = None

    @property
    def wants_detail(self) -> bool:
        return self.detail and self.stepper.wants_detail

    # ----- reporting ------------------------------------------------------------------------------
    def _emit(self, phase: Phase, location: SourceLocation | None = None, **fields: Any) -> None:
        if self.validation is not None and phase is not Phase.VALIDATE:
            self._flush_validation()
        late = self._late_location
        if phase is not Phase.VALIDATE:
            self.watch.shown_mode = None if late is None else late[2]  # the mode it ran in
        if phase is not Phase.STEP and phase is not Phase.UPDATE:
            self.watch.moved = None
        if self.in_step and phase is not Phase.STEP:
            fields.setdefault("inside", f"{self.in_step[-1]}.step closure")
        counter = self.counter
        if late is not None:
            where, framework = late[0], late[1]
        else:
            where = location or user_location(3)
            framework = framework_location(3, where)
        event = PhaseEvent(
            phase,
            counter.epoch,
            max(counter.batch, 0),
            counter.iteration,
            location=where,
            framework=framework,
            **fields,
        )
        self.stepper.at_phase(event)

    def _phase_starts(self, phase: Phase) -> None:
        """A phase is about to run: a validation pass before it is over (reported now, while
        .grad and the parameters are still as the pass left them), and so is a hand-written
        update since the last backward (before a zero_grad at the top of the loop)."""
        if self.validation is not None:
            self._flush_validation()
        if (phase is Phase.ZERO_GRAD or phase is Phase.FORWARD) and not self.in_step:
            self._update_by_hand()
        self.stepper.entering(phase)

    def report_late(self, where: tuple, report: Callable[[], None]) -> None:
        """Report a phase that ran asleep as it ran (``where``, seen then): the script has returned."""
        self._late_location = where
        self.lr_then = where[3]  # read at the end too: a scheduler may have changed it since
        try:
            report()
        finally:
            self._late_location = None

    def finish(self) -> None:
        """The script returned: report a validation pass or a hand-written update it ended with."""
        if self.validation is not None:
            self._flush_validation()
        self._update_by_hand()
        self.facts.finish()

    def close(self) -> None:
        """The run is over, however it ended: nothing of a recording stays installed."""
        recording, self._recording = self._recording, None
        if recording is not None:
            self._stale_hooks.extend(recording.abandon())
        self._remove_stale_hooks()

    # ----- forward and loss ---------------------------------------------------------------------------
    def before_forward(self, module: nn.Module, args: tuple) -> bool:
        """A top-level model call is starting. Returns True for a training forward."""
        if not torch.is_grad_enabled():
            if self.validation is None and not self.in_step:
                self._update_by_hand()  # made before the evaluation that follows it
            return False
        self._phase_starts(Phase.FORWARD)
        model = self.models.model_of(module)
        self.watch.model = model.module
        # Inside step(closure) only the closure's first forward may start a batch: LBFGS
        # evaluates it again on the same batch; Lightning runs a micro-batch's closure there.
        if not self.in_step or not self._forward_in_step:
            self._forward_in_step = bool(self.in_step)
            if self.counter.training_forward(position(3), epoch_variable()):
                self.loader_checks.training_batch(self._latest(), self.counter.iteration)
                self.facts.new_batch()
                self.watch.new_batch()
                self.stepper.entering(Phase.FORWARD, (self.counter.epoch, self.counter.iteration))
            self.training_forward_since_step = True
        self.loss_seen = False  # each forward's first loss is a loss phase (a GAN has several)
        self._fetched_for_validation = False
        self.inner_loss = None
        self.watch.set_tensor("x", first_tensor(args))
        if self.wants_detail and not hasattr(module, "_orig_mod"):  # a compiled model's ops stay inside it
            self._recording = self.watch.recording("forward", model.module)
            self._recording.__enter__()
        return True

    def after_forward(self, module: nn.Module, output: Any, training_pass: bool, args: tuple = ()) -> None:
        self._stop_recording()
        if not training_pass:
            self._validation_forward(module, output, args)
            return
        model = self.models.model_of(module)
        self.forward_output = output  # for the prompt: the value the paused line is assigning
        self.forward_name = model.name
        self.watch.set_tensor("pred", first_tensor(output))
        self.facts.forward(
            ForwardFact(self.counter.iteration, self.counter.epoch, model.name, module.training, True, False,
                        output=first_tensor(output), location=user_location(3)),
            model.module,
        )  # fmt: skip
        detail = model.label if len(self.models.models) > 1 else ""
        self._emit(Phase.FORWARD, detail=detail)
        inner, self.inner_loss = self.inner_loss, None
        loss = returned_loss(output, inner)
        if loss is not None and not self.loss_seen:
            # A model that went on from its loss function's result scaled it itself
            # (transformers divides a summed cross-entropy by the window's tokens).
            how = f"inside {type(module).__name__}.forward" + (
                ", rescaled there" if loss is not inner else ""
            )
            self._report_loss(loss, None, how)

    def inner_loss_computed(self, output: Any) -> None:
        """A loss function ran inside a forward (nanoGPT's, a transformers model's)."""
        if isinstance(output, torch.Tensor) and output.numel() == 1 and self.inner_loss is None:
            self.inner_loss = output

    def abort_call(self) -> None:
        """A forward or loss call raised: close what its start opened (the hooks it added are
        removed at the next call: torch is iterating over them now)."""
        recording, self._recording = self._recording, None
        if recording is not None:
            self._stale_hooks.extend(recording.abandon())

    def _remove_stale_hooks(self) -> None:
        while self._stale_hooks:
            self._stale_hooks.pop().remove()

    def _stop_recording(self) -> None:
        self._remove_stale_hooks()
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.__exit__(None, None, None)

    def before_loss(self) -> None:
        if self.validation is None:
            self.stepper.entering(Phase.LOSS)
        if (
            self.validation is None
            and not self.loss_seen
            and self.wants_detail
            and self.watch.model is not None
        ):
            self._recording = self.watch.recording("loss")
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

    def report_loss(self, loss: torch.Tensor, where: SourceLocation | None = None, label: str = "") -> None:
        """The loss phase of a tensor about to be backpropagated (the interceptor just woke),
        computed at ``where`` (None: the line calling backward) by ``label`` (``MSELoss``)."""
        self._phase_starts(Phase.LOSS)
        self._report_loss(loss, None, label, where)

    def _report_loss(
        self, loss: torch.Tensor, target: torch.Tensor | None, label: str, where: SourceLocation | None = None
    ) -> None:
        self.watch.set_tensor("loss", loss)
        if target is not None:
            self.watch.set_tensor("y", target)
        self.loss_seen = True
        self.loss_tensor = loss
        self.last_loss = float(loss.detach()) if loss.numel() == 1 else None
        where = where or user_location(2)
        name = assigned_name(where)
        if name:
            label = f"{name} ({label})" if label else name
        self._emit(Phase.LOSS, where, loss=self.last_loss, detail=label)

    # ----- backward, clip, step, update, zero_grad -----------------------------------------------------
    def backward(self, tensor: torch.Tensor, run: Callable[[], Any]) -> Any:
        self._phase_starts(Phase.BACKWARD)
        if not self.loss_seen:
            self._report_loss(tensor, None, "")
        value = float(tensor.detach()) if tensor.numel() == 1 else None
        scaled = (
            value
            if value is not None and tensor is not self.loss_tensor and value != self.last_loss
            else None
        )
        self.facts.backward(
            BackwardFact(self.counter.iteration, self.counter.epoch, self.facts.grads_stepped), tensor
        )
        self.watch.keep_graph(tensor)
        detail = self.wants_detail
        before = self.watch.before_backward(detail=detail)
        result = run()
        reached = self.watch.after_backward(before, detail=detail)
        self.updates.after_backward(self.watch.named)
        # No optimizer to step them: what the hand-written update starts from, for its Δ.
        self._update_copied = self.wants_detail and not self.updates.optimizer_seen
        if self._update_copied:
            self.watch.remember_before_step([p for _, p in self.watch.named])
        self.counter.backward(position(3))
        if value is not None:
            self._add_step_loss(value, reached)
            if self.in_step and self._closure_loss is None:
                self._closure_loss = value  # what step(closure) returns: the first evaluation
        self._emit(Phase.BACKWARD, loss=self.last_loss, backpropagated=scaled)
        return result

    def _add_step_loss(self, value: float, reached: list[torch.Tensor]) -> None:
        """A backward's value counts towards the next step of each optimizer it sent grads to."""
        ids = {id(p) for p in reached}
        for optimizer in self.models.live_optimizers():
            if any(id(p) in ids for group in optimizer.param_groups for p in group["params"]):
                self.step_losses[id(optimizer)] = self.step_losses.get(id(optimizer), 0.0) + value
        self.manual_loss += value

    def clip(self, kind: str, run: Callable[[], Any], describe: Callable[[Any], str]) -> Any:
        self._phase_starts(Phase.CLIP)
        result = run()
        self._emit(Phase.CLIP, loss=self.last_loss, detail=describe(result) if kind else "")
        return result

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        self._phase_starts(Phase.STEP)
        self.counter.step_starts(id(optimizer))
        if self.lr_override is not None and id(optimizer) not in self._lr_done:
            self.before_step_lr(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.models.cover(params)
        if self.wants_detail:
            self.watch.remember_before_step(params)
        self._copied = self.wants_detail
        self._closure_loss = None
        self.in_step.append(type(optimizer).__name__)
        self._forward_in_step = False

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.in_step:
            self.in_step.pop()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.watch.stepped(params, copied=self._copied)
        self._judge_stale(params)
        self.counter.stepped_now(id(optimizer))
        self.updates.stepped()
        self.facts.grads_stepped = True
        self.training_forward_since_step = False
        loss = self.step_losses.pop(id(optimizer), None)
        if self._closure_loss is not None:
            loss, self._closure_loss = self._closure_loss, None
        self._emit(
            Phase.STEP,
            loss=loss if loss is not None else self.last_loss,
            detail=self.models.optimizer_label(optimizer),
            series=self.models.optimizer_series(optimizer),
        )

    def _judge_stale(self, params: list) -> None:
        self.stale_at_step = stale_grads(self.watch.named, params, self.used_by_step)

    def _update_by_hand(self) -> None:
        changed = self.updates.changed()
        if not changed:
            return
        self.watch.stepped(changed, copied=self._update_copied)
        self._judge_stale(changed)
        self.counter.stepped_now("by hand")
        self.facts.grads_stepped = True
        self.training_forward_since_step = False
        loss, self.manual_loss = self.manual_loss, 0.0
        where = update_line(self.stepper.last_event)
        moved = len(changed)
        detail = f"{moved} parameter{'s' * (moved != 1)} changed outside any optimizer"
        self._emit(Phase.UPDATE, location=where, loss=loss, detail=detail)

    def zero_grad(self, owner: Any, run: Callable[[], Any]) -> Any:
        self._phase_starts(Phase.ZERO_GRAD)
        skipped = not self.stepper.zero_grad_on
        owner = unwrap_optimizer(owner)
        if isinstance(owner, torch.optim.Optimizer):
            params = [p for group in owner.param_groups for p in group["params"]]
            label = self.models.optimizer_label(owner)
        else:
            params = list(owner.parameters()) if isinstance(owner, nn.Module) else []
            label = f"{self.models.name_of_module(owner, params)}.zero_grad()"
        if isinstance(owner, torch.optim.Optimizer):
            self.models.cover(params)
        result = None if skipped else run()
        if not skipped:
            self.watch.cleared(params)
            for param in params:
                self.used_by_step.pop(id(param), None)
            self.facts.grads_stepped = False
            ids = {id(p) for p in params}
            for optimizer in self.models.live_optimizers():
                if any(id(p) in ids for group in optimizer.param_groups for p in group["params"]):
                    self.step_losses.pop(id(optimizer), None)
            self.manual_loss = 0.0
        self._emit(
            Phase.ZERO_GRAD,
            skipped=skipped,
            loss=self.last_loss,
            detail=label,
            ends_iteration=self.counter.stepped and not self.training_forward_since_step and not self.in_step,
        )
        return result
