"""Step through your own training: a PyTorch script run unmodified (SCRIPT.py [ARGS...]),
an experiment from a factory (file.py:factory or module.path:factory), a built-in
scenario or a recording."""

from __future__ import annotations

import argparse

from ..targets import Kind
from .options import (
    add_break_options,
    add_history_options,
    add_iterations,
    add_listen_option,
    add_record_options,
    add_scenario_options,
    add_settings_options,
    add_target,
    add_text_options,
    add_watch_option,
)
from .start import start, text_mode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    add_text_options(parser)
    add_iterations(parser)
    add_settings_options(parser)
    add_scenario_options(parser)
    add_break_options(parser)
    add_watch_option(parser)
    add_listen_option(parser)
    add_record_options(parser)
    add_history_options(parser)


def main(args: argparse.Namespace) -> int:
    return start(args, "run", tuple(Kind), text=text_mode(args))
