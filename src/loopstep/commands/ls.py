"""List this user's runs that listen for ``loopstep attach``: pid, script, state, since when."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "jsonl"), default="text", help="text (default) or jsonl")


def main(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from ..frontend.runs import list_runs

    runs = list_runs()
    if args.format == "jsonl":
        for run in runs:
            print(json.dumps(asdict(run)))
        return 0
    if not runs:
        print("no listening runs (loopstep run --listen SCRIPT starts one)")
        return 0
    for run in runs:
        print(run.describe())
    return 0
