"""Training through a framework under ``loopstep run``: Lightning (automatic optimization with
accumulation and clipping; a manual-optimization GAN), the transformers Trainer and an
accelerate loop. The phases as the framework runs them, its counters, the losses it logs,
its own validation loss, names with their module path, one optimizer per user optimizer,
the user's line with the framework's frame beside it, replay equal to the live stream, and
``check`` clean with fixes that fit, and planted bugs caught."""

from __future__ import annotations

import pytest

from .real_scripts import (
    B,
    C,
    F,
    L,
    S,
    V,
    Z,
    assert_replay_is_live,
    batches_seen,
    check_all,
    events,
    kind,
    line_of,
    run_all,
)

#: The module's tests share runs made once (a module fixture): one xdist worker takes them all,
#: or each worker would make the runs again.
pytestmark = pytest.mark.xdist_group("test_frameworks")

pytest.importorskip("lightning")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

FRAMEWORKS: dict[str, list[str]] = {
    # Lightning zeroes the grads inside the first micro-batch's closure, before its backward.
    "lightning_auto": [Z] + ([F, L, Z, B, F, L, B, C, S] * 2 + [Z, V]) * 2,
    "lightning_gan": [Z] + [F, F, L, B, S, Z, F, L, F, L, B, S, Z] * 8,
    "hf_trainer": [Z] + ([F, L, B, F, L, B, C, S, Z] * 2 + [V]) * 2,
    "accelerate_loop": ([F, L, B, F, L, B, C, S, Z] * 4 + [V]) * 2,
}

PLANTED = {
    "a Lightning module whose optimizer leaves out a layer": (
        "lightning_auto", "torch.optim.AdamW(self.parameters(), lr=1e-2)",
        "torch.optim.AdamW(self.net[2].parameters(), lr=1e-2)", "param-not-in-optimizer",
    ),
    "a manual-optimization GAN that never zeroes the discriminator": (
        "lightning_gan", "        opt_d.zero_grad()\n", "", "zero-grad-missing",
    ),
    "an accelerate loop without zero_grad": (
        "accelerate_loop", "                optimizer.zero_grad()\n", "", "zero-grad-missing",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(loopstep_env, tmp_path_factory):
    return run_all(loopstep_env, tmp_path_factory.mktemp("frameworks"), FRAMEWORKS)


@pytest.fixture(scope="module")
def checks(loopstep_env, tmp_path_factory):
    return check_all(loopstep_env, tmp_path_factory.mktemp("planted"), FRAMEWORKS, PLANTED)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_the_phases_the_framework_runs(runs, name):
    run = runs[name]
    assert run["status"] == 0, run["stderr"]
    assert [e["phase"] for e in events(run["live"])] == FRAMEWORKS[name]


@pytest.mark.parametrize("name", ["lightning_auto", "lightning_gan", "accelerate_loop"])
def test_epoch_and_batch_as_the_framework_counts_them(runs, name):
    seen, expected = batches_seen(runs[name])
    assert seen == expected


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_one_iteration_per_optimizer_step_round(runs, name):
    stream = events(runs[name]["live"])
    steps = [e for e in stream if e["phase"] == "step"]
    per_round = 2 if name == "lightning_gan" else 1
    assert [e["iteration"] for e in steps] == [i // per_round for i in range(len(steps))]


@pytest.mark.parametrize("name", ["lightning_auto", "accelerate_loop"])
def test_the_losses_the_training_step_computed(runs, name):
    run = runs[name]
    losses = [e["loss"] for e in events(run["live"]) if e["phase"] == "loss"]
    assert losses == pytest.approx([r["value"] for r in kind(run["records"], "loss")], rel=1e-6)


@pytest.mark.parametrize("name", ["lightning_auto", "accelerate_loop"])
def test_the_framework_scales_each_micro_batch(runs, name):
    stream = events(runs[name]["live"])
    backwards = [e for e in stream if e["phase"] == "backward"]
    assert all(e["backpropagated"] == pytest.approx(e["loss"] / 2, rel=1e-6) for e in backwards)


def test_the_trainer_steps_descend_the_loss_it_logs(runs):
    """The transformers Trainer logs, per optimizer step, the sum of its micro-batches' losses
    (each already divided by the tokens of the whole window): the step's loss here."""
    run = runs["hf_trainer"]
    steps = [e["loss"] for e in events(run["live"]) if e["phase"] == "step"]
    assert steps == pytest.approx([r["value"] for r in kind(run["records"], "step_loss")], abs=1e-4)
    losses = [e for e in events(run["live"]) if e["phase"] == "loss"]
    assert {e["detail"] for e in losses} == {"inside GPT2LMHeadModel.forward, rescaled there"}


@pytest.mark.parametrize("name", ["lightning_auto", "hf_trainer", "accelerate_loop"])
def test_validation_is_the_frameworks_own_loss(runs, name):
    run = runs[name]
    vals = [e["val_loss"] for e in events(run["live"]) if e["phase"] == "validate"]
    assert vals == pytest.approx([r["value"] for r in kind(run["records"], "val")], rel=1e-5)


def test_a_lightning_gan_names_what_the_script_names(runs):
    stream = events(runs["lightning_gan"]["live"])
    assert [e["detail"] for e in stream if e["phase"] == "step"][:2] == ["opt_g (Adam)", "opt_d (Adam)"]
    assert [e["series"] for e in stream if e["phase"] == "step"][:2] == ["opt_g", "opt_d"]
    names = set(stream[-1]["params"])
    assert names and all(n.startswith(("gen.", "disc.")) for n in names)
    losses = [e["loss"] for e in stream if e["phase"] == "loss"]
    steps = [e["loss"] for e in stream if e["phase"] == "step"]
    # opt_g follows g_loss; opt_d follows d_loss = (d_real + d_fake) / 2, as the script logs it.
    records = [r["value"] for r in kind(runs["lightning_gan"]["records"], "loss")]
    assert steps == pytest.approx(records, rel=1e-6)
    assert losses[0::3] == pytest.approx(records[0::2], rel=1e-6)


def test_names_keep_their_module_path(runs):
    assert set(events(runs["lightning_auto"]["live"])[-1]["params"]) == {
        "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias",
    }  # fmt: skip
    params = set(events(runs["hf_trainer"]["live"])[-1]["params"])
    assert "transformer.h.0.attn.c_attn.weight" in params and "transformer.wte.weight" in params


@pytest.mark.parametrize("name", ["lightning_auto", "hf_trainer"])
def test_a_phase_the_framework_ran_is_at_the_users_line_with_the_frameworks_frame(runs, name):
    stream = events(runs[name]["live"])
    call = "trainer.fit(" if name == "lightning_auto" else "trainer.train()"
    line = str(line_of(name, call))
    # The innermost frame of the framework that made the call (the Trainer backpropagates
    # through accelerate's Accelerator.backward).
    packages = ("/lightning/",) if name == "lightning_auto" else ("/transformers/", "/accelerate/")
    for event in (e for e in stream if e["phase"] in ("backward", "step")):
        assert event["location"].rsplit(":", 1)[1] == line
        assert any(package in event["framework_location"] for package in packages)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_the_replay_prints_the_live_stream(runs, name):
    assert_replay_is_live(runs[name], name)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_check_is_clean_with_fixes_that_fit(checks, name):
    status, findings, stderr = checks[name]
    assert status == 0, stderr
    assert [f for f in findings if f["severity"] != "info"] == []
    for finding in findings:
        assert finding["id"] == "grad-accumulation"
        assert finding["fix"].startswith("nothing to fix")  # the framework scales the loss already


@pytest.mark.parametrize("label", PLANTED)
def test_a_planted_bug_is_found(checks, label):
    *_, expected = PLANTED[label]
    status, findings, stderr = checks[label]
    assert [f["id"] for f in findings if f["severity"] != "info"] == [expected], stderr
    assert status == 1
