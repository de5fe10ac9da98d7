"""The command-line options several `skategraph` commands share, each declared once.

This is where the environment is read: every `SKATEGRAPH_*` variable is the `envvar` of an option
declared here or in `skategraph.web.settings`' table, so `--help` names each one and nothing else in
skategraph looks at the environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import platformdirs

from skategraph import resources
from skategraph.graph.ids import DEFAULT_BASE
from skategraph.source.linkfiles import LinkFiles
from skategraph.store.address import StoreAt, store_at
from skategraph.web.settings import SERVE_OPTIONS, Settings

F = TypeVar("F", bound=Callable[..., Any])


def default_store_path() -> Path:
    """A per-user data directory, so the commands work from any directory."""
    return platformdirs.user_data_path("skategraph") / "store"


def _store(_ctx: click.Context, _param: click.Parameter, value: str | Path) -> StoreAt:
    return store_at(value)


def store_option(command: F) -> F:
    return click.option(
        "--store",
        "store",
        type=str,
        envvar="SKATEGRAPH_STORE",
        default=lambda: str(default_store_path()),
        callback=_store,
        show_default="$SKATEGRAPH_STORE, else a per-user data directory",
        help="The store: a directory (the embedded store), or a SPARQL server that keeps the data, "
        "oxigraph+http://HOST:PORT or virtuoso+http://HOST:PORT (its user and password from "
        "SKATEGRAPH_REMOTE_USER and SKATEGRAPH_REMOTE_PASSWORD or SKATEGRAPH_REMOTE_PASSWORD_FILE).",
    )(command)


def base_option(help_text: str) -> Callable[[F], F]:
    """--base, for the commands that build: what it means there is the command's to say."""
    return click.option("--base", envvar="SKATEGRAPH_BASE", default=DEFAULT_BASE, show_default=True, help=help_text)


def default_links_path() -> Path:
    """A per-user data directory: what `skategraph link` writes and a person reviews outlives a
    reinstall, and is never written into the installed package."""
    return platformdirs.user_data_path("skategraph") / "links"


def _link_files(ctx: click.Context, param: click.Parameter, value: Path) -> LinkFiles:
    return LinkFiles(value.expanduser(), defaults=resources.bundled_links())


def links_option(command: F) -> F:
    return click.option(
        "--links",
        "links",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SKATEGRAPH_LINKS",
        default=default_links_path,
        callback=_link_files,
        show_default="$SKATEGRAPH_LINKS, else a per-user data directory",
        help="Your links directory: links.tsv, review.tsv and decisions.tsv are written there; a file it "
        "lacks (the candidate queries, the nation table) is read from the bundled data/links, which is "
        "never written.",
    )(command)


def _help(name: str) -> str:
    return next(help_text for field, _env, help_text in SERVE_OPTIONS if field == name)


def _env(name: str) -> str:
    return next(env for field, env, _help_text in SERVE_OPTIONS if field == name)


def _split_services(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> frozenset[str]:
    """--allow-service values, and $SKATEGRAPH_ALLOW_SERVICE split on spaces."""
    return frozenset(url for value in values for url in value.split())


def allow_service_option(command: F) -> F:
    """SERVICE and LOAD fetch URLs: from the shell too, only those on the allow-list."""
    return click.option(
        "--allow-service",
        "allow_service",
        multiple=True,
        envvar=_env("allow_service"),
        callback=_split_services,
        help=_help("allow_service"),
    )(command)


def _split_dirs(_ctx: click.Context, _param: click.Parameter, values: tuple[Path, ...]) -> tuple[Path, ...]:
    """--queries values, and $SKATEGRAPH_QUERIES split on ':' as PATH is."""
    return tuple(Path(part) for value in values for part in str(value).split(":") if part)


def queries_option(command: F) -> F:
    return click.option(
        "--queries",
        "query_dirs",
        multiple=True,
        envvar=_env("queries"),
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        callback=_split_dirs,
        help=_help("queries"),
    )(command)


def serve_options(command: F) -> F:
    """One option per server setting, from the table in `skategraph.web.settings`."""
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    for name, envvar, help_text in reversed(SERVE_OPTIONS):
        flag = "--" + name.replace("_", "-")
        if name == "allow_service":
            command = allow_service_option(command)
            continue
        if name == "queries":
            command = queries_option(command)
            continue
        if name == "update_token":
            option = click.option(flag, envvar=envvar, default=None, help=help_text + " Prefer the variable: "
                                  "arguments show in process lists.")  # fmt: skip
        elif name == "workers":
            option = click.option(flag, type=click.IntRange(1), envvar=envvar, default=None, help=help_text)
        else:
            default = defaults[name]
            kind = click.FloatRange(min=0, min_open=True) if isinstance(default, float) else click.IntRange(0)
            option = click.option(flag, type=kind, envvar=envvar, default=default, show_default=True, help=help_text)
        command = option(command)
    return command
