"""Scripts shaped like real trainers under ``loopstep run``: the exact phases, the script's own
counters, losses, validation means, lr, grads and params as the script computed them, and a
replay that prints the live stream again, field for field."""

from __future__ import annotations

import math

import pytest

from .real_scripts import SCRIPTS, assert_replay_is_live, batches_seen, events, kind, line_of, run_all

#: The module's tests share runs made once (a module fixture): one xdist worker takes them all,
#: or each worker would make the runs again.
pytestmark = pytest.mark.xdist_group("test_real_scripts")

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def runs(loopstep_env, tmp_path_factory):
    return run_all(loopstep_env, tmp_path_factory.mktemp("real"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_exact_phases(runs, name):
    run = runs[name]
    assert run["status"] == 0, run["stderr"]
    seen = [e["phase"] for e in events(run["live"])]
    assert seen == SCRIPTS[name]
    assert all(e["location"].split(":")[0].endswith(f"{name}.py") for e in events(run["live"]))


@pytest.mark.parametrize("name", ["gan", "backbone_head", "prefetch_loader", "manual_sgd_clip"])
def test_epoch_and_batch_are_the_scripts_own(runs, name):
    """Every forward of a batch (a GAN's four, a backbone and its head) is one batch; a loader
    that reads ahead shifts nothing."""
    seen, expected = batches_seen(runs[name])
    assert seen == expected


@pytest.mark.parametrize("name", SCRIPTS)
def test_one_iteration_per_training_batch(runs, name):
    stream = events(runs[name]["live"])
    ends = [e for e in stream if e["phase"] in ("step", "update")]
    per_batch = {"gan": 2}.get(name, 1)  # the discriminator's step, then the generator's
    assert [e["iteration"] for e in ends] == [i // per_batch for i in range(len(ends))]


@pytest.mark.parametrize("name", SCRIPTS)
def test_losses_are_the_ones_the_script_computed(runs, name):
    run = runs[name]
    losses = [e["loss"] for e in events(run["live"]) if e["phase"] == "loss"]
    assert losses == pytest.approx([r["value"] for r in kind(run["records"], "loss")], rel=1e-6)


@pytest.mark.parametrize("name", ["gpt_accum", "manual_sgd_clip", "lbfgs_closure", "backbone_head"])
def test_each_validation_pass_has_its_own_mean(runs, name):
    run = runs[name]
    vals = [e["val_loss"] for e in events(run["live"]) if e["phase"] == "validate"]
    assert vals == pytest.approx([r["value"] for r in kind(run["records"], "val")], rel=1e-6)


def test_estimate_loss_splits_are_two_passes_named_by_split(runs):
    validates = [e for e in events(runs["gpt_accum"]["live"]) if e["phase"] == "validate"]
    assert [e["series"] for e in validates] == ["train", "val"] * 3
    assert all(e["model_mode"] == "eval" and not e["grad_enabled"] for e in validates)


def test_a_sampling_forward_is_a_validate_without_a_loss(runs):
    validates = [e for e in events(runs["gan"]["live"]) if e["phase"] == "validate"]
    assert {e["loss"] for e in validates} == {None}
    assert {e["location"].rsplit(":", 1)[1] for e in validates} == {
        str(line_of("gan", "samples = netG(fixed_noise)"))
    }


def test_a_gan_names_its_models_optimizers_and_losses(runs):
    stream = events(runs["gan"]["live"])
    first = stream[: len(SCRIPTS["gan"]) // 6]
    assert [e["detail"] for e in first if e["phase"] == "forward"] == [
        "netD (Discriminator)", "netG (Generator)", "netD (Discriminator)", "netD (Discriminator)",
    ]  # fmt: skip
    assert [e["detail"] for e in first if e["phase"] == "loss"] == [
        "errD_real (BCELoss)", "errD_fake (BCELoss)", "errG (BCELoss)",
    ]  # fmt: skip
    assert [e["detail"] for e in first if e["phase"] == "step"] == ["optimizerD (Adam)", "optimizerG (Adam)"]
    assert [e["detail"] for e in first if e["phase"] == "zero_grad"] == [
        "netD.zero_grad()",
        "netG.zero_grad()",
    ]
    names = set(stream[-1]["params"])
    assert names and all(n.startswith(("netD.", "netG.")) for n in names)


def test_a_gan_step_descends_the_sum_of_its_backwards(runs):
    """The discriminator's step follows errD_real + errD_fake (what DCGAN prints as Loss_D)."""
    stream = events(runs["gan"]["live"])
    losses = [e["loss"] for e in stream if e["phase"] == "loss"]
    steps = [e for e in stream if e["phase"] == "step"]
    for index, step in enumerate(steps):
        batch = index // 2
        real, fake, generator = losses[3 * batch : 3 * batch + 3]
        expected = real + fake if index % 2 == 0 else generator
        assert step["loss"] == pytest.approx(expected, rel=1e-6)
        assert step["series"] == ("optimizerD" if index % 2 == 0 else "optimizerG")


def test_grads_and_params_of_each_model_at_its_own_phases(runs):
    run = runs["gan"]
    stream = events(run["live"])
    backwards = [e for e in stream if e["phase"] == "backward"]
    # rec.grads(netD) after errD_fake.backward(); rec.grads(netG) after errG.backward()
    at = {"netD": backwards[1::3], "netG": backwards[2::3]}
    grads = kind(run["records"], "grads")
    for model, records in (("netD", grads[0::2]), ("netG", grads[1::2])):
        for event, record in zip(at[model], records, strict=True):
            for name, norm in record["norms"].items():
                assert event["grads"][f"{model}.{name}"]["norm"] == pytest.approx(norm, rel=1e-5)
    steps = [e for e in stream if e["phase"] == "step"]
    params = kind(run["records"], "params")
    for event, record, model in zip(steps, params, ["netD", "netG"] * (len(steps) // 2), strict=True):
        for name, norm in record["norms"].items():
            assert event["params"][f"{model}.{name}"]["norm"] == pytest.approx(norm, rel=1e-5)


def test_a_hand_written_update_and_clipping(runs):
    run = runs["manual_sgd_clip"]
    stream = events(run["live"])
    updates = [e for e in stream if e["phase"] == "update"]
    assert {e["location"].rsplit(":", 1)[1] for e in updates} == {
        str(line_of("manual_sgd_clip", "p.data.add_", after="def main"))
    }
    for event, record in zip(updates, kind(run["records"], "params"), strict=True):
        for name, norm in record["norms"].items():
            assert event["params"][name]["norm"] == pytest.approx(norm, rel=1e-5)
    # The grads the script saw after backward, then the clipped ones the update used.
    backwards = [e for e in stream if e["phase"] == "backward"]
    for event, record in zip(backwards, kind(run["records"], "grads"), strict=True):
        for name, norm in record["norms"].items():
            assert event["grads"][name]["norm"] == pytest.approx(norm, rel=1e-5)
    for clip in (e for e in stream if e["phase"] == "clip"):
        total = math.sqrt(sum(g["norm"] ** 2 for g in clip["grads"].values()))
        assert total == pytest.approx(0.25, rel=1e-4)  # max_norm, as clip_grad_norm_ left it
        assert "→ 0.25 (max_norm 0.25)" in clip["detail"]


def test_an_lbfgs_closure_is_nested_in_its_step(runs):
    run = runs["lbfgs_closure"]
    stream = events(run["live"])
    inside = [e for e in stream if e["phase"] in ("zero_grad", "forward", "loss", "backward")]
    assert inside and all(e["inside"] == "LBFGS.step closure" for e in inside)
    steps = [e for e in stream if e["phase"] == "step"]
    assert all("inside" not in e for e in steps)
    for event, record in zip(steps, kind(run["records"], "params"), strict=True):
        for name, norm in record["norms"].items():
            assert event["params"][name]["norm"] == pytest.approx(norm, rel=1e-5)
    losses = [e["loss"] for e in stream if e["phase"] == "loss"]
    assert [e["loss"] for e in steps] == pytest.approx(losses[0::3], rel=1e-6)  # what step(closure) returns


def test_accumulation_backpropagates_the_scaled_loss(runs):
    stream = events(runs["gpt_accum"]["live"])
    losses = [e for e in stream if e["phase"] == "loss"]
    backwards = [e for e in stream if e["phase"] == "backward"]
    assert [b["backpropagated"] for b in backwards] == pytest.approx(
        [e["loss"] / 4 for e in losses], rel=1e-6
    )
    # The loss computed inside GPT.forward is reported at the model's line, not at backward.
    assert {e["location"].rsplit(":", 1)[1] for e in losses} == {
        str(line_of("gpt_accum", "logits, loss = model(X, Y)", after="def main"))
    }
    steps = [e for e in stream if e["phase"] == "step"]
    for index, step in enumerate(steps):
        micro = [e["loss"] for e in losses[4 * index : 4 * index + 4]]
        assert step["loss"] == pytest.approx(sum(micro) / 4, rel=1e-6)


@pytest.mark.parametrize("name", ["sched_warmup", "gpt_accum"])
def test_the_lr_is_the_one_in_force_at_the_step(runs, name):
    run = runs[name]
    steps = [e["lr"] for e in events(run["live"]) if e["phase"] == "step"]
    assert steps == pytest.approx([r["value"] for r in kind(run["records"], "lr")], rel=1e-9)


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_replay_prints_the_live_stream(runs, name):
    assert_replay_is_live(runs[name], name)
