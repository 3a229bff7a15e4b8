"""Backends: the NumPy loop with hand-written gradients, and PyTorch.

Only :mod:`loopstep.backends.torch` imports torch, and only when asked for, so the
first frame of the app never waits for it.
"""

from __future__ import annotations

from .base import TrainingBackend

BACKENDS = ("numpy", "torch")

__all__ = ["BACKENDS", "TrainingBackend"]
