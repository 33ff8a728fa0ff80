"""Progress lines: the epoch line and the heartbeat inside long phases (a fake clock, no sleeping)."""

from __future__ import annotations

from rlx.train.progress import Heartbeat, epoch_line


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_speaks_once_per_interval_with_rate_and_eta():
    clock, lines = Clock(), []
    beat = Heartbeat("[r] epoch 2/5", total=1000, interval=30, emit=lines.append, clock=clock)
    clock.now += 10
    beat.tick(100, 2.5)  # before the interval: silent
    clock.now += 30
    beat.tick(400, 2.25)  # 40 s in, 400 videos: 10 videos/s, 600 left -> 1.0 min
    clock.now += 5
    beat.tick(450)  # 5 s after the last line: silent
    clock.now += 30
    beat.tick(750)  # 75 s, 750 videos: 10 videos/s, 250 left -> 25 s
    assert lines == [
        "[r] epoch 2/5: 400/1000 videos, 10.0 videos/s, loss 2.250, ETA 1.0 min",
        "[r] epoch 2/5: 750/1000 videos, 10.0 videos/s, ETA 0.4 min",
    ]


def test_epoch_line_shows_losses_time_data_wait_and_eta():
    metrics = {
        "epoch": 2,
        "train/loss": 1.23456,
        "train/top1": 0.5,
        "val/top1": 0.25,
        "val/loss": 9.0,
        "time/epoch_s": 61.2,
        "data/wait_fraction": 0.125,
    }
    line = epoch_line("smoke", metrics, epochs=4, done_here=2, elapsed=120.0)  # 60 s per epoch, 2 to go
    assert line == "[smoke] epoch 2/4: loss=1.235 top1=0.500 val/top1=0.250 (61 s, data wait 12%, ETA 2.0 min)"
