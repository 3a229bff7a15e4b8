"""The PyTorch backend. Importing this package imports torch (about 2.5 s): do it lazily."""

from .backend import TorchBackend

__all__ = ["TorchBackend"]
