"""``loopstep check`` on the scripts shaped like real trainers: clean as written, and each
planted bug found, with the right finding at the right line, and no other."""

from __future__ import annotations

import pytest

from .real_scripts import SCRIPTS, check_all, line_of

#: The module's tests share runs made once (a module fixture): one xdist worker takes them all,
#: or each worker would make the runs again.
pytestmark = pytest.mark.xdist_group("test_real_checks")

pytest.importorskip("torch")

#: name -> (script, the line to change, what it becomes, the finding, the line it names or None)
PLANTED = {
    "a GAN that never zeroes the discriminator's grads": (
        "gan", "            netD.zero_grad()\n", "", "zero-grad-missing", "optimizerD.step()",
    ),
    "a GAN that samples with grad enabled": (
        "gan", "with torch.no_grad():  # sample", "if True:  # sample", "eval-builds-graph",
        "samples = netG(fixed_noise)",
    ),
    "a backbone left out of the optimizer": (
        "backbone_head",
        "itertools.chain(enc.parameters(), head.parameters())",
        "head.parameters()",
        "param-not-in-optimizer",
        None,
    ),
    "an update by hand that never zeroes the grads": (
        "manual_sgd_clip", "            model.zero_grad()\n", "", "zero-grad-missing", "p.data.add_(",
    ),
    "an LBFGS closure without zero_grad": (
        "lbfgs_closure", "            optimizer.zero_grad()\n", "", "zero-grad-missing", "loss = optimizer.step(closure)",
    ),
    "a NaN in one batch of a prefetching loader": (
        "prefetch_loader",
        "            optimizer.zero_grad()\n",
        "            optimizer.zero_grad()\n            if epoch == 1 and i == 2:\n"
        "                x = x.clone()\n                x[0, 0] = float('nan')\n",
        "nonfinite",
        None,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def checks(loopstep_env, tmp_path_factory):
    return check_all(loopstep_env, tmp_path_factory.mktemp("planted"), SCRIPTS, PLANTED)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_correct_script_is_clean(checks, name):
    status, findings, stderr = checks[name]
    assert status == 0, stderr
    assert [f for f in findings if f["severity"] != "info"] == []


def test_accumulation_scaled_by_the_script_needs_no_fix(checks):
    _, findings, _ = checks["gpt_accum"]
    (finding,) = findings
    assert finding["id"] == "grad-accumulation"
    assert "loss / 4" in finding["message"] and finding["fix"].startswith("nothing to fix")


@pytest.mark.parametrize("label", PLANTED)
def test_a_planted_bug_is_found(checks, label):
    script, _, _, expected, line = PLANTED[label]
    status, findings, stderr = checks[label]
    assert [f["id"] for f in findings if f["severity"] != "info"] == [expected], stderr
    (finding,) = [f for f in findings if f["id"] == expected]
    if finding["severity"] == "error":
        assert status == 1
    if line is not None:
        # The planted copy has the line where the original has it, or one earlier (a line removed).
        lines = {line_of(script, line, after="def main") - shift for shift in (0, 1)}
        assert int(finding["location"].rsplit(":", 1)[1]) in lines, finding
