"""What is loaded when, at run time: the engine pulls in no UI, the NumPy path no torch, the
app's first frame neither NumPy nor torch. (Which module may import which is stated as
import-linter contracts: see test_layers.py.)"""

from __future__ import annotations

import subprocess
import sys


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


def test_cli_help_imports_no_ui_or_torch():
    mods = _modules_after("from loopstep.cli import build_parser; build_parser()")
    assert not {m for m in mods if m.split(".")[0] in {"textual", "rich", "torch"}}


def test_the_app_first_frame_path_loads_neither_numpy_nor_torch():
    """What `loopstep demo` imports before its first frame: the parser, the scenario's
    session, the app and its first widgets. NumPy and PyTorch come later, in the worker."""
    mods = _modules_after(
        "from loopstep.cli import build_parser\n"
        "from loopstep.commands import demo\n"
        "from loopstep.commands.options import run_options, target_of\n"
        "from loopstep.targets import session_for\n"
        "import loopstep.frontend.runner, loopstep.frontend.signals, loopstep.ui.app\n"
        "for argv in (['demo'], ['demo', 'mlp']):\n"
        "    args = build_parser('demo').parse_args(argv)\n"
        "    session = session_for(target_of(args), run_options(args))\n"
        "    loopstep.ui.app.LoopstepApp(session)\n"
    )
    assert "loopstep.ui.app" in mods
    assert not {m for m in mods if m.split(".")[0] in {"numpy", "torch"}}
