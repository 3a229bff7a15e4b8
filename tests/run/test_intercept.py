"""The interception in-process: hooks come off again, stepping commands, facts, compile."""

import textwrap

import pytest

torch = pytest.importorskip("torch")

from loopstep.backends.torch.intercept import ScriptSource  # noqa: E402
from loopstep.engine import Command, Listener, Phase, Stepper  # noqa: E402


def _write(tmp_path, body: str, name: str = "train.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


LOOP = """
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(40, 3), torch.randn(40, 1)
    try:
        for i in range(8):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x[i * 5 : i * 5 + 5]), y[i * 5 : i * 5 + 5])
            loss.backward()
            opt.step()
    finally:
        open(__file__ + ".done", "w").write("finally ran")
"""


def _hooks_state():
    from torch.nn.modules import module as module_api
    from torch.optim import optimizer as optimizer_api

    return (
        len(module_api._global_forward_pre_hooks),
        len(module_api._global_forward_hooks),
        len(optimizer_api._global_optimizer_pre_hooks),
        len(optimizer_api._global_optimizer_post_hooks),
        torch.Tensor.backward,
        torch.autograd.backward,
        torch.optim.Optimizer.zero_grad,
        torch.nn.Module.zero_grad,
        torch.optim.Optimizer.__init__,
        torch.nn.functional.cross_entropy,
        torch.utils.data.dataloader._BaseDataLoaderIter.__next__,
    )


def _run(path, controller=None, **kwargs):
    seen = []
    stepper = Stepper(
        ScriptSource(str(path)),
        listener=Listener(on_event=seen.append),
        controller=controller or (lambda snapshot, reason: Command.CONTINUE),
        **kwargs,
    )
    stepper.run()
    return stepper, seen


def test_everything_installed_is_removed(tmp_path):
    before = _hooks_state()
    _run(_write(tmp_path, LOOP), max_iterations=2)  # ended early
    assert _hooks_state() == before
    _run(_write(tmp_path, "import torch\nraise ValueError('boom')\n", "bad.py"))  # ended by an error
    assert _hooks_state() == before


def test_iterations_end_the_script_cleanly(tmp_path):
    path = _write(tmp_path, LOOP)
    stepper, seen = _run(path, max_iterations=3)
    assert (tmp_path / "train.py.done").read_text() == "finally ran"
    assert max(e.iteration for e in seen) == 2
    assert stepper.error is None


def test_next_pauses_at_the_zero_grad_that_ends_an_iteration(tmp_path):
    pauses = []

    def controller(snapshot, reason):
        pauses.append(snapshot.event)
        return Command.NEXT

    _run(_write(tmp_path, LOOP), controller=controller, max_iterations=3)
    # The zero_grad at the top of the first iteration does not end it.
    assert pauses[0] is None
    assert [(e.phase, e.iteration) for e in pauses[1:]] == [(Phase.ZERO_GRAD, i) for i in range(3)]
    assert all(e.ends_iteration for e in pauses[1:])


def test_a_pause_shows_the_batch_the_trace_and_the_users_line(tmp_path):
    snaps = {}

    def controller(snapshot, reason):
        if snapshot.event is not None:
            snaps.setdefault(snapshot.event.phase, snapshot)
        return Command.STEP

    path = _write(tmp_path, LOOP)
    _run(path, controller=controller, max_iterations=1)
    loss = snaps[Phase.LOSS]
    assert set(loss.tensors) == {"x", "y", "pred", "loss"}
    assert loss.tensors["x"].shape == (5, 3)
    assert loss.event.location.path == str(path) and loss.event.location.line == 11
    assert loss.event.detail == "loss (F.mse_loss)"
    assert any(op.op == "linear" for op in loss.trace.ops)
    backward = snaps[Phase.BACKWARD]
    assert backward.trace.graph is not None
    assert all(p.grad is not None for p in backward.params)
    assert snaps[Phase.STEP].param("0.weight").change is not None


def test_compiled_models_show_the_users_names(tmp_path):
    body = LOOP.replace(
        "model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))",
        "model = torch.compile(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)), backend='eager')",
    )
    stepper, seen = _run(_write(tmp_path, body), max_iterations=2)
    assert stepper.error is None
    assert [e.phase.value for e in seen][:6] == [
        "zero_grad",
        "forward",
        "loss",
        "backward",
        "step",
        "zero_grad",
    ]
    assert [p.name for p in stepper.snapshot().params] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_facts_for_diagnostics(tmp_path):
    body = """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body, self.drop, self.head = nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1)
                self.unused = nn.Linear(2, 2)

            def forward(self, x):
                return self.head(self.drop(self.body(x)))

        model = Net()
        opt = torch.optim.SGD(model.body.parameters(), lr=0.1)
        x, y = torch.randn(10, 3), torch.randn(10, 1)
        for i in range(2):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()           # no zero_grad: grads survive the step
        model.eval()
        val = ((model(x) - y) ** 2).mean()   # validation without no_grad: never backwarded
    """
    source = ScriptSource(str(_write(tmp_path, body)))
    Stepper(source, controller=lambda s, r: Command.CONTINUE).run()
    facts = source.facts
    assert [f.training for f in facts.forwards] == [True, True, False]
    # a backward's graph reached the first two; the evaluation's output no backward used
    assert [f.backwarded for f in facts.forwards] == [True, True, False]
    assert len(facts.never_backwarded) == 1 and not facts.never_backwarded[0].training
    assert facts.never_backwarded[0].builds_graph and facts.never_backwarded[0].location.line == 22
    assert [b.onto_stepped_grads for b in facts.backwards] == [False, True]
    probe = source.probe
    assert probe.mode_layers() == ("drop (Dropout)",)
    assert probe.not_in_optimizer() == ("head.weight", "head.bias", "unused.weight", "unused.bias")
    assert set(probe.trainable()) - set(probe.grad_norms()) == {"unused.weight", "unused.bias"}


def test_lr_setting_reaches_every_optimizer(tmp_path):
    body = """
        import torch
        from torch import nn
        model = nn.Linear(2, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for i in range(3):
            model(torch.ones(1, 2)).sum().backward()
            opt.step()
            opt.zero_grad()
        print(opt.param_groups[0]["lr"])
    """
    from loopstep.engine import Settings

    stepper, _ = _run(_write(tmp_path, body), settings=Settings(lr=0.01))
    assert stepper.settings.lr == pytest.approx(0.01)
    assert stepper.source.tracker.current_lr() == pytest.approx(0.01)


def test_zero_grad_switched_off_is_skipped(tmp_path):
    from loopstep.engine import Settings

    stepper, seen = _run(_write(tmp_path, LOOP), settings=Settings(zero_grad=False), max_iterations=3)
    zero_grads = [e for e in seen if e.phase is Phase.ZERO_GRAD]
    assert zero_grads and all(e.skipped for e in zero_grads)
    assert stepper.grad_passes == 3  # three backwards piled up


def test_an_error_names_the_phase_and_iteration_it_happened_in(tmp_path):
    body = """
        import torch
        from torch import nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.l, self.calls = nn.Linear(3, 1), 0
            def forward(self, x):
                self.calls += 1
                if self.calls == 3:
                    raise RuntimeError("boom")
                return self.l(x)
        model = M()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        def training_step(batch):
            return nn.functional.mse_loss(model(batch[0]), batch[1])
        for i in range(5):
            loss = training_step((torch.randn(4, 3), torch.randn(4, 1)))
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    stepper, _ = _run(_write(tmp_path, body))
    # The third forward is the third batch's: iteration 2, not the last zero_grad's iteration 1.
    assert stepper.error.where == "during forward (epoch 0, iteration 2)"
    stepper, _ = _run(_write(tmp_path, "import torch\ntorch.load('missing.pt')\n", "load.py"))
    assert stepper.error.where == "before the first phase"


CLIP_WITH_TOTAL_NORM = """
    import torch
    from torch import nn
    from torch.nn.utils import clip_grads_with_norm_, get_total_norm
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(20, 3) * 10, torch.randn(20, 1) * 10
    norms = []
    for i in range(4):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[i * 5 : i * 5 + 5]), y[i * 5 : i * 5 + 5])
        loss.backward()
        # As accelerate (and the transformers Trainer through it) clip: the norm first, then the clip.
        total = get_total_norm([p.grad for p in model.parameters()])
        clip_grads_with_norm_(list(model.parameters()), 0.5, total)
        norms.append(float(get_total_norm([p.grad for p in model.parameters()])))
        opt.step()
    open(__file__ + ".norms", "w").write(repr(norms))
"""


@pytest.mark.skipif(not hasattr(torch.nn.utils, "clip_grads_with_norm_"), reason="torch < 2.6")
def test_clipping_with_a_norm_computed_beforehand_is_a_clip_phase(tmp_path):
    before = _hooks_state(), torch.nn.utils.clip_grads_with_norm_
    path = _write(tmp_path, CLIP_WITH_TOTAL_NORM)
    _, seen = _run(path)
    clips = [e for e in seen if e.phase == Phase.CLIP]
    assert [e.iteration for e in clips] == [0, 1, 2, 3]
    after = eval((tmp_path / "train.py.norms").read_text())
    assert after == pytest.approx([0.5] * 4, rel=1e-4)  # the script saw its grads clipped
    for event in clips:
        # The total norm's type is not known to the clip: the sentence says only what it is now.
        assert event.detail.startswith("clip_grads_with_norm_ scaled every .grad: its norm ")
        assert float(event.detail.split("its norm ")[1].split()[0]) > 0.5
        assert event.detail.endswith("is now max_norm 0.5")
    assert (_hooks_state(), torch.nn.utils.clip_grads_with_norm_) == before
