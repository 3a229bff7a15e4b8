"""Cost of ``loopstep check`` on a real model: a ResNet-18 (written out here, as torchvision
has it) trained on random 224×224 images, batch 4, on the CPU.

The same script runs plainly and under ``loopstep check``, alternated; it times its own
iterations after a warm-up one, so start-up (the same on both sides) is left out. Prints the
ratio of the best per-iteration times (target: at most 2).

    python bench/check_resnet.py [--repeats 3] [--iterations 6]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.0

SCRIPT = """
import sys, time
import torch
from torch import nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, inplanes = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


torch.manual_seed(0)
model = ResNet18()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
iterations = int(sys.argv[1])
times = []
for i in range(iterations + 1):
    images, target = torch.randn(4, 3, 224, 224), torch.randint(0, 1000, (4,))
    start = time.perf_counter()
    output = model(images)
    loss = criterion(output, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if i:  # the first iteration warms up the allocator and the kernels
        times.append(time.perf_counter() - start)
print(f"PER_ITERATION {min(times):.6f}", file=sys.stderr)
"""


def per_iteration(command: list[str], env: dict) -> float:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    for line in done.stderr.splitlines():
        if line.startswith("PER_ITERATION "):
            return float(line.split()[1])
    raise SystemExit(f"no timing from {' '.join(command)}:\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=6)
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "resnet18.py"
        script.write_text(SCRIPT)
        count = str(args.iterations)
        plain, checked = [], []
        for round_ in range(args.repeats):
            plain.append(per_iteration([sys.executable, str(script), count], env))
            checked.append(
                per_iteration([sys.executable, "-m", "loopstep", "check", str(script), count], env)
            )
            print(f"round {round_ + 1}: plain {plain[-1]:.3f} s/it, check {checked[-1]:.3f} s/it", flush=True)
    ratio = min(checked) / min(plain)
    verdict = "ok" if ratio <= TARGET else "over target"
    print(f"check / plain per iteration: {ratio:.2f} (target ≤ {TARGET:g}): {verdict}")


if __name__ == "__main__":
    main()
