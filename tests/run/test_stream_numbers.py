"""The printed stream's numbers are the model's at each phase, whatever changed them.

The stream reads a small model's tensors through views kept from phase to phase and gives
a summary again while its numbers are unchanged; these scripts change parameters in the
ways that a version counter or a cached copy would miss: WGAN's ``p.data.clamp_`` after
each step, an update through ``.data``, a storage swapped by ``p.data = ...``, a sign flip
that keeps a bias's norm. Each script writes what it holds after every call that is a phase;
the stream must print the same norms and the same small values, phase by phase.
"""

from __future__ import annotations

import json
import math
import textwrap

from loopstep import cli

SCRIPT = """
    import json, sys
    import torch
    from torch import nn

    torch.manual_seed(0)
    out = open(sys.argv[1], "w")
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    x, y = torch.randn(24, 6), torch.randn(24, 3)

    def seen():
        state = {}
        for name, p in model.named_parameters():
            state[name] = torch.linalg.vector_norm(p.detach().double()).item()
            g = p.grad
            state[name + ".grad"] = None if g is None else torch.linalg.vector_norm(g.double()).item()
            small = {name: p.detach(), name + ".grad": g}
            for key, t in small.items():
                if t is not None and t.numel() <= 64:
                    state[key + "=values"] = t.double().reshape(-1).tolist()
        out.write(json.dumps(state) + "\\n")

    for it in range(6):
        optimizer.zero_grad()
        seen()
        pred = model(x)
        seen()
        loss = loss_fn(pred, y)
        seen()
        loss.backward()
        seen()
        optimizer.step()
        seen()
        for p in model.parameters():  # WGAN's weight clipping: in place, through .data
            p.data.clamp_(-0.2, 0.2)
        if it == 1:
            model[0].bias.data = torch.full_like(model[0].bias, 0.01)  # a new storage
        if it == 2:
            model[2].bias.data.neg_()  # the same norm, other values
        if it == 3:
            for p in model.parameters():  # a hand-written update on top of the optimizer's
                p.data -= 0.01 * p.grad.data
    out.close()
"""


def _run(tmp_path, fmt: str) -> tuple[list[dict], list[str]]:
    script = tmp_path / "wgan_like.py"
    script.write_text(textwrap.dedent(SCRIPT))
    seen, stream = tmp_path / f"seen-{fmt}.jsonl", tmp_path / f"stream.{fmt}"
    argv = ["run", "--no-tui", "--format", fmt, "--output", str(stream), str(script), str(seen)]
    assert cli.main(argv) == 0
    truth = [json.loads(line) for line in seen.read_text().splitlines()]
    return truth, stream.read_text().splitlines()


def _flat(values) -> list[float]:
    return [v for item in values for v in _flat(item)] if isinstance(values, list) else [values]


def _close(printed: float | None, real: float | None) -> bool:
    if real is None or printed is None:
        return printed is None and real is None
    return math.isclose(printed, real, rel_tol=1e-9, abs_tol=1e-12)


def test_the_jsonl_stream_prints_each_phases_own_numbers(tmp_path):
    truth, lines = _run(tmp_path, "jsonl")
    records = [json.loads(line) for line in lines]
    phases = [r for r in records if r["phase"] != "start"]
    assert len(phases) == len(truth) == 6 * 5
    for record, state in zip(phases, truth):
        for name, summary in record["params"].items():
            where = f"{record['phase']} of iteration {record['iteration']}: {name}"
            assert _close(summary["norm"], state[name]), where
            grad = record["grads"][name]
            assert _close(grad and grad["norm"], state[name + ".grad"]), where + ".grad"
            if name + "=values" in state:
                assert _flat(summary["values"]) == state[name + "=values"], where
            if grad is not None and name + ".grad=values" in state:
                assert _flat(grad["values"]) == state[name + ".grad=values"], where + ".grad"


def test_the_text_stream_prints_each_phases_own_norms(tmp_path):
    truth, lines = _run(tmp_path, "text")
    rows = [line for line in lines[1:] if " start " not in line]
    assert len(rows) == len(truth) == 6 * 5
    for row, state in zip(rows, truth):
        theta = row.split("‖θ‖=")[1].split()[0]
        grad = row.split("‖∇‖=")[1].split()[0]
        names = [n for n in state if "=" not in n and not n.endswith(".grad")]
        real_theta = math.sqrt(sum(state[n] ** 2 for n in names))
        grads = [state[n + ".grad"] for n in names if state[n + ".grad"] is not None]
        assert math.isclose(float(theta), real_theta, rel_tol=1e-3), row
        if grads:
            assert math.isclose(float(grad), math.sqrt(sum(g * g for g in grads)), rel_tol=1e-3), row
        else:
            assert grad == "None", row
