"""Progress for the long steps (parsing, mapping, loading, validating, linking), on a terminal only.

A step with a count (articles parsed, batches asked) shows click's progress bar; one without (loading,
validating) shows its elapsed time as it runs and how long it took once done. When stderr is not a
terminal (a pipe, a log, CI) both say nothing, so scripts see only the summary.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import click

T = TypeVar("T")
TICK = 0.25  # seconds between two updates of a running step's time


def live() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    """`label` and its elapsed time while the block runs; its duration once it is done."""
    if not live():
        yield
        return
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK):
            sys.stderr.write(f"\r\x1b[K{label} … {time.monotonic() - started:.0f} s")
            sys.stderr.flush()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        sys.stderr.write(f"\r\x1b[K{label}: {time.monotonic() - started:.1f} s\n")
        sys.stderr.flush()


def track(items: Sequence[T], label: str) -> Iterable[T]:
    """`items`, with a progress bar while they are gone through."""
    if not live():
        yield from items
        return
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar
