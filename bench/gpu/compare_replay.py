"""GPU check: a recorded CUDA run replays as it ran, its packed grads and params intact.

python3 bench/gpu/compare_replay.py RUN.jsonl REPLAY.jsonl RECORDING.lsr
"""

from __future__ import annotations

import json
import sys

import numpy as np

from loopstep.engine.phases import Phase
from loopstep.engine.recording import read_recording


def main() -> None:
    run_path, replay_path, recording_path = sys.argv[1:4]
    run = [json.loads(line) for line in open(run_path)]
    replay = [json.loads(line) for line in open(replay_path)]
    key = [(r["phase"], r.get("loss")) for r in run]
    again = [(r["phase"], r.get("loss")) for r in replay]
    print(f"run: {len(run)} records, replay: {len(replay)}; same phases and losses: {key == again}")
    recording = read_recording(recording_path)
    state = dict(recording.initial)
    grads_seen = params_seen = 0
    for phase in recording.phases:
        state.update(phase.arrays)
        arrays = [v for v in phase.arrays.values() if isinstance(v, np.ndarray)]
        if phase.event.phase is Phase.BACKWARD and arrays:
            grads_seen += 1
        if phase.event.phase is Phase.STEP and arrays:
            params_seen += 1
    finite = all(np.isfinite(v).all() for v in state.values() if isinstance(v, np.ndarray))
    print(
        f"recording: {len(recording.phases)} phases, backward with grads: {grads_seen}, "
        f"step with params: {params_seen}, every array finite: {finite}"
    )
    if key != again or not finite or not grads_seen or not params_seen:
        raise SystemExit("compare_replay: the replay does not match the run")


if __name__ == "__main__":
    main()
