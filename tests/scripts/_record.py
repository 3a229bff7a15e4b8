"""Lets a test compare a script's plain run with its run under ``loopstep run``.

With LOOPSTEP_TEST_RECORD set to a folder, each call appends one JSON line to
``<folder>/<script>.jsonl``; without it every call does nothing, so the script runs
under loopstep exactly as a user's would.
"""

import json
import os

import torch


class Recorder:
    def __init__(self, script_file):
        folder = os.environ.get("LOOPSTEP_TEST_RECORD")
        name = os.path.splitext(os.path.basename(script_file))[0]
        self.path = os.path.join(folder, name + ".jsonl") if folder else None

    def _write(self, record):
        if self.path is not None:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    def loss(self, value):
        if self.path is not None:
            self._write({"kind": "loss", "value": float(value)})

    def position(self, epoch, batch):
        """Where the script itself says it is (its own epoch and batch counters)."""
        if self.path is not None:
            self._write({"kind": "position", "epoch": int(epoch), "batch": int(batch)})

    def logged(self, kind, value):
        """A number a framework logged (its own name for it as the kind)."""
        if self.path is not None:
            self._write({"kind": kind, "value": float(value)})

    def lr(self, value):
        if self.path is not None:
            self._write({"kind": "lr", "value": float(value)})

    def val(self, value):
        if self.path is not None:
            self._write({"kind": "val", "value": float(value)})

    def grads(self, model):
        if self.path is not None:
            norms = {
                n: None if p.grad is None else torch.linalg.vector_norm(p.grad.double()).item()
                for n, p in model.named_parameters()
            }
            self._write({"kind": "grads", "norms": norms})

    def params(self, model):
        if self.path is not None:
            norms = {
                n: torch.linalg.vector_norm(p.detach().double()).item() for n, p in model.named_parameters()
            }
            self._write({"kind": "params", "norms": norms})
