"""What skategraph needs to know about a SPARQL text before the engine sees it.

Oxigraph evaluates `SERVICE <url>` and `LOAD <url>` by fetching the URL, and its union-default-graph
option silently overrides a query's own `FROM`. So before evaluation we find, by tokens (never by a
bare text search, which strings, IRIs, comments and prefixed names like `ex:service` would fool):
- whether a query declares its own dataset (`FROM`, `FROM NAMED`);
- which URLs it would make the server fetch (`SERVICE` and `LOAD` targets).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from skategraph.errors import OutboundRefused, QueryError

# Order matters: long strings before short ones, IRIs before the `<` operator.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
               |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\uffff]+)
  | (?P<pname>(?:[A-Za-z\u00c0-\uffff][\w.\-\u00c0-\uffff]*)?:{local}*(?:\.{local}+)*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """.replace("{local}", r"(?:[\w\-:%\u00c0-\uffff]|\\[_~.\-!$&'()*+,;=/?\#@%])"),
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # iri, var, pname, word, string, other
    text: str
    start: int


def tokens(text: str) -> Iterator[Token]:
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        if kind not in ("ws", "comment"):
            yield Token(kind, match.group(), match.start())


# Texts up to this long keep their tokens for the next request that sends them (the same lookup, a
# page's queries, a client polling): reading a query twice was a tenth of a small query's cost.
REMEMBERED_TEXT = 4096


def read(text: str) -> tuple[Token, ...]:
    """The tokens of `text`, remembered for short texts (the 512 most recent)."""
    return _remembered(text) if len(text) <= REMEMBERED_TEXT else tuple(tokens(text))


@functools.lru_cache(maxsize=512)
def _remembered(text: str) -> tuple[Token, ...]:
    return tuple(tokens(text))


def _words(text: str | Sequence[Token]) -> Sequence[Token]:
    """The tokens of `text`, or `text` itself when it is tokens already (read once, checked twice)."""
    return read(text) if isinstance(text, str) else text


# Deeper nesting than this is refused before the engine sees it: Oxigraph's parser recurses, and some
# thousands of nested parentheses or braces overflow its stack and kill the process (measured here:
# 5,000 parentheses or 3,000 braces). Real queries nest a few levels.
MAX_NESTING = 256


def check_nesting(text: str | Sequence[Token]) -> None:
    """Refuse a query or update whose ( [ { nest deeper than MAX_NESTING (strings and IRIs aside)."""
    depth = deepest = 0
    for token in _words(text):
        if token.kind != "other":
            continue
        if token.text in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    raise QueryError(
                        f"the request nests brackets more than {MAX_NESTING} deep, the limit here; "
                        "write the expression flatter"
                    )
        elif token.text in ")]}":
            depth -= 1


def declares_dataset(text: str) -> bool:
    """Whether the query has a `FROM` or `FROM NAMED` clause of its own."""
    if "from" not in text.lower():
        # No FROM token without the word: skip reading the tokens of a text seen once (a query with
        # its values bound in, issue 15), which cost a page ~0.1 ms a query and churned `read`'s memo.
        return False
    return any(t.kind == "word" and t.text.upper() == "FROM" for t in read(text))


_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\(.)")


def _iri(token: Token) -> str:
    """An IRI token's IRI, its `\\u` and `\\U` escapes decoded as the engine decodes them."""
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), token.text[1:-1])


def outbound_targets(
    text: str | Sequence[Token], prefixes: Mapping[str, str] | None = None, base: str | None = None
) -> list[str]:
    """The URLs that evaluating `text` would fetch: `SERVICE` and `LOAD` targets, resolved.

    A `SERVICE ?variable` target cannot be known before evaluation and is returned as `?variable`.
    The reading fails closed: a backslash the engine would not take (outside a string, an IRI's
    `\\u` escape or a prefixed name's `\\` escape), or a SERVICE/LOAD followed by anything but an
    IRI, a prefixed name or a variable, is refused rather than guessed at.
    """
    found = _words(text)
    # A prefix's IRI, with the base it is resolved against: resolved only when a target uses it (most
    # queries fetch nothing, and resolving every declaration was a tenth of a small query's cost).
    declared: dict[str, tuple[str, str]] = {name: ("", iri) for name, iri in (prefixes or {}).items()}
    base = base or ""
    targets = []
    for i, token in enumerate(found):
        if token.kind == "other" and token.text == "\\":
            raise QueryError(f"a backslash at character {token.start + 1} outside a string, IRI or prefixed name")
        keyword = token.text.upper() if token.kind == "word" else ""
        if keyword == "PREFIX" and i + 2 < len(found) and found[i + 2].kind == "iri":
            declared[found[i + 1].text.rstrip(":")] = (base, _iri(found[i + 2]))
        elif keyword == "BASE" and i + 1 < len(found) and found[i + 1].kind == "iri":
            base = urljoin(base, _iri(found[i + 1]))
        elif keyword in ("SERVICE", "LOAD"):
            j = i + 1
            if j < len(found) and found[j].kind == "word" and found[j].text.upper() == "SILENT":
                j += 1
            target = found[j] if j < len(found) else None
            if target is None or target.kind not in ("iri", "pname", "var"):
                raise QueryError(f"{keyword} at character {token.start + 1} is not followed by an IRI or a variable")
            if target.kind == "iri":
                targets.append(urljoin(base, _iri(target)))
            elif target.kind == "pname":
                prefix, _, local = target.text.partition(":")
                local = _LOCAL_ESCAPE.sub(r"\1", local)
                targets.append(urljoin(*declared[prefix]) + local if prefix in declared else target.text)
            else:
                targets.append(target.text)
    return targets


def check_outbound(
    text: str | Sequence[Token],
    allowed: frozenset[str],
    prefixes: Mapping[str, str] | None = None,
    bound: Mapping[str, str] | None = None,
    base: str | None = None,
) -> None:
    """Refuse `SERVICE`/`LOAD` targets that are not on the allow-list, before anything is fetched.

    A `SERVICE ?variable` target is checked by the value the variable is bound to (a saved query's
    parameter, substituted before evaluation); an unbound one cannot be checked and is refused.
    """
    for found in outbound_targets(text, prefixes, base):
        target = (bound or {}).get(found[1:], found) if found.startswith(("?", "$")) else found
        if target.startswith(("?", "$")):
            raise OutboundRefused(
                f"SERVICE {target}: a variable service endpoint cannot be checked against the allow-list"
            )
        if target not in allowed:
            hint = "" if allowed else " (no endpoints are allowed: see --allow-service)"
            raise OutboundRefused(f"the server does not fetch {target}: it is not on the allow-list{hint}")


# What a query may call by IRI when it is sent to a remote store's server: the XSD casts, which every
# engine evaluates alike. Anything else is the server's own extension: Virtuoso's `bif:` and `sql:`
# functions reach its SQL, its files and the network (`bif:http_get`), and nothing a request sends
# may reach them.
STANDARD_FUNCTIONS = ("http://www.w3.org/2001/XMLSchema#",)


def called_functions(
    text: str | Sequence[Token], prefixes: Mapping[str, str] | None = None, base: str | None = None
) -> list[str]:
    """The IRIs `text` calls as functions (an IRI or prefixed name followed by `(`), resolved; a
    prefixed name whose prefix is not declared is returned as written.

    Read by tokens, so it fails closed: a collection written right after a predicate (`?s <p> (1 2)`)
    reads as a call too.
    """
    found = _words(text)
    declared = dict(prefixes or {})
    base = base or ""
    called = []
    for i, token in enumerate(found):
        keyword = token.text.upper() if token.kind == "word" else ""
        if keyword == "PREFIX" and i + 2 < len(found) and found[i + 2].kind == "iri":
            declared[found[i + 1].text.rstrip(":")] = urljoin(base, _iri(found[i + 2]))
        elif keyword == "BASE" and i + 1 < len(found) and found[i + 1].kind == "iri":
            base = urljoin(base, _iri(found[i + 1]))
        elif token.kind in ("iri", "pname") and i + 1 < len(found) and found[i + 1].text == "(":
            if i > 0 and found[i - 1].kind == "word" and found[i - 1].text.upper() in ("PREFIX", "BASE"):
                continue
            if token.kind == "iri":
                called.append(urljoin(base, _iri(token)))
            else:
                prefix, _, local = token.text.partition(":")
                local = _LOCAL_ESCAPE.sub(r"\1", local)
                called.append(declared[prefix] + local if prefix in declared else token.text)
    return called


def check_standard_functions(
    text: str | Sequence[Token], prefixes: Mapping[str, str] | None = None, base: str | None = None
) -> None:
    """Refuse a query for a remote store that calls a function other than the standard ones (the
    SPARQL built-ins, which are keywords, and the XSD casts): the server's own would run there."""
    for iri in called_functions(text, prefixes, base):
        if not iri.startswith(STANDARD_FUNCTIONS):
            raise OutboundRefused(
                f"the query calls {iri}, which is not a standard SPARQL function: this store's server is sent "
                "only the SPARQL built-ins and XSD casts (a list written right after a predicate reads as a "
                "call: write it with rdf:first and rdf:rest)"
            )


def add_using(update: str, using: tuple[str, ...], using_named: tuple[str, ...]) -> str:
    """Apply the protocol's `using-graph-uri` / `using-named-graph-uri` to an update.

    The protocol defines them as equivalent to `USING` / `USING NAMED` clauses on every operation
    with a `WHERE`; pyoxigraph has no parameter for them, so the clauses are written in, built from
    IRIs that `pyoxigraph.NamedNode` has validated (no text from the request is pasted unchecked).
    """
    import pyoxigraph as ox

    found = _words(update)
    if any(t.kind == "word" and t.text.upper() in ("USING", "WITH") for t in found):
        raise QueryError(
            "the request names a dataset (using-graph-uri / using-named-graph-uri) and so does the update "
            "(USING / WITH): give one or the other"
        )
    clause = "".join(f" USING {ox.NamedNode(iri)}" for iri in using)
    clause += "".join(f" USING NAMED {ox.NamedNode(iri)}" for iri in using_named)
    depth, inserts = 0, []
    for i, token in enumerate(found):
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
        elif depth == 0 and token.kind == "word" and token.text.upper() == "WHERE":
            after_delete = i > 0 and found[i - 1].kind == "word" and found[i - 1].text.upper() == "DELETE"
            if not after_delete:  # DELETE WHERE takes no USING clause
                inserts.append(token.start)
    for position in reversed(inserts):
        update = update[:position] + clause.lstrip() + " " + update[position:]
    return update
