"""Reading one saved query file: its `#+` header, its parameters, and the checks on its text.

A saved query is a SPARQL file whose metadata sits in `#+ ` comment lines, read as YAML (grlc's form):

    #+ title: Skater results
    #+ description: Every podium place of one skater.
    #+ tags: [skaters, results]
    #+ params:
    #+   skater: {type: skater, required: true, example: ahn-hyun-soo}

Loading is strict: every problem in the file is reported with its line, and a file with a problem
gives no query (grlc's most reported bug is a broken query file that silently disappears). The text is
checked for the binding every store answers alike (issue 15): parameters bound by a VALUES block at the
start of the WHERE group (`skategraph.sparql.values`), so a `?_p` that block does not reach is refused,
and so is an optional filter written `COALESCE(?x = ?_p, true)`, which Virtuoso evaluates as false.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from skategraph.errors import BadParameter, QueryError
from skategraph.graph.vocab import PREFIXES
from skategraph.saved.binding import check_default
from skategraph.saved.query import CONTROLS, Param, SavedQuery
from skategraph.saved.types import TYPES, dummy_term
from skategraph.sparql.text import Token, outbound_targets, tokens
from skategraph.sparql.values import bind_values, unreached

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
HEADER = re.compile(r"^#\+ ?(.*)$")
QUERY_KEYS = {"title", "description", "tags", "params"}
PARAM_KEYS = {"type", "required", "default", "description", "example", "values", "values_from", "min", "max"}
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
COALESCED = (
    "COALESCE(... {variable} ..., true) is not an optional filter on every store: Virtuoso evaluates "
    "?x = ?unbound as false, not as an error, so it drops every row when the parameter is not given; "
    "write FILTER(!BOUND({variable}) || ?x = {variable})"
)
UNREACHED = (
    "{variable} is used {why}: the VALUES block that binds the parameter at the start of the WHERE group "
    "does not reach it there, so it is unbound; use it in a triple pattern, or in a FILTER directly in the "
    "WHERE group or in an OPTIONAL of it"
)


def read_query(path: Path) -> tuple[SavedQuery | None, list[str]]:
    """A saved query and no problems, or None and every problem found in the file."""
    problems: list[str] = []

    def problem(line: int, message: str) -> None:
        problems.append(f"{path}, line {line}: {message}")

    name = path.stem
    if not NAME.match(name):
        problems.append(
            f"{path}: a saved query's name is lower case letters, digits and _ (it is its URL), not {name!r}"
        )
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [*problems, f"{path}: cannot be read as UTF-8 text: {error}"]
    header, lines = _header(text)
    meta = _parse_header(header, lines, problem)
    if meta is None:
        return None, problems
    params = _params(meta.get("params"), lines, problem)
    for key in ("title", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            problem(lines.first, f"the header needs a '{key}' line (#+ {key}: ...)")
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problem(lines.line("tags"), "tags are a list of words: #+ tags: [races, podiums]")
        tags = []
    form = _check_query(text, params, problem)
    if problems or form is None:
        return None, problems
    query = SavedQuery(
        name, path, meta["title"].strip(), meta["description"].strip(), tuple(tags), tuple(params), text, form
    )
    return query, problems


@dataclass
class _Lines:
    """Where each header key is, as a file line: YAML's marks count lines of the header alone."""

    numbers: list[int]  # file line of each header line
    keys: dict[tuple[str, ...], int] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return self.numbers[0] if self.numbers else 1

    def line(self, *key: str) -> int:
        return self.keys.get(key, self.first)

    def at(self, header_line: int) -> int:
        return self.numbers[min(header_line, len(self.numbers) - 1)] if self.numbers else 1


def _header(text: str) -> tuple[str, _Lines]:
    picked, numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        found = HEADER.match(line)
        if found:
            picked.append(found.group(1))
            numbers.append(number)
    return "\n".join(picked), _Lines(numbers)


def _parse_header(header: str, lines: _Lines, problem: Any) -> dict[str, Any] | None:
    if not header.strip():
        problem(1, "no '#+' header: a saved query starts with '#+ title: ...' and '#+ description: ...' lines")
        return None
    try:
        node = yaml.compose(header, Loader=yaml.SafeLoader)
        meta = yaml.safe_load(header)
    except yaml.YAMLError as error:
        # Where the broken construct started (a flow list, say) is more use than where parsing gave up.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        where = lines.at(mark.line) if mark is not None else lines.first
        problem(where, f"the '#+' header is not valid YAML: {getattr(error, 'problem', None) or error}")
        return None
    if not isinstance(meta, dict) or node is None:
        problem(lines.first, "the '#+' header must be 'key: value' lines")
        return None
    _key_lines(node, (), lines)
    for key in meta:
        if key not in QUERY_KEYS:
            problem(
                lines.line(str(key)), f"unknown header key {key!r}: a saved query has {', '.join(sorted(QUERY_KEYS))}"
            )
    return meta


def _key_lines(node: yaml.Node, path: tuple[str, ...], lines: _Lines) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            inner = (*path, str(key.value))
            lines.keys[inner] = lines.at(key.start_mark.line)
            _key_lines(value, inner, lines)


def _text(value: Any) -> str:
    """A YAML scalar as the text a user would have typed: `2` -> "2", `true` -> "true", dates ISO."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _params(declared: Any, lines: _Lines, problem: Any) -> list[Param]:
    if declared is None:
        return []
    if not isinstance(declared, dict):
        problem(lines.line("params"), "params are 'name: {type: ..., ...}' entries under '#+ params:'")
        return []
    params = []
    for name, spec in declared.items():
        line = lines.line("params", str(name))
        if not isinstance(name, str) or not NAME.match(name):
            problem(line, f"a parameter name is lower case letters, digits and _, not {name!r}")
            continue
        if name in CONTROLS:
            problem(line, f"a parameter cannot be named {name}: {', '.join(CONTROLS)} are taken by every saved query")
            continue
        if isinstance(spec, str):
            spec = {"type": spec}
        if not isinstance(spec, dict):
            problem(line, f"parameter {name}: give its type and options, e.g. {name}: {{type: string}}")
            continue
        for key in spec:
            if key not in PARAM_KEYS:
                known = ", ".join(sorted(PARAM_KEYS))
                problem(
                    lines.line("params", name, str(key)),
                    f"parameter {name}: unknown key {key!r}; a parameter has {known}",
                )
        param = _param(name, spec, line, problem)
        if param is not None:
            params.append(param)
    return params


def _param(name: str, spec: dict[str, Any], line: int, problem: Any) -> Param | None:
    kind = spec.get("type")
    if kind not in TYPES:
        problem(line, f"parameter {name}: type must be one of {', '.join(TYPES)}, not {kind!r}")
        return None
    required = spec.get("required", False)
    if not isinstance(required, bool):
        problem(line, f"parameter {name}: required is true or false, not {required!r}")
        return None
    values = spec.get("values", [])
    if not isinstance(values, list):
        problem(line, f"parameter {name}: values is a list, e.g. values: [a, b]")
        return None
    values_from = spec.get("values_from")
    if values_from is not None and (not isinstance(values_from, str) or (values and values_from)):
        problem(line, f"parameter {name}: values_from is one SPARQL SELECT with a ?value column, instead of values")
        return None
    bounds = {key: spec.get(key) for key in ("min", "max")}
    for key, bound in bounds.items():
        if bound is not None and (kind != "integer" or not isinstance(bound, int) or isinstance(bound, bool)):
            problem(line, f"parameter {name}: {key} is a whole number, for integer parameters only")
            return None
    param = Param(
        name=name,
        type=kind,
        required=required,
        description=_text(spec.get("description", "")).strip(),
        default=None if spec.get("default") is None else _text(spec["default"]),
        example=None if spec.get("example") is None else _text(spec["example"]),
        values=tuple(_text(v) for v in values),
        values_from=values_from,
        min=bounds["min"],
        max=bounds["max"],
        line=line,
    )
    if required and param.default is not None:
        problem(line, f"parameter {name}: a required parameter has no default")
    if required and param.example is None:
        problem(line, f"parameter {name}: a required parameter needs an example, so the query can be tried and tested")
    for what, value in (("default", param.default), ("example", param.example), *(("value", v) for v in param.values)):
        if value is not None:
            try:
                check_default(param, value)
            except BadParameter as error:
                reason = str(error).removeprefix(f"parameter {name}: ")
                problem(line, f"parameter {name}: the {what} {value!r} is not valid: {reason}")
    return param


def _check_query(text: str, params: list[Param], problem: Any) -> str | None:
    """The query's form; parameters used but not declared, declared but not used, used where the
    VALUES block that binds them does not reach, or in a filter that is wrong on Virtuoso; parse errors."""
    used: dict[str, int] = {}
    found = list(tokens(text))
    for i, token in enumerate(found):
        line = text.count("\n", 0, token.start) + 1
        if token.kind == "var" and token.text[1:].startswith("_"):
            used.setdefault(token.text[2:], line)
        if token.kind == "word" and token.text.upper() == "COALESCE":
            for variable in _compared_in(found, i):
                problem(line, COALESCED.format(variable=variable))
    declared = {p.name for p in params}
    for name, line in used.items():
        if name not in declared:
            problem(line, f"?_{name} is a parameter variable, but no parameter {name} is declared under '#+ params:'")
    for param in params:
        if param.name not in used:
            problem(param.line, f"parameter {param.name} is declared but the query never uses ?_{param.name}")
    for use in unreached(text, [p.variable for p in params]):
        problem(use.line, UNREACHED.format(variable=use.variable, why=use.why))
    for param in params:
        if param.values_from is not None:
            _check_values_query(param, functools.partial(problem, param.line))
    form = next((t.text.upper() for t in found if t.kind == "word" and t.text.upper() in FORMS), None)
    if form is None:
        problem(1, "no SELECT, ASK, CONSTRUCT or DESCRIBE: a saved query is a SPARQL query, not an update")
        return None
    if form == "ASK" and outbound_targets(text, PREFIXES):
        return form  # an ASK is evaluated at once, and SERVICE would fetch: checked when it runs
    try:
        _empty().query(text, prefixes=PREFIXES)  # a syntax error, at its place in the file
        bound = bind_values(text, [(p.variable, dummy_term(p)) for p in params if p.name in used])
        _empty().query(bound, prefixes=PREFIXES)  # and the query as it runs, its VALUES block written in
    except SyntaxError as error:
        problem(QueryError.from_syntax("the query", error).line or 1, f"the query does not parse: {_first_line(error)}")
    except QueryError as error:
        problem(1, f"the query cannot take its parameters: {error}")
    except (RuntimeError, ValueError) as error:
        problem(1, f"the query cannot be run: {error}")
    return form


def _compared_in(found: list[Token], coalesce: int) -> list[str]:
    """The parameter variables in the arguments of the COALESCE at `coalesce` that are part of a larger
    expression (`?x = ?_p`), not an argument of their own (`COALESCE(?_p, 1)`, right on every store)."""
    if coalesce + 1 >= len(found) or found[coalesce + 1].text != "(":
        return []
    depth, compared = 0, []
    for j in range(coalesce + 1, len(found)):
        token = found[j]
        if token.kind == "other" and token.text in "([{":
            depth += 1
        elif token.kind == "other" and token.text in ")]}":
            depth -= 1
            if depth == 0:
                break
        elif token.kind == "var" and token.text[1:].startswith("_"):
            alone = depth == 1 and found[j - 1].text in ("(", ",") and found[j + 1].text in (",", ")")
            if not alone and token.text not in compared:
                compared.append(token.text)
    return compared


def _empty() -> ox.Store:
    """A store with no data, in memory, to parse and plan a query: nothing to read, nothing fetched.
    A new one each time, so none is shared across the server's fork."""
    return ox.Store()


def _first_line(error: Exception) -> str:
    """pyoxigraph's parse errors go on to list every character it expected; the first line says enough."""
    return str(error).splitlines()[0][:300]


def _check_values_query(param: Param, problem: Any) -> None:
    assert param.values_from is not None
    try:
        result = _empty().query(param.values_from, prefixes=PREFIXES)
    except SyntaxError as error:
        problem(f"parameter {param.name}: values_from does not parse: {_first_line(error)}")
        return
    if not isinstance(result, ox.QuerySolutions) or "value" not in [v.value for v in result.variables]:
        problem(f"parameter {param.name}: values_from must be a SELECT with a ?value column")
