"""The engine is a library: it must not pull in the UI, and the NumPy path must not pull in torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "loopstep"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_engine_and_numpy_backend_import_neither_ui_nor_torch():
    mods = _modules_after(
        "import loopstep.engine, loopstep.engine.text_format, loopstep.engine.session\n"
        "import loopstep.backends, loopstep.backends.numpy_backend, loopstep.scenarios\n"
        "from loopstep.scenarios import build\n"
        "from loopstep.engine import Stepper, Command\n"
        "Stepper(build('linreg', 'numpy'), controller=lambda s, r: Command.CONTINUE).run()"
    )
    assert not {m for m in mods if m.split(".")[0] in {"textual", "rich", "torch"}}


def test_no_engine_module_names_textual_or_rich():
    for path in (SRC / "engine").rglob("*.py"):
        text = path.read_text()
        for banned in (
            "import textual",
            "from textual",
            "import rich",
            "from rich",
            "import torch",
            "from torch",
        ):
            assert banned not in text, f"{path} imports {banned.split()[-1]}"


def test_only_torch_backend_imports_torch():
    for path in SRC.rglob("*.py"):
        if "backends/torch" in path.as_posix():
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import torch", "from torch")), f"{path}: {stripped}"


def test_cli_help_imports_no_ui_or_torch():
    mods = _modules_after("from loopstep.cli import build_parser; build_parser()")
    assert not {m for m in mods if m.split(".")[0] in {"textual", "rich", "torch"}}


def test_the_app_first_frame_path_loads_neither_numpy_nor_torch():
    """What `loopstep demo` imports before its first frame: the parser, the scenario's
    session, the app and its first widgets. NumPy and PyTorch come later, in the worker."""
    mods = _modules_after(
        "from loopstep.cli import build_parser\n"
        "from loopstep.commands import demo\n"
        "from loopstep.commands.common import scenario_session_from_args\n"
        "from loopstep.commands.stops import apply_to_session\n"
        "from loopstep.engine.recording import closing_on_hangup\n"
        "import loopstep.ui.launch, loopstep.ui.app\n"
        "for argv in (['demo'], ['demo', 'mlp']):\n"
        "    args = build_parser('demo').parse_args(argv)\n"
        "    session = scenario_session_from_args(args, build_now=False)\n"
        "    apply_to_session(session, args)\n"
        "    loopstep.ui.app.LoopstepApp(session)\n"
    )
    assert "loopstep.ui.app" in mods
    assert not {m for m in mods if m.split(".")[0] in {"numpy", "torch"}}
