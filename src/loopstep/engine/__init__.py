"""The stepping engine: phases, the stepper, snapshots and the text stream.

A library with no UI in it: it imports neither textual nor rich, so everything the app
shows is also available headless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_attributes

if TYPE_CHECKING:
    from .owned_loop import BatchPlan, OwnedLoop
    from .phases import PHASE_CODE, TRAINING_PHASES, Phase, PhaseEvent, SourceLocation
    from .snapshot import LossPoint, ParamState, Snapshot
    from .stepper import Command, Listener, RunState, Settings, Stepper, StopRun, TrainingError
    from .summary import TensorSummary
    from .trace import GraphNode, Trace, TraceOp

#: Where each name lives. Loaded on first use: importing one engine module (the app does,
#: before its first frame) must not load them all.
_HOMES = {
    "BatchPlan": "owned_loop",
    "OwnedLoop": "owned_loop",
    "PHASE_CODE": "phases",
    "TRAINING_PHASES": "phases",
    "Phase": "phases",
    "PhaseEvent": "phases",
    "SourceLocation": "phases",
    "LossPoint": "snapshot",
    "ParamState": "snapshot",
    "Snapshot": "snapshot",
    "Command": "stepper",
    "Listener": "stepper",
    "RunState": "stepper",
    "Settings": "stepper",
    "Stepper": "stepper",
    "StopRun": "stepper",
    "TrainingError": "stepper",
    "TensorSummary": "summary",
    "GraphNode": "trace",
    "Trace": "trace",
    "TraceOp": "trace",
}


__getattr__ = lazy_attributes(__name__, _HOMES)


__all__ = [
    "PHASE_CODE",
    "TRAINING_PHASES",
    "BatchPlan",
    "Command",
    "GraphNode",
    "Listener",
    "LossPoint",
    "OwnedLoop",
    "ParamState",
    "Phase",
    "PhaseEvent",
    "RunState",
    "Settings",
    "Snapshot",
    "SourceLocation",
    "Stepper",
    "StopRun",
    "TensorSummary",
    "Trace",
    "TraceOp",
    "TrainingError",
]
