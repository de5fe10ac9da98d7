"""Every console example in README.md runs as printed, in order, as a person would type it.

Each `$ command` of every ```console block is run by bash in a pseudo-terminal (so tables are tables,
as a person sees them), in a fresh home directory, from a working directory that holds what the
examples name (the checkout's `data/` and `tests/`, a season article, a broken one, a directory of
saved queries). Commands that talk to `127.0.0.1:8000` reach a real `skategraph serve` started on a
free port, and `127.0.0.1:7878` the tests' Wikidata-shaped Oxigraph server. The output printed under a
command must be what it prints, once what changes from run to run (timings, byte counts, build ids)
and what only a terminal shows as it goes (progress) are set aside. A command that cannot run here is
named in NOT_RUN with the reason, and the test checks that list against the README.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT, SEED
from .server import Server, start_server
from .terminal import in_a_terminal

README = ROOT / "README.md"
NOT_RUN = {
    "skategraph link        # asks https://query.wikidata.org/sparql by default": "it asks the real Wikidata",
}
# What changes from run to run, or with where the run happens.
UNSTABLE = [
    (re.compile(r"in [\d,]+\.\d s\b"), "in N s"),
    (re.compile(r"\([a-z]+, [\d,]+ bytes\)"), "(FORMAT, N bytes)"),
    (re.compile(r"\d{8}T\d{6}\d*Z-[0-9a-f]{8}"), "BUILD"),
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # cursor and line controls a progress bar sends
PROGRESS = re.compile(
    r"^(Parsing articles|Mapping \S+ seasons? to RDF|Loading [\d,]+ quads|Validating against|Asking )"
)


@dataclass
class Example:
    line: int
    command: str
    expected: list[str]


def examples() -> list[Example]:
    """Every `$ command` of every console block, with the lines printed under it."""
    found: list[Example] = []
    lines = README.read_text("utf-8").splitlines()
    number = 0
    while number < len(lines):
        if lines[number].strip() != "```console":
            number += 1
            continue
        number += 1
        while not lines[number].startswith("```"):
            if lines[number].startswith("$ "):
                start, command = number + 1, lines[number][2:]
                while not _complete(command):
                    number += 1
                    command += "\n" + lines[number]
                found.append(Example(start, command, []))
            elif found and lines[number].strip():
                found[-1].expected.append(lines[number])
            number += 1
        number += 1
    return found


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def normalised(lines: list[str], home: Path) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(str(home), "~")
        for pattern, replacement in UNSTABLE:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return out


def on_a_terminal(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run `command` with bash in a pseudo-terminal: its exit status and the lines a person would see
    (progress redrawn in place is dropped, as the terminal shows only its last state)."""
    status, text, _ = in_a_terminal(["bash", "-c", command], cwd=cwd, env=env)
    shown = [re.sub(r"^.*\r", "", ANSI.sub("", line).rstrip("\r")) for line in text.split("\n")]
    return status, [line for line in shown if line.strip() and not PROGRESS.match(line)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with what the examples name, and a fresh home beside it."""
    root = tmp_path_factory.mktemp("readme")
    work = root / "work"
    work.mkdir()
    (root / "home").mkdir()
    (work / "data").symlink_to(ROOT / "data")
    (work / "tests").symlink_to(ROOT / "tests")
    shutil.copy(ROOT / "tests" / "fixtures" / "seasons" / "2001-02.txt", work / "2001-02.txt")
    seed = SEED.read_text("utf-8")
    broken = seed.replace("18 October 2002 | KOR", "18 Octobre 2002 | KOR").replace(
        "ITA Fabio Carta | KOR Oh", "XYZ Fabio Carta | KOR Oh", 1)  # fmt: skip
    (work / "broken.txt").write_text(broken, "utf-8")
    (work / "empty-identities.tsv").write_text("spelling\tskater\tevidence\n", "utf-8")
    return work


@pytest.fixture(scope="module")
def environment(workspace: Path) -> dict[str, str]:
    home = workspace.parent / "home"
    bin_dir = Path(sys.executable).parent
    environment = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
                   "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "200", "TERM": "dumb"}  # fmt: skip
    for name in list(environment):
        if name.startswith("SKATEGRAPH_"):
            del environment[name]
    return environment


@pytest.fixture(scope="module")
def server(workspace: Path, environment: dict[str, str]) -> Iterator[list[Server]]:
    """Started when an example first needs it (after the examples that build the default store)."""
    started: list[Server] = []
    yield started
    for running in started:
        running.stop()


SETUP = {
    # What the text around an example says was done first.
    "skategraph identities --store ./store     # a build with an empty identity file": [
        "skategraph build data/*.txt tests/fixtures/seasons/*.txt --store ./store --identities empty-identities.tsv"
    ],
}


def test_the_readme_has_examples() -> None:
    commands = [example.command for example in examples()]
    assert len(commands) >= 15 and "skategraph build" in commands
    assert set(NOT_RUN) <= set(commands), "NOT_RUN names a command the README no longer has"


def test_every_readme_example_runs_as_printed(
    workspace: Path,
    environment: dict[str, str],
    server: list[Server],
    wikidata: str,
) -> None:
    home = Path(environment["HOME"])
    wrong = []
    for example in examples():
        if example.command in NOT_RUN:
            continue
        command = example.command
        if "127.0.0.1:8000" in command:
            if not server:
                store = home / ".local" / "share" / "skategraph" / "store"
                server.append(
                    start_server(store, env={"HOME": str(home), "XDG_DATA_HOME": environment["XDG_DATA_HOME"]})
                )
            command = command.replace("127.0.0.1:8000", f"{server[0].host}:{server[0].port}")
        command = command.replace("http://127.0.0.1:7878/query", wikidata)
        for step in SETUP.get(example.command, []):
            status, shown = on_a_terminal(step, workspace, environment)
            assert status == 0, (step, shown)
        if example.command.startswith("skategraph query --queries my-queries"):
            _saved_query_files(workspace, default="2002-07-01")
        if example.command.startswith("skategraph serve --queries my-queries"):
            _saved_query_files(workspace, default="July")
        status, shown = on_a_terminal(command, workspace, environment)
        expects_error = any(line.startswith("Error:") for line in example.expected)
        if (status != 0) != expects_error:
            wrong.append(f"README line {example.line}: `{example.command}` exited {status}:\n" + "\n".join(shown))
            continue
        if normalised(shown, home) != normalised(example.expected, home):
            wrong.append(f"README line {example.line}: `{example.command}` printed\n" + "\n".join(shown)
                         + "\n---- the README says\n" + "\n".join(example.expected))  # fmt: skip
    assert not wrong, "\n\n".join(wrong)


def _saved_query_files(workspace: Path, default: str) -> None:
    """The README's own saved query (its ```sparql block), with the `since` default the text uses."""
    text = README.read_text("utf-8")
    block = text.split("### Adding your own", 1)[1].split("```sparql\n", 1)[1].split("```", 1)[0]
    block = block.replace("since: {type: date, default: 2002-07-01}", f"since: {{type: date, default: {default}}}")
    (workspace / "my-queries").mkdir(exist_ok=True)
    (workspace / "my-queries" / "nation_wins.rq").write_text(block, "utf-8")
