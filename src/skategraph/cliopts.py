"""The command-line options several `skategraph` commands share, declared once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from skategraph import resources

F = TypeVar("F", bound=Callable[..., Any])


def store_option(command: F) -> F:
    return click.option(
        "--store",
        "store_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=resources.default_store_path,
        show_default="$SKATEGRAPH_STORE, else a per-user data directory",
        help="The store directory.",
    )(command)


def default_links_dir() -> Path:
    """`$SKATEGRAPH_LINKS`, else the bundled `data/links/`."""
    configured = os.environ.get("SKATEGRAPH_LINKS")
    return Path(configured).expanduser() if configured else resources.bundled("data") / "links"


def links_option(command: F) -> F:
    return click.option(
        "--links",
        "links_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_links_dir,
        show_default="$SKATEGRAPH_LINKS, else the bundled data/links",
        help="The links directory: links.tsv, review.tsv, decisions.tsv and the candidate queries.",
    )(command)


def allow_service_option(command: F) -> F:
    """SERVICE and LOAD fetch URLs: from the shell too, only those on the allow-list."""
    return click.option(
        "--allow-service",
        "allow_service",
        multiple=True,
        envvar="SKATEGRAPH_ALLOW_SERVICE",
        help="An endpoint SERVICE may fetch (repeatable; space-separated in the variable). None by default.",
    )(command)
