"""The code pane shows the loop that runs: the epochs, learning rate and seed in force, and
the zero_grad line switched off while it is off."""

from __future__ import annotations

import re

import pytest

from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp


def code_text(app) -> str:
    return app.view.code.text


@pytest.mark.parametrize(
    ("scenario", "backend", "options", "expected"),
    [
        ("mlp", "torch", {"epochs": 40}, ["range(40)", "lr=0.01", "manual_seed(0)"]),
        ("linreg", "torch", {"epochs": 3, "lr": 0.01}, ["range(3)", "lr=0.01"]),
        ("linreg", "numpy", {"epochs": 7, "lr": 0.05}, ["range(7)", "lr = 0.05"]),
        ("mlp", "torch", {"seed": 5}, ["range(10)", "manual_seed(5)"]),
    ],
)
async def test_the_code_has_the_values_in_force(ui, scenario, backend, options, expected):
    app = LoopstepApp(scenario_session(scenario, backend, **options))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        text = code_text(app)
        for fragment in expected:
            assert fragment in text, (fragment, text)
        assert len(re.findall(r"range\(\d+\)", text)) == 1  # the one epoch loop, with its count
        assert len(re.findall(r"lr\s*=\s*[\d.e-]+", text)) == 1


async def test_z_comments_the_zero_grad_line_out_and_back(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s", times=4)  # forward … step

        def line() -> str:
            return next(text for text in code_text(app).splitlines() if "5. zero_grad" in text)

        assert not line().lstrip().startswith("#")
        await pilot.press("z")
        await pilot.pause()
        assert line().lstrip().startswith("# ") and line().endswith(": off (z)")  # at once, not next phase
        await ui.press_step(app, pilot, "s")  # the zero_grad phase, skipped
        assert line().lstrip().startswith("# ") and line().endswith(": off (z)")
        assert app.view.snapshot.event.skipped
        mark = app.view.code.line
        assert "5. zero_grad" in code_text(app).splitlines()[mark - 1]  # still the marked line
        await pilot.press("z")
        await ui.press_step(app, pilot, "s")
        assert not line().lstrip().startswith("#")
