"""ctrl+s: an SVG screenshot in ./loopstep-screenshots/, and the toast says where."""

from __future__ import annotations


async def test_ctrl_s_saves_under_a_known_folder_and_says_where(ui, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s")
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list((tmp_path / "loopstep-screenshots").glob("*.svg"))
        assert len(saved) == 1 and saved[0].name.startswith("linreg_numpy-i0-forward-")
        assert "<svg" in saved[0].read_text()[:2000]
        messages = [n.message for n in app._notifications]
        assert any(str(saved[0]) in m for m in messages), messages
