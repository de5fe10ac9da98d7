"""Binding values into a query's text, the same on every store: a VALUES block at the start of its
WHERE group, and where in a query that block reaches.

pyoxigraph's `substitutions=` exists only in-process, and a remote SPARQL server reads nothing but the
text it is sent (issue 15). So values are bound on every store alike, the embedded one included, by
writing `VALUES (?a ?b) { (term term) }` right after the `{` that opens the query's WHERE group: written
from terms pyoxigraph serialises (`str()` of a term is N-Triples, which SPARQL reads as the same term),
never from text pasted in. A `SERVICE ?name` whose variable is bound is written `SERVICE <iri>` as well:
engines evaluate a SERVICE apart from its group, so the block would not name it. The group is found by
tokens (strings, IRIs, comments and prefixed names would fool a text search), and the block is written on
the line of that `{`, so the lines after it keep their numbers in error messages.

SPARQL evaluates a group by joining its parts in order, and applies the group's filters to the whole
(SPARQL 1.1, 18.2.2). So the block at the start of the WHERE group reaches (`unreached` says where it
does not):
- every triple pattern, property path, `GRAPH`/`SERVICE` name and `VALUES` of the WHERE group and of
  the groups nested in it (UNION branches, OPTIONAL, GRAPH, SERVICE, `{ }`), whose answers are joined
  with it;
- a FILTER or BIND directly in the WHERE group, and a FILTER directly in an OPTIONAL directly in the
  WHERE group (it is the left join's condition, evaluated on the WHERE group's bindings);
- a FILTER (NOT) EXISTS group in an expression it reaches: the group is evaluated with those bindings;
- everything outside the WHERE group: the projection, GROUP BY, HAVING, ORDER BY, a CONSTRUCT template.
It does not reach a FILTER or BIND in any other group (a UNION branch, a nested `{ }`, a GRAPH or SERVICE
group, a BIND in an OPTIONAL, a FILTER in an OPTIONAL nested deeper), which is evaluated before the join
and sees the variable unbound, nor anything inside a sub-SELECT (evaluated on its own, then joined) or a
MINUS (evaluated on its own, then matched on shared variables, so a bound one changes what it removes).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from skategraph.errors import QueryError
from skategraph.sparql.text import _TOKEN, Token, read

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
Value = ox.NamedNode | ox.Literal


def bind_values(text: str, bound: Sequence[tuple[str, Value]]) -> str:
    """`text` with `VALUES (?name ...) { (term ...) }` at the start of its WHERE group.

    `bound` is (variable name without '?', term) pairs; nothing bound gives the text unchanged. A
    `CONSTRUCT WHERE { ... }` (the short form, whose group takes only triples) is written out as
    `CONSTRUCT { ... } WHERE { VALUES ... ... }`, which the short form means. Raises QueryError for a
    query with no WHERE group to bind into, or a term SPARQL cannot give in VALUES (a blank node).
    """
    if not bound:
        return text
    names, terms = [], []
    for name, term in bound:
        if not isinstance(term, ox.NamedNode | ox.Literal):
            raise QueryError(f"?{name} cannot be bound to {term}: VALUES takes IRIs and literals only")
        names.append(str(ox.Variable(name)))  # raises ValueError for a name that is not a variable's
        terms.append(str(term))
    block = f" VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }} "
    found = read(text)
    where = where_group(found)
    if where is None:
        raise QueryError("the query has no WHERE group { ... } to bind its parameters in")
    text = _name_services(text, found, dict(zip(names, terms, strict=True)))
    opening = found[where].start
    form = _form(found)
    if form is not None and found[form].text.upper() == "CONSTRUCT" and found[form + 1].text != "{":
        # The short form: its group is the template too, and a template takes no VALUES.
        closing = found[_matching(found, where)].start
        after = found[form].start + len(found[form].text)
        template = _one_line(text[opening + 1 : closing])
        return f"{text[:after]} {{{template}}}{text[after : opening + 1]}{block}{text[opening + 1 :]}"
    return text[: opening + 1] + block + text[opening + 1 :]


def _name_services(text: str, found: Sequence[Token], terms: dict[str, str]) -> str:
    """`SERVICE ?name` with `?name` bound, as `SERVICE <iri>`: engines evaluate a SERVICE apart from the
    rest of its group, so the VALUES block does not name it (Oxigraph: "The variable encoding the service
    name is unbound"). Only text after the WHERE group's `{` changes, so its position holds."""
    for i in reversed(range(len(found))):
        token = found[i]
        if token.kind != "var" or "?" + token.text[1:] not in terms or i == 0:
            continue
        before = found[i - 1] if found[i - 1].text.upper() != "SILENT" or i < 2 else found[i - 2]
        if before.kind == "word" and before.text.upper() == "SERVICE":
            term = terms["?" + token.text[1:]]
            if not term.startswith("<"):
                raise QueryError(f"SERVICE {token.text} is bound to {term}, which is not an IRI")
            text = text[: token.start] + term + text[token.start + len(token.text) :]
    return text


def where_group(found: Sequence[Token]) -> int | None:
    """The index of the `{` that opens the query's WHERE group, or None if it has none (an update,
    `DESCRIBE <iri>`). Skips the prologue, a SELECT's projection (its expressions may hold EXISTS
    groups), FROM clauses and a CONSTRUCT's template."""
    form = _form(found)
    if form is None:
        return None
    i = form + 1
    if found[form].text.upper() == "CONSTRUCT" and i < len(found) and found[i].text == "{":
        i = _matching(found, i) + 1
    depth = 0
    for j in range(i, len(found)):
        token = found[j]
        if token.kind == "word" and token.text.upper() == "VALUES" and depth == 0:
            return None  # a trailing VALUES clause: the query had no group before it
        if token.kind != "other":
            continue
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif token.text == "{" and depth == 0:
            return j
    return None


def _form(found: Sequence[Token]) -> int | None:
    """The index of the query's form keyword (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
    return next((i for i, t in enumerate(found) if t.kind == "word" and t.text.upper() in FORMS), None)


def _matching(found: Sequence[Token], opening: int) -> int:
    """The index of the bracket that closes the one at `opening`."""
    depth = 0
    for j in range(opening, len(found)):
        if found[j].kind != "other":
            continue
        if found[j].text in "([{":
            depth += 1
        elif found[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    raise QueryError(f"the bracket at character {found[opening].start + 1} is never closed")


def _one_line(text: str) -> str:
    """`text` without its comments and line breaks (outside strings), so copying it keeps the lines
    after it where they were."""
    parts = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        parts.append(" " if kind in ("ws", "comment") else match.group())
    return "".join(parts)


@dataclass(frozen=True)
class Unreached:
    """A use of a bound variable that a VALUES block at the start of the WHERE group does not reach."""

    variable: str  # with its '?'
    line: int
    why: str  # where it is, for a message: "in a FILTER inside a UNION branch or nested { } group"


@dataclass
class _Frame:
    kind: str  # where, optional, minus, exists, select (a sub-SELECT), group (UNION branch, { }, GRAPH, SERVICE)
    joined: bool  # its patterns are joined with the WHERE group, so they see the bound values
    sees: bool  # a FILTER or BIND directly in it sees them
    parent: _Frame | None = None


_PLACES = {
    "group": "a UNION branch, nested { }, GRAPH or SERVICE group",
    "optional": "an OPTIONAL group",
    "exists": "a FILTER (NOT) EXISTS group",
    "where": "the WHERE group",
}


def unreached(text: str, variables: Collection[str]) -> list[Unreached]:
    """Every use of one of `variables` (names without '?') in `text` that a VALUES block at the start
    of the WHERE group does not reach, by the rule in this module's docstring."""
    found = read(text)
    where = where_group(found)
    if where is None:
        return []
    wanted = {f"?{name}" for name in variables} | {f"${name}" for name in variables}
    problems: list[Unreached] = []
    # One entry per open bracket: the group it opens, or for a ( or [ the reach of the expression it
    # is part of (None: not an expression, e.g. a property path or a collection).
    stack: list[_Frame | bool | None] = [_Frame("where", joined=True, sees=True)]
    pending: str | None = None  # FILTER or BIND, until its first bracket opens
    for i in range(where + 1, len(found)):
        token = found[i]
        frame = next(entry for entry in reversed(stack) if isinstance(entry, _Frame))
        inner = stack[-1]
        in_expression = not isinstance(inner, _Frame) and inner is not None
        reach = inner if in_expression else None
        if token.kind == "word" and token.text.upper() in ("FILTER", "BIND") and not in_expression:
            pending = token.text.upper()
            continue
        if token.kind == "other" and token.text in "([{":
            if pending is not None:
                reach = _expression_reach(frame, pending)
                in_expression, pending = True, None
            if token.text != "{":
                stack.append(reach if in_expression else None)
            elif in_expression:
                stack.append(_Frame("exists", joined=bool(reach), sees=bool(reach), parent=frame))
            else:
                stack.append(_group(found, i, frame))
            continue
        if token.kind == "other" and token.text in ")]}":
            stack.pop()
            if not stack:
                break  # the end of the WHERE group
            continue
        if token.kind != "var" or token.text not in wanted:
            continue
        line = text.count("\n", 0, token.start) + 1
        enclosing = [entry for entry in stack if isinstance(entry, _Frame)]
        if any(f.kind == "select" for f in enclosing):
            problems.append(Unreached(token.text, line, "inside a sub-SELECT, which is evaluated on its own"))
        elif any(f.kind == "minus" for f in enclosing):
            problems.append(Unreached(token.text, line, "inside MINUS, which is evaluated on its own"))
        elif in_expression and not reach:
            keyword = _keyword_before(found, i)
            problems.append(Unreached(token.text, line, f"in a {keyword} inside {_PLACES[frame.kind]}"))
        elif not in_expression and not frame.joined:
            problems.append(Unreached(token.text, line, "inside a FILTER (NOT) EXISTS of a group that does not see it"))
    return problems


def _expression_reach(frame: _Frame, keyword: str) -> bool:
    if frame.kind == "where" or (frame.kind == "exists" and frame.sees):
        return True
    in_where = frame.parent is not None and frame.parent.kind == "where"
    return keyword == "FILTER" and frame.kind == "optional" and in_where


def _group(found: Sequence[Token], opening: int, parent: _Frame) -> _Frame:
    """The frame of the group opened at `opening`, by the keyword before it and what it starts with."""
    after = found[opening + 1] if opening + 1 < len(found) else None
    if after is not None and after.kind == "word" and after.text.upper() == "SELECT":
        return _Frame("select", joined=False, sees=False, parent=parent)
    before = found[opening - 1]
    keyword = before.text.upper() if before.kind == "word" else ""
    if keyword == "OPTIONAL":
        return _Frame("optional", joined=parent.joined, sees=False, parent=parent)
    if keyword == "MINUS":
        return _Frame("minus", joined=False, sees=False, parent=parent)
    return _Frame("group", joined=parent.joined, sees=False, parent=parent)


def _keyword_before(found: Sequence[Token], index: int) -> str:
    """FILTER or BIND: the nearest one before `index`."""
    return next(
        (t.text.upper() for t in reversed(found[:index]) if t.kind == "word" and t.text.upper() in ("FILTER", "BIND")),
        "FILTER",
    )
