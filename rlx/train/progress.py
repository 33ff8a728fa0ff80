"""What a run prints while it works: one line per epoch, and a heartbeat inside long phases.

Lines go straight to the process's stdout (under Ray Train, workers' stdout
reaches the driver's console): `[run] epoch 3/16: …` after each epoch, and
every `HEARTBEAT_S` seconds inside an epoch or the test protocol
`[run] epoch 3/16: 480/9537 videos, 31.2 videos/s, ETA 4.8 min`, so the
first sign of life of a real run does not wait for a whole epoch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

HEARTBEAT_S = 30.0  # seconds between heartbeat lines inside a phase


def write_line(line: str) -> None:
    # Straight to the process's stdout: Ray Train V2 patches print() to log *and* tee when stdout is wrapped,
    # which printed every line twice.
    sys.__stdout__.write(line + "\n")
    sys.__stdout__.flush()


def epoch_line(name: str, metrics: dict[str, float], epochs: int, done_here: int, elapsed: float) -> str:
    """The line after an epoch: losses and accuracies, time, data wait, ETA of the run."""
    epoch = int(metrics["epoch"])
    eta = elapsed / done_here * (epochs - epoch)
    shown = ("train/loss", "train/top1", "val/top1", "val/mAP")
    parts = [f"{k.removeprefix('train/')}={v:.3f}" for k, v in metrics.items() if k in shown]
    return (
        f"[{name}] epoch {epoch}/{epochs}: {' '.join(parts)} ({metrics['time/epoch_s']:.0f} s, "
        f"data wait {metrics['data/wait_fraction']:.0%}, ETA {eta / 60:.1f} min)"
    )


class Heartbeat:
    """Calls `emit` with a progress line about every `interval` seconds of one phase (videos done, rate, ETA).

    `tick(done)` is cheap: it only formats a line when the interval has passed. `total` is this process's
    share of the phase's videos (the rate and ETA are per rank; ranks run in step).
    """

    def __init__(
        self,
        label: str,
        total: int,
        interval: float | None = None,
        emit: Callable[[str], None] = write_line,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.label = label
        self.total = total
        self.interval = HEARTBEAT_S if interval is None else interval
        self.emit = emit
        self.clock = clock
        self.start = self.last = clock()

    def tick(self, done: int, loss: float | None = None) -> None:
        now = self.clock()
        if now - self.last < self.interval or done <= 0:
            return
        self.last = now
        rate = done / (now - self.start)
        left = max(self.total - done, 0) / rate
        extra = f", loss {loss:.3f}" if loss is not None else ""
        self.emit(f"{self.label}: {done}/{self.total} videos, {rate:.1f} videos/s{extra}, ETA {left / 60:.1f} min")
