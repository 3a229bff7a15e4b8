"""loopstep leaves the user's objects as a plain run leaves them: they pickle and save whole
mid-run, their state_dict, repr, modules and attributes are the same, no hook stays behind on
them or on torch, and torch.compile compiles no more graphs than without loopstep."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import textwrap

import pytest

from .real_scripts import FOLDER

torch = pytest.importorskip("torch")

from loopstep.backends.torch.intercept import ScriptSource  # noqa: E402
from loopstep.engine import Command, Stepper  # noqa: E402
from loopstep.engine.breakpoints import parse_conditions  # noqa: E402
from loopstep.engine.diagnostics import Diagnostics  # noqa: E402

#: The module's tests share runs made once (a module fixture): one xdist worker takes them all,
#: or each worker would make the runs again.
pytestmark = pytest.mark.xdist_group("test_leave_no_trace")

#: How each way of running a script is started; every one must leave the same marks.
MODES = {
    "plain": [],
    "run": ["-m", "loopstep", "run", "--no-tui"],
    "check": ["-m", "loopstep", "check"],
    "break nan": ["-m", "loopstep", "run", "--no-tui", "--break", "nan", "--break", "grad_norm>1e9"],
    "trace": ["-m", "loopstep", "trace", "--format", "jsonl"],
}
MARKS = ("SAVED", "REPR", "KEYS", "MODULES", "COMPILED")


def _marks(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(MARKS)]


@pytest.fixture(scope="module")
def marks(loopstep_env):
    """The marks save_midrun.py and compiled.py print, in each mode (all runs at once)."""
    procs = {
        (script, mode): subprocess.Popen(
            [sys.executable, *args, str(FOLDER / f"{script}.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=loopstep_env,
            cwd=FOLDER,
        )  # fmt: skip
        for script in ("save_midrun", "compiled")
        for mode, args in MODES.items()
    }
    out = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=240)
        out[key] = (proc.returncode, _marks(stdout + stderr), stderr)
    return out


@pytest.mark.parametrize("mode", [m for m in MODES if m != "plain"])
@pytest.mark.parametrize("script", ["save_midrun", "compiled"])
def test_the_script_sees_what_a_plain_run_sees(marks, script, mode):
    status, seen, stderr = marks[script, mode]
    plain_status, plain, _ = marks[script, "plain"]
    assert plain_status == 0 and plain, "the plain run printed its marks"
    assert status == 0, stderr
    assert seen == plain
    if script == "save_midrun":
        assert seen[0] == "SAVED True 0 0"  # torch.save(model) and pickle ran, the reload is equal
    else:
        assert seen == ["COMPILED 1"]


KEPT = """
    import torch
    from torch import nn

    import kept

    torch.manual_seed(0)
    netG = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    netD = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1), nn.Sigmoid())
    optD = torch.optim.Adam(netD.parameters(), lr=1e-3)
    optG = torch.optim.SGD(netG.parameters(), lr=1e-2, momentum=0.9)
    kept.objects = [netG, netD, optD, optG]
    criterion = nn.BCELoss()
    real = torch.randn(8, 3)
    for i in range(4):
        netD.zero_grad()
        err_real = criterion(netD(real), torch.ones(8, 1))
        err_real.backward()
        fake = netG(torch.randn(8, 2))
        err_fake = criterion(netD(fake.detach()), torch.zeros(8, 1))
        err_fake.backward()
        torch.nn.utils.clip_grad_norm_(netD.parameters(), 1.0)
        optD.step()
        netG.zero_grad()
        err_g = criterion(netD(fake), torch.ones(8, 1))
        err_g.backward()
        optG.step()
        with torch.no_grad():
            netG(torch.randn(2, 2))
    for p in netG.parameters():  # an update by hand at the end
        p.data.mul_(0.999)
"""


def _plain_objects(tmp_path):
    """The same objects after a plain run of the same code."""
    namespace: dict = {}
    sys.modules["kept"] = type(sys)("kept")
    exec(compile(textwrap.dedent(KEPT), str(tmp_path / "plain.py"), "exec"), namespace)
    return sys.modules.pop("kept").objects


def _hook_dicts(module: torch.nn.Module) -> list:
    return [
        getattr(sub, name)
        for sub in module.modules()
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    ]


def _global_hooks() -> tuple:
    from torch.nn.modules import module as module_api
    from torch.optim import optimizer as optimizer_api

    return (
        dict(module_api._global_forward_pre_hooks), dict(module_api._global_forward_hooks),
        dict(module_api._global_backward_hooks), dict(optimizer_api._global_optimizer_pre_hooks),
        dict(optimizer_api._global_optimizer_post_hooks), torch.Tensor.backward, torch.autograd.backward,
        torch.optim.Optimizer.zero_grad, torch.nn.Module.zero_grad, torch.nn.Module.__call__,
        torch.nn.utils.clip_grad_norm_, torch.nn.functional.binary_cross_entropy,
    )  # fmt: skip


def _step_every_phase(snapshot, reason):
    return Command.STEP


@pytest.mark.parametrize("armed", ["stepping", "checking"])
def test_no_mark_on_the_users_objects_after_a_run(tmp_path, monkeypatch, armed):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "kept.py").write_text("objects = []\n")
    script = tmp_path / "gan_small.py"
    script.write_text(textwrap.dedent(KEPT))
    plain = _plain_objects(tmp_path)
    before = _global_hooks()
    sys.modules.pop("kept", None)
    if armed == "stepping":  # every phase paused at, as in the app: ops, grads and copies taken
        stepper = Stepper(ScriptSource(str(script)), controller=_step_every_phase)
    else:  # as loopstep check and --break run it
        stepper = Stepper(
            ScriptSource(str(script), detail=False),
            controller=lambda snapshot, reason: Command.CONTINUE,
            observers=[Diagnostics(watch_activations=True, grad_every=1)],
            conditions=parse_conditions(["nan", "grad_norm>1e9", "update_ratio>10"]),
        )
    stepper.run()
    assert stepper.error is None, stepper.error
    objects = sys.modules.pop("kept").objects
    assert _global_hooks() == before
    for mine, theirs in zip(objects, plain, strict=True):
        assert type(mine) is type(theirs)
        assert sorted(vars(mine)) == sorted(vars(theirs))
        if isinstance(mine, torch.nn.Module):
            assert repr(mine) == repr(theirs)
            assert list(mine.state_dict()) == list(theirs.state_dict())
            assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
            assert all(not hooks for hooks in _hook_dicts(mine))
            for param in mine.parameters():
                assert param._backward_hooks is None and param._post_accumulate_grad_hooks is None
            for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
                assert torch.equal(a, b), name  # the same run, to the bit
        else:
            assert not mine._optimizer_step_pre_hooks and not mine._optimizer_step_post_hooks
            assert list(mine.state_dict()["state"]) == list(theirs.state_dict()["state"])
        buffer = io.BytesIO()
        torch.save(mine, buffer)
        pickle.loads(pickle.dumps(mine))
