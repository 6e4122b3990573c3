"""A progress bar whose time estimate comes from elapsed work and moves every second.

The estimate is ``elapsed × remaining work / work done``: trials (or benchmark runs) of very
different cost are weighted by what each kind has cost so far, instant trials (a reused
configuration) count for no work, and a background thread redraws the bar every second, so
the estimate neither freezes between completions nor jumps with the last trial's cost.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any

__all__ = ["ProgressBar", "format_seconds", "want_progress"]


def want_progress(requested: bool, stream: Any = None) -> bool:
    """Draw a bar only when asked and ``stream`` (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(requested) and stream.isatty()
    except (AttributeError, ValueError):
        return False


def format_seconds(seconds: float) -> str:
    """``75`` → ``"1:15"``, ``3725`` → ``"1:02:05"``; ``"?"`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """tqdm bar over ``total`` items with a work-based ETA (see the module docstring).

    :meth:`set_work` tells how much work is done and how much remains (in any unit, e.g.
    seconds of measured cost); without it the ETA assumes equal items. ``enabled=False``
    draws nothing (every method is then a no-op).
    """

    def __init__(self, total: int, *, initial: int = 0, desc: str = "", unit: str = "it",
                 enabled: bool = True, refresh_s: float = 1.0) -> None:
        self.total = total
        self._start = time.monotonic()
        self._initial = min(initial, total)
        self._work: tuple[float, float] | None = None
        self._postfix = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.bar: Any = None
        if not enabled:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=self._initial, desc=desc, unit=unit,
                        dynamic_ncols=True, file=sys.stderr,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        self._thread = threading.Thread(target=self._tick, args=(refresh_s,), daemon=True)
        self._thread.start()

    def eta(self) -> float:
        """Seconds left: elapsed × remaining work / work done (``nan`` before any work)."""
        elapsed = time.monotonic() - self._start
        if self._work is not None:
            done, remaining = self._work
        elif self.bar is not None:
            done, remaining = self.bar.n - self._initial, self.total - self.bar.n
        else:
            return math.nan
        if remaining <= 0:
            return 0.0
        return elapsed * remaining / done if done > 0 else math.nan

    def set_work(self, done: float, remaining: float) -> None:
        """Work done in this run and work remaining (same unit) for the ETA."""
        self._work = (float(done), float(remaining))

    def update(self, n: int, postfix: str = "") -> None:
        """Set the count of finished items to ``n`` and the text after the ETA."""
        if self.bar is None:
            return
        with self._lock:
            self._postfix = postfix
            step = max(0, min(n, self.total) - self.bar.n)
            if step:
                self.bar.update(step)
            self._draw()

    def _draw(self) -> None:
        text = f"<{format_seconds(self.eta())}"
        self.bar.set_postfix_str(text + (f", {self._postfix}" if self._postfix else ""),
                                 refresh=True)

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                if self.bar is not None:
                    self._draw()

    def write(self, message: str) -> None:
        """Print a line above the bar (or on stderr without one)."""
        if self.bar is None:
            print(message, file=sys.stderr)
        else:
            with self._lock:
                self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        """Stop the redraw thread and close the bar."""
        self._stop.set()
        if self.bar is not None:
            with self._lock:
                self._draw()
                self.bar.close()
            self.bar = None
