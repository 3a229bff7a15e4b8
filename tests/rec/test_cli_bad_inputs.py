"""Bad input anywhere on the command line: one line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import os

import pytest

from loopstep.cli import COMMANDS

from .conftest import run_cli

# argv (with {placeholders} for files made by the fixture), a fragment of the message, exit status
BAD_INPUTS = [
    (["nope"], "invalid choice: 'nope'", 2),
    (["--bogus"], "unrecognized arguments: --bogus", 2),
    (["trace", "nosuch"], "unknown scenario 'nosuch'; choose one of: linreg, mlp", 2),
    (["trace", "mlp", "--backend", "numpy"], "scenario 'mlp' runs on torch, not 'numpy'", 2),
    (["trace", "--backend", "jax"], "invalid choice: 'jax'", 2),
    (["trace", "--lr", "0"], "expected a positive number, got 0", 2),
    (["trace", "--lr", "abc"], "expected a number, got 'abc'", 2),
    (["trace", "--lr", "nan"], "expected a positive number, got nan", 2),
    (["trace", "--lr", "1e400"], "expected a positive number, got 1e400", 2),
    (["trace", "--epochs", "0"], "expected a number of at least 1, got 0", 2),
    (["trace", "--epochs", "-3"], "expected a number of at least 1, got -3", 2),
    (["trace", "--iterations", "x"], "expected a whole number, got 'x'", 2),
    (["trace", "--seed", "1.5"], "expected a whole number, got '1.5'", 2),
    (["trace", "--format", "xml"], "invalid choice: 'xml'", 2),
    (["trace", "--bogus"], "unrecognized arguments: --bogus", 2),
    (["trace", "linreg", "extra"], "arguments after 'linreg' are only for scripts: extra", 2),
    (["trace", "--record"], "expected one argument", 2),
    (["trace", "--record", "{missing_dir}/run.lsr"], "no such directory", 2),
    (["trace", "--record", "{dir}"], "it is a directory", 2),
    (["trace", "--record", "{tmp}/x.lsr", "--record-tensors", "huge"], "invalid choice: 'huge'", 2),
    (["demo"], "stdout is not a terminal, and the app draws there; use --no-tui", 2),
    (["demo", "nosuch", "--no-tui"], "unknown scenario 'nosuch'", 2),
    (["demo", "--lr", "-1"], "expected a positive number, got -1", 2),
    (["demo", "--no-tui", "--record", "{dir}"], "it is a directory", 2),
    (["replay"], "the following arguments are required: PATH", 2),
    (["replay", "{missing}", "--no-tui"], "no such recording", 2),
    (["replay", "{dir}", "--no-tui"], "is a directory, not a recording", 2),
    (["replay", "{empty}", "--no-tui"], "is empty: the run was cut off before it recorded anything", 2),
    (["replay", "{foreign}", "--no-tui"], "is not a loopstep recording", 2),
    (["replay", "{newer}", "--no-tui"], "was written by a newer loopstep (format 7", 2),
    (["replay", "{damaged}", "--no-tui"], "is damaged at byte", 2),
    (["replay", "{good}"], "stdout is not a terminal, and the app draws there; use --no-tui", 2),
    (["replay", "{good}", "--format", "yaml"], "invalid choice: 'yaml'", 2),
    (["export", "{good}"], "export needs a format: --csv FILE", 2),
    (["export", "{missing}", "--csv", "{tmp}/l.csv"], "no such recording", 2),
    (["export", "{good}", "--csv", "{missing_dir}/l.csv"], "cannot write", 2),
    (["export", "{foreign}", "--csv", "-"], "is not a loopstep recording", 2),
    (["serve", "trace"], "serve runs one of: demo, run, replay, attach; got 'trace'", 2),
    (["serve", "replay"], "serve replay needs the recording's PATH", 2),
    (["serve", "replay", "{damaged}"], "is damaged at byte", 2),
    (["serve", "--port", "0"], "expected a port from 1 to 65535, got 0", 2),
    (["serve", "--port", "http"], "expected a port number, got 'http'", 2),
    (["serve", "demo", "--no-tui"], "serve shows the app; drop --no-tui", 2),
    (["check", "nosuch"], "unknown scenario 'nosuch'", 2),
    (["check", "{tmp}/missing.py"], "no such file", 2),
    (["check", "linreg", "extra"], "arguments after 'linreg' are only for scripts", 2),
    (["check", "--iterations", "0", "linreg"], "expected a number of at least 1, got 0", 2),
    (["trace", "--break", "grad_norm>x"], "'x' is not a number", 2),
    (["trace", "--break", "sometimes"], "unknown stop condition 'sometimes'", 2),
    (["demo", "--no-tui", "--history", "-1"], "expected 0 (off) or more iterations, got -1", 2),
    (["run", "{tmp}/missing.py"], "no such file", 2),
    (["run"], "the following arguments are required: TARGET", 2),
    (["run", "--no-tui", "{missing}.py"], "no such file", 2),
    (["run", "--no-tui", "{dir}"], "not a file", 2),
    (["run", "--no-tui", "{syntax}"], "syntax error", 2),
    (["run", "--iterations", "0", "{script}"], "expected a number of at least 1, got 0", 2),
    (["run", "--format", "jsonl", "{script}"], "--format goes with --no-tui", 2),
    (["run", "--output", "x", "--continue", "{script}"], "--output, --continue go with --no-tui", 2),
    (["run", "--epochs", "3", "{script}"], "--epochs: only for built-in scenarios", 2),
    (["check", "{script}:make", "--seed", "1"], "--seed: only for built-in scenarios", 2),
    (["replay", "{good}", "--no-tui", "--lr", "0.1"], "unrecognized arguments: --lr", 2),
    (["demo", "{script}"], "loopstep demo takes a built-in scenario", 2),
    (["check", "{good}"], "loopstep check takes", 2),
    (["trace", "--on-stop", "maybe"], "invalid choice: 'maybe'", 2),
    (["run", "--no-tui", "--record", "{missing_dir}/x.lsr", "{script}"], "no such directory", 2),
    (["run", "--record-tensors", "some", "{script}"], "invalid choice: 'some'", 2),
    (["run", "{script}"], "use --no-tui", 2),
    (["check"], "the following arguments are required", 2),
    (["check", "--bogus", "x"], "unrecognized arguments: --bogus", 2),
    (["check", "linreg", "extra"], "are only for scripts", 2),
    (["trace", "--watch", "x ="], "is not a Python expression", 2),
    (["trace", "--watch", "opt.step()"], "would change the run; a watch only reads", 2),
    (["run", "--on-stop", "wait", "{script}"], "--on-stop wait goes with --listen", 2),
    (["run", "--listen", "--no-tui", "{script}"], "--listen runs without a screen", 2),
    (["attach", "--no-tui", "99999999"], "no listening run with pid 99999999", 2),
    (["run", "--listen", "tcp:nope", "{script}"], "expected tcp:HOST:PORT", 2),
    (["run", "--nproc", "0", "{script}"], "expected a number of at least 1, got 0", 2),
    # --nproc checks what every rank would refuse, before torchrun starts any
    (["run", "--nproc", "2", "missing.py"], "no such file: missing.py", 2),
    (["run", "--nproc", "2", "--break", "bogus>", "{script}"], "unknown stop condition 'bogus>'", 2),
    (["run", "--nproc", "2", "--record", "/", "{script}"], "cannot record to /: it is a directory", 2),
    (["run", "--nproc", "2", "linreg"], "takes SCRIPT.py [ARGS], not a built-in scenario", 2),
    (["run", "--listen", "tcp:127.0.0.1:99999", "{script}"], "expected tcp:HOST:PORT", 2),
    (["run", "--listen", "tcp:0.0.0.0:0", "{script}"], "add --listen-non-loopback to mean it", 2),
    (["run", "--listen-non-loopback", "{script}"], "--listen-non-loopback goes with --listen tcp", 2),
    (["attach", "--no-tui", "tcp:127.0.0.1"], "expected tcp:HOST:PORT", 2),
    (["attach", "--no-tui", "tcp:127.0.0.1:1"], "needs the run's token", 2),
    (["attach", "--no-tui", "tcp:127.0.0.1:1", "--token", "x"], "cannot reach tcp:127.0.0.1:1", 2),
    (["attach", "0"], "expected a number of at least 1, got 0", 2),
    (["attach", "--iterations", "3"], "--iterations and --format go with --no-tui", 2),
    (["ls", "--format", "xml"], "invalid choice: 'xml'", 2),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory, linreg_recording) -> dict[str, str]:
    base = tmp_path_factory.mktemp("bad")
    (base / "folder").mkdir()
    with open(linreg_recording, "rb") as handle:
        good = handle.read()
    made = {
        "empty": b"",
        "foreign": b"PK\x03\x04 this is a zip file",
        "newer": b"loopstep-recording 7\n",
        "damaged": good[: len(good) // 2] + bytes([good[len(good) // 2] ^ 0x5A]) + good[len(good) // 2 + 1 :],
    }
    paths = {}
    for name, content in made.items():
        (base / f"{name}.lsr").write_bytes(content)
        paths[name] = str(base / f"{name}.lsr")
    (base / "syntax.py").write_text("def broken(:\n")
    paths.update(
        script=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "scripts", "plain_loop.py")),
        syntax=str(base / "syntax.py"),
        good=linreg_recording,
        missing=str(base / "missing.lsr"),
        missing_dir=str(base / "no" / "such"),
        dir=str(base / "folder"),
        tmp=str(base),
    )
    return paths


def test_the_table_covers_every_command():
    named = {argv[0] for argv, _, _ in BAD_INPUTS}
    assert set(COMMANDS) <= named, f"add bad inputs for: {set(COMMANDS) - named}"
    assert len(BAD_INPUTS) >= 30


@pytest.mark.parametrize(
    ("argv", "message", "status"), BAD_INPUTS, ids=[" ".join(a) for a, _, _ in BAD_INPUTS]
)
def test_bad_input(capsys, files, argv, message, status):
    argv = [arg.format(**files) for arg in argv]
    got, out, err = run_cli(capsys, argv)
    assert got == status
    assert message in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("loopstep")
