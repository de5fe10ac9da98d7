"""The error tree: drawn once at the top of errors.py, true to the classes, and the only one."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pyoxigraph as ox
import pytest

import skategraph
from skategraph import errors
from skategraph.errors import QueryError, SkategraphError


def drawn() -> dict[str, tuple[str | None, int]]:
    """The tree in errors.py's docstring: class -> (its parent as drawn, its status as drawn)."""
    assert errors.__doc__
    found: dict[str, tuple[str | None, int]] = {}
    parents: list[str] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^(?P<indent>[\s│]*)(?:[├└]── )?(?P<name>[A-Z]\w+)\s+(?P<status>\d{3})\s", line)
        if not match:
            continue
        depth = len(match.group("indent")) // 4 - 1 + (1 if "── " in line else 0)
        del parents[depth:]
        found[match.group("name")] = (parents[-1] if parents else None, int(match.group("status")))
        parents.append(match.group("name"))
    return found


def classes() -> dict[str, type[SkategraphError]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, SkategraphError) and cls.__module__ == errors.__name__
    }


def test_the_drawing_is_the_tree() -> None:
    tree = drawn()
    assert set(tree) == set(classes())
    for name, cls in classes().items():
        parent, status = tree[name]
        base = cls.__bases__[0]
        assert parent == (None if base is Exception else base.__name__), name
        assert status == cls.status, name


def test_no_error_class_is_defined_outside_errors_py() -> None:
    elsewhere = []
    for info in pkgutil.walk_packages(skategraph.__path__, "skategraph."):
        if info.name == "skategraph.__main__":
            continue  # importing it runs the command
        module = importlib.import_module(info.name)
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, Exception) and cls.__module__ == module.__name__:
                elsewhere.append(f"{module.__name__}.{name}")
    assert [name for name in elsewhere if not name.startswith("skategraph.errors.")] == []


def test_codes_are_distinct_and_snake_case() -> None:
    codes = [cls.code for cls in classes().values()]
    assert len(codes) == len(set(codes))
    assert classes()["OutboundRefused"].code == "outbound_refused"
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in codes)


@pytest.mark.parametrize(
    ("query", "line"),
    [("SELECT * WHERE { ?s ?p }", 1), ("SELECT ?x\nWHERE {\n  ?x ?y ?z .\n  BIND(1 AS)\n}", 4)],
)
def test_a_syntax_error_carries_its_position(query: str, line: int) -> None:
    """pyoxigraph says where in its message only; the error carries it as attributes from then on."""
    with pytest.raises(SyntaxError) as raised:
        ox.Store().query(query)
    error = QueryError.from_syntax("the query", raised.value)
    assert error.line == line
    assert error.column is not None and 1 <= error.column <= len(query.splitlines()[line - 1]) + 1
    assert error.details() == {"line": error.line, "column": error.column}
    assert str(error).startswith("the query does not parse: error at ")
