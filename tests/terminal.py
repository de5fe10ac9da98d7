"""Running a command in a pseudo-terminal, as a person at a terminal would, for the tests of what a
command shows there (tables, progress) that a pipe never sees."""

from __future__ import annotations

import os
import pty
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path


def in_a_terminal(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, stderr_too: bool = True
) -> tuple[int, str, str]:
    """Run `argv` with its stdin and stdout (and stderr, if `stderr_too`) on a pseudo-terminal: its exit
    status, what the terminal received (line ends as `\\n`), and its stderr if that went elsewhere."""
    leader, follower = pty.openpty()
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(list(argv), stdin=follower, stdout=follower,
                                       stderr=follower if stderr_too else errors, cwd=cwd, env=env)  # fmt: skip
            os.close(follower)
            follower = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the command and everything it started are done
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            status = process.wait(timeout=300)
        finally:
            os.close(leader)
            if follower >= 0:
                os.close(follower)
        errors.seek(0)
        return status, b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), errors.read().decode("utf-8")
