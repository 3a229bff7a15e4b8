"""The NumPy backend shows what it actually did, at the phase it did it.

Each test drives the engine directly and pauses at every phase. The numbers on screen are
checked against the arithmetic they claim (the trace's formulas), and the mode in the status
line against the mode the phase ran in — on both backends where both can answer.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest

from loopstep.backends.numpy_backend import NumpyLinReg
from loopstep.engine import Command, Phase, Stepper
from loopstep.engine.probes import probe_of
from loopstep.engine.snapshot import Snapshot
from loopstep.scenarios import build


def run(backend: str = "numpy", *, pauses: int = 60, act=None, **build_kw) -> tuple[list[Snapshot], Stepper]:
    """Pause at every phase for ``pauses`` pauses; ``act(stepper, snap)`` may change settings."""
    snaps: list[Snapshot] = []

    def controller(snap: Snapshot, why: str) -> Command:
        if snap.event is not None:
            snaps.append(snap)
            if act is not None:
                act(stepper, snap)
        return Command.STEP if len(snaps) < pauses else Command.QUIT

    stepper = Stepper(build("linreg", backend, **build_kw), controller=controller)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return snaps, stepper


# ----- the mode each phase ran in ---------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_validate_pause_shows_eval_and_no_grad_and_training_phases_train_and_grad(backend):
    snaps, _ = run(backend, pauses=80)  # 8 batches per epoch: validate is the 41st pause
    validate = [s for s in snaps if s.event.phase is Phase.VALIDATE]
    assert validate, "the run reached no validate pause"
    for snap in validate:
        assert (snap.model_mode, snap.grad_enabled) == ("eval", False)
    training = [s for s in snaps if s.event.phase is not Phase.VALIDATE]
    assert {(s.model_mode, s.grad_enabled) for s in training} == {("train", True)}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_forward_facts_tell_how_the_last_forward_ran(backend):
    facts: dict[Phase, set] = {}

    def look(stepper: Stepper, snap: Snapshot) -> None:
        answer = probe_of(stepper.source).forward_facts()
        facts.setdefault(snap.event.phase, set()).add(answer.training)

    run(backend, pauses=50, act=look)
    assert facts[Phase.VALIDATE] == {False}  # the validate forward ran in eval mode
    assert facts[Phase.FORWARD] == facts[Phase.STEP] == {True}


def test_numpy_forward_facts_are_none_before_any_forward():
    """As torch's: nothing has run forward yet, so there is nothing to tell."""
    assert NumpyLinReg(-0.5, 0.0, 0.1).probe.forward_facts() is None


# ----- reading the formulas back ----------------------------------------------------------------
NUMBER = r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan)"
STEP_LINE = re.compile(
    rf"^(?P<p>[wb]) ← (?P=p) − lr·(?P=p)\.grad = (?P<before>{NUMBER}) − (?P<lr>{NUMBER})·"
    rf"\(?(?P<grad>{NUMBER})\)? = (?P<after>{NUMBER})(?:   \(\.grad: sum of (?P<k>\d+) passes\))?$"
)
SUM_LINE = re.compile(
    rf"^(?P<p>[wb])\.grad = (?P=p)\.grad \+ dL/d(?P=p) = (?P<held>{NUMBER}) \+ \(?(?P<part>{NUMBER})\)?"
    rf" = (?P<sum>{NUMBER})   \(sum of (?P<k>\d+) passes\)$"
)
FORWARD_LINE = re.compile(rf"^pred  = w·x \+ b +w = (?P<w>{NUMBER}), b = (?P<b>{NUMBER})$")
LOSS_LINE = re.compile(rf"^L +\= mean\(\(pred − y\)²\) += (?P<L>{NUMBER})$")
GRAD_LINE = re.compile(rf"^dL/d(?P<p>[wb]) = .* = (?P<g>{NUMBER})$")
VAL_LINE = re.compile(rf"^val L = .* = (?P<L>{NUMBER})   w = (?P<w>{NUMBER}), b = (?P<b>{NUMBER})$")


def half_ulp(text: str) -> float:
    """Half a unit in the last printed digit: how far the printed number may be from the true one
    ("0" is printed only for an exact zero)."""
    if text == "0":
        return 0.0
    return 0.5 * 10.0 ** Decimal(text).as_tuple().exponent


def near(text: str, value: float, slack: float = 1e-12) -> bool:
    """The printed ``text`` is ``value`` rounded to the digits shown."""
    return abs(float(text) - value) <= half_ulp(text) * (1 + 1e-9) + slack * max(1.0, abs(value))


def lines(snap: Snapshot, pattern: re.Pattern) -> list[re.Match]:
    return [m for m in map(pattern.match, snap.trace.formulas) if m is not None]


def value(snap: Snapshot, name: str, what: str = "value") -> float | None:
    summary = getattr(snap.param(name), what)
    return None if summary is None else float(summary.preview[0])


def check_step_arithmetic(m: re.Match) -> None:
    """``before − lr·grad = after`` with the numbers as printed, within their rounding."""
    before, lr, grad, after = (float(m[k]) for k in ("before", "lr", "grad", "after"))
    slack = (
        half_ulp(m["before"])
        + lr * half_ulp(m["grad"])
        + abs(grad) * half_ulp(m["lr"])
        + half_ulp(m["after"])
    )
    assert abs(before - lr * grad - after) <= slack * (1 + 1e-9), m.string


def by_iteration(snaps: list[Snapshot]) -> dict[tuple[int, Phase], Snapshot]:
    return {(s.event.iteration, s.event.phase): s for s in snaps}


def set_lr_at_second_step(stepper: Stepper, snap: Snapshot) -> None:
    if (snap.event.iteration, snap.event.phase) == (1, Phase.STEP):
        stepper.change_settings(lr=0.05)


CASES = {
    "zero_grad on": ({}, None),
    "zero_grad off": ({"zero_grad": False}, None),
    "lr changed after the step": ({}, set_lr_at_second_step),
}


# ----- the step line ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_the_step_line_is_arithmetic_that_checks_out_at_every_phase(case):
    settings, act = CASES[case]

    def setup(stepper: Stepper, snap: Snapshot) -> None:
        if snap.event.iteration == 0 and snap.event.phase is Phase.FORWARD and settings:
            stepper.change_settings(**settings)
        if act is not None:
            act(stepper, snap)

    snaps, _ = run(pauses=25, act=setup)  # five iterations, a pause at each phase
    at = by_iteration(snaps)
    checked = 0
    for snap in snaps:
        steps = lines(snap, STEP_LINE)
        it, phase = snap.event.iteration, snap.event.phase
        if phase in (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD):
            assert steps == [], f"iteration {it} {phase.value}: a step line before the step ran"
            continue
        assert [m["p"] for m in steps] == ["w", "b"], snap.trace.formulas
        step = at[(it, Phase.STEP)]
        for m in steps:
            check_step_arithmetic(m)
            name = m["p"]
            assert near(m["before"], value(at[(it, Phase.BACKWARD)], name)), m.string
            assert near(m["grad"], value(step, name, "grad")), m.string  # the .grad the step used
            assert near(m["after"], value(step, name)), m.string
            assert float(m["lr"]) == (0.05 if case.startswith("lr") and it >= 2 else 0.1), m.string
            passes = it + 1 if case == "zero_grad off" else 1
            assert m["k"] == (str(passes) if passes > 1 else None), m.string
            checked += 1
    assert checked == 5 * 2 * 2  # w and b, at step and zero_grad, of five iterations


def test_after_zero_grad_the_step_line_still_shows_the_grad_the_step_used():
    snaps, _ = run(pauses=10)
    at = by_iteration(snaps)
    for it in (0, 1):
        zeroed = at[(it, Phase.ZERO_GRAD)]
        assert value(zeroed, "w", "grad") == 0.0
        assert [m.string for m in lines(zeroed, STEP_LINE)] == [
            m.string for m in lines(at[(it, Phase.STEP)], STEP_LINE)
        ]
        grads = [float(m["grad"]) for m in lines(zeroed, STEP_LINE)]
        assert all(g != 0 for g in grads), zeroed.trace.formulas
        assert "w.grad, b.grad ← 0                (zero_grad)" in zeroed.trace.formulas
    assert "w.grad, b.grad ← 0                (zero_grad)" not in at[(1, Phase.STEP)].trace.formulas


def test_a_late_step_shows_digits_enough_to_see_w_move():
    snaps, _ = run(pauses=60 * 5)
    late = [s for s in snaps if s.event.phase is Phase.STEP and s.event.iteration >= 40]
    assert late
    for snap in late:
        for m in lines(snap, STEP_LINE):
            check_step_arithmetic(m)
            if float(m["grad"]) != 0:
                assert m["before"] != m["after"], m.string


# ----- forward, loss and gradient lines ---------------------------------------------------------
@pytest.mark.parametrize("zero_grad", [True, False])
def test_each_line_shows_the_numbers_of_its_own_phase_of_this_iteration(zero_grad):
    def setup(stepper: Stepper, snap: Snapshot) -> None:
        if not zero_grad and snap.event.iteration == 0 and snap.event.phase is Phase.FORWARD:
            stepper.change_settings(zero_grad=False)

    snaps, _ = run(pauses=20, act=setup)
    at = by_iteration(snaps)
    for snap in snaps:
        it, phase = snap.event.iteration, snap.event.phase
        forward = at[(it, Phase.FORWARD)]
        (fwd,) = lines(snap, FORWARD_LINE)
        # The w and b the forward used, not the ones the step made since.
        assert near(fwd["w"], value(forward, "w")) and near(fwd["b"], value(forward, "b")), (
            snap.trace.formulas
        )
        loss = lines(snap, LOSS_LINE)
        grads = lines(snap, GRAD_LINE)
        if phase is Phase.FORWARD:
            assert loss == [] and grads == [], f"iteration {it}: lines of phases that have not run"
            continue
        assert near(loss[0]["L"], snap.event.loss)
        if phase is Phase.LOSS:
            assert grads == [], f"iteration {it}: gradient lines before backward ran"
            continue
        backward = at[(it, Phase.BACKWARD)]
        assert [m["p"] for m in grads] == ["w", "b"]
        for m in grads:
            assert near(m["g"], value(backward, m["p"], "batch_grad")), m.string


def test_without_zero_grad_the_sum_of_passes_is_shown_and_adds_up():
    snaps, _ = run(pauses=20, act=lambda st, s: st.change_settings(zero_grad=False))
    backward = [s for s in snaps if s.event.phase is Phase.BACKWARD]
    for snap in backward:
        k = snap.event.iteration + 1
        sums = lines(snap, SUM_LINE)
        if k == 1:
            assert sums == []
            continue
        assert [m["p"] for m in sums] == ["w", "b"] and {m["k"] for m in sums} == {str(k)}
        for m in sums:
            held, part, total = (float(m[n]) for n in ("held", "part", "sum"))
            assert abs(held + part - total) <= half_ulp(m["held"]) + half_ulp(m["part"]) + half_ulp(m["sum"])
            assert near(m["sum"], value(snap, m["p"], "grad"))


def test_validate_line_shows_the_parameters_it_ran_with():
    snaps, _ = run(pauses=41)
    snap = snaps[-1]
    assert snap.event.phase is Phase.VALIDATE
    (m,) = lines(snap, VAL_LINE)
    assert near(m["L"], snap.event.loss)
    assert near(m["w"], value(snap, "w")) and near(m["b"], value(snap, "b"))
    assert all(not VAL_LINE.match(f) for s in snaps[:-1] for f in s.trace.formulas)


def test_stepping_back_without_zero_grad_counts_the_passes_the_checkpoint_held():
    commands = iter([Command.STEP] * 14 + [(Command.BACK, 1)] + [Command.QUIT])
    snaps: list[Snapshot] = []

    def controller(snap: Snapshot, why: str):
        if snap.event is not None:
            snaps.append(snap)
        return next(commands)

    stepper = Stepper(build("linreg", "numpy"), controller=controller, history=8)
    stepper.change_settings(zero_grad=False)
    stepper.run()
    assert stepper.error is None
    again = snaps[-1]  # iteration 2's backward, replayed from the checkpoint at its start
    assert (again.event.iteration, again.event.phase) == (2, Phase.BACKWARD)
    assert [m.string for m in lines(again, SUM_LINE)] == [m.string for m in lines(snaps[12], SUM_LINE)]
    assert {m["k"] for m in lines(again, SUM_LINE)} == {"3"}


# ----- both backends, pause by pause ------------------------------------------------------------
def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(
        np.allclose(np.asarray(a.preview, dtype=float), np.asarray(b.preview, dtype=float), atol=1e-9)
    )


def leaves(snap: Snapshot) -> list:
    graph = snap.trace.graph
    return (
        [] if graph is None else sorted(float(n.grad.preview[0]) for n in graph.walk() if n.param is not None)
    )


def test_numpy_and_torch_show_the_same_thing_at_every_pause():
    """Through an epoch, its validate and into the next: what each pause shows agrees.

    The one difference is the lesson's: its zero_grad writes zeros where torch's sets None.
    The probe is asked too: the last step's update ratio, and whether the last forward trained.
    """
    seen: dict[str, list[tuple[Snapshot, float | None, bool | None]]] = {"numpy": [], "torch": []}

    def ask(backend: str):
        def look(stepper: Stepper, snap: Snapshot) -> None:
            probe = probe_of(stepper.source)
            probe.watch_updates(True)  # torch measures updates only while watched
            facts = probe.forward_facts()
            seen[backend].append((snap, probe.update_ratio(), None if facts is None else facts.training))

        return look

    run("numpy", pauses=50, act=ask("numpy"))
    run("torch", pauses=50, act=ask("torch"))
    assert len(seen["numpy"]) == len(seen["torch"]) == 50
    for (a, ratio_a, train_a), (b, ratio_b, train_b) in zip(seen["numpy"], seen["torch"]):
        where = f"iteration {a.event.iteration} {a.event.phase.value}"
        assert (a.event.phase, a.event.iteration) == (b.event.phase, b.event.iteration)
        assert (a.model_mode, a.grad_enabled) == (b.model_mode, b.grad_enabled), where
        for p, q in zip(a.params, b.params):
            assert close(p.value, q.value), where
            assert close(p.batch_grad, q.batch_grad), f"{where}: {p.name} batch_grad"
            assert close(p.change, q.change), f"{where}: {p.name} change"
            if q.grad is not None:
                assert close(p.grad, q.grad), where
        assert (a.trace.graph is None) == (b.trace.graph is None), f"{where}: graph"
        np.testing.assert_allclose(leaves(a), leaves(b), atol=1e-9, err_msg=where)
        assert a.tensors.keys() == b.tensors.keys(), where
        for name in a.tensors:
            assert close(a.tensors[name], b.tensors[name]), f"{where}: {name}"
        assert (ratio_a is None) == (ratio_b is None), f"{where}: update_ratio {ratio_a} vs {ratio_b}"
        if ratio_a is not None:
            assert abs(ratio_a - ratio_b) <= 1e-9 * max(1.0, ratio_b), where
        assert train_a == train_b, f"{where}: forward_facts"
