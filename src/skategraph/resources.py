"""Where skategraph finds its bundled files.

`ontology/`, `queries/` and `data/` live at the top of the repository and are copied into the wheel
as `skategraph/ontology` and so on. An installed package finds its own copy; an editable install
(or a checkout on `PYTHONPATH`) finds the repository's. Reads no environment: where the user's own
store, links and queries are is the shells' to say.
"""

from __future__ import annotations

from pathlib import Path

from skategraph.errors import SkategraphError

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The bundled directory `name` (`data`, `ontology` or `queries`)."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise SkategraphError(f"the bundled {name}/ directory is missing from this installation")


def bundled_articles() -> list[Path]:
    """The season articles that ship with skategraph, oldest season first."""
    return sorted(bundled("data").glob("*.txt"))


def bundled_links() -> Path:
    """The links directory that ships with skategraph: `data/links/`."""
    return bundled("data") / "links"
