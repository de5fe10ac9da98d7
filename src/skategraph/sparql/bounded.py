"""Queries whose cost is bounded by what they return: one triple pattern, read up to a known count.

A query engine that cannot be interrupted (pyoxigraph has no cancellation) can still be given a
client's text to run where it stands, without a killable process around it, if the work the text can
cause is bounded before it starts. For one triple pattern with no variable repeated, Oxigraph reads
the solutions straight off the index that matches the pattern's fixed terms (it has one for every
combination of subject, predicate and object), so each step of the iteration is a solution; reading
`need` solutions is `need` index steps, whatever the store's size. No DISTINCT (it may read any
number of duplicates to find one more), no FILTER, no join, no property path, no aggregate, no
ORDER BY (it reads everything before the first row).

`needed` reads the text with a tokenizer stricter than SPARQL's grammar: any token it does not know
(a backslash escape anywhere, a blank node, a long string, a number in another form) makes the text
unbounded, which only means that it goes to a worker as every other query does. What it accepts is
accepted by Oxigraph's parser as the same pattern: the same structure, no escapes to decode.

    [PREFIX p: <iri> | BASE <iri>]*
    SELECT (* | ?v+) [WHERE] { s p o [.] } [LIMIT n] [OFFSET n]      (either order)
    ASK [WHERE] { s p o [.] }
"""

from __future__ import annotations

import functools
import re

from skategraph.sparql.text import REMEMBERED_TEXT

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n\r\\]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_]+)
  | (?P<pname>(?:[A-Za-z][\w\-]*(?:\.[\w\-]+)*)?:(?:[\w\-:]+(?:\.[\w\-:]+)*)?)
  | (?P<string>"[^"\\\n\r]*"|'[^'\\\n\r]*')
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<typed>\^\^)
  | (?P<number>[+-]?[0-9]+(?:\.[0-9]+)?)
  | (?P<word>[A-Za-z]+)
  | (?P<mark>[{}.*])
    """,
    re.VERBOSE,
)
_CLAUSES = ("LIMIT", "OFFSET")


def needed(text: str, cap: int | None) -> int | None:
    """How many solutions evaluating `text` can read, when its caller reads at most `cap` rows of it
    (None: all it gives): for a SELECT, its OFFSET plus the lesser of its LIMIT and `cap`; 1 for an
    ASK. None if that is not bounded (no LIMIT and no cap), or if the text is not one triple pattern
    read so: any query the engine may have to work for. Remembered for short texts (the 512 most
    recent), as the tokens of a text are (`skategraph.sparql.text.read`)."""
    return _remembered(text, cap) if len(text) <= REMEMBERED_TEXT else _needed(text, cap)


@functools.lru_cache(maxsize=512)
def _remembered(text: str, cap: int | None) -> int | None:
    return _needed(text, cap)


def _needed(text: str, cap: int | None) -> int | None:
    if "\r" in text and "#" in text:
        return None  # SPARQL ends a comment at CR too; read here, a comment never holds one
    words = _tokens(text)
    if words is None:
        return None
    at = _prologue(words)
    if at is None or at >= len(words):
        return None
    form = _upper(words[at])
    if form == "ASK":
        end = _group(words, at + 1)
        return 1 if end == len(words) else None
    if form != "SELECT":
        return None
    at += 1
    if at < len(words) and words[at] == ("mark", "*"):
        at += 1
    else:
        start = at
        while at < len(words) and words[at][0] == "var":
            at += 1
        if at == start:
            return None
    end = _group(words, at)
    if end is None:
        return None
    found = _modifiers(words[end:])
    if found is None:
        return None
    limit, offset = found
    read = min((n for n in (limit, cap) if n is not None), default=None)
    return None if read is None else offset + read


Token = tuple[str, str]


def _tokens(text: str) -> list[Token] | None:
    """The tokens of `text` without spaces and comments; None if any part is not a token read here."""
    found: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            return None
        kind = match.lastgroup
        assert kind is not None
        if kind not in ("ws", "comment"):
            found.append((kind, match.group()))
        at = match.end()
    return found


def _upper(token: Token) -> str:
    return token[1].upper() if token[0] == "word" else ""


def _prologue(words: list[Token]) -> int | None:
    """Where the query form starts, after its PREFIX and BASE declarations."""
    at = 0
    while at < len(words):
        keyword = _upper(words[at])
        if keyword == "BASE" and at + 1 < len(words) and words[at + 1][0] == "iri":
            at += 2
        elif keyword == "PREFIX" and at + 2 < len(words):
            name, iri = words[at + 1], words[at + 2]
            if name[0] != "pname" or not name[1].endswith(":") or name[1].count(":") != 1 or iri[0] != "iri":
                return None
            at += 3
        else:
            return at
    return at


def _group(words: list[Token], at: int) -> int | None:
    """The end of `[WHERE] { s p o [.] }` from `at`: one triple pattern with no variable repeated."""
    if at < len(words) and _upper(words[at]) == "WHERE":
        at += 1
    if words[at : at + 1] != [("mark", "{")]:
        return None
    at += 1
    subject = _term(words, at, ("iri", "pname", "var"))
    predicate = _term(words, subject, ("iri", "pname", "var", "a")) if subject else None
    obj = _term(words, predicate, ("iri", "pname", "var", "literal")) if predicate else None
    if obj is None:
        return None
    variables = [word for word in words[at:obj] if word[0] == "var"]
    if len({name[1:] for _, name in variables}) != len(variables):
        return None  # ?x ?p ?x: the engine filters a scan, so steps are not solutions
    at = obj
    if words[at : at + 1] == [("mark", ".")]:
        at += 1
    if words[at : at + 1] != [("mark", "}")]:
        return None
    return at + 1


def _term(words: list[Token], at: int | None, kinds: tuple[str, ...]) -> int | None:
    """Where the term at `at` ends, if it is of one of `kinds` (an RDF literal counts as "literal")."""
    if at is None or at >= len(words):
        return None
    kind, text = words[at]
    if kind in kinds and kind != "word":
        return at + 1
    if "a" in kinds and words[at] == ("word", "a"):
        return at + 1
    if "literal" not in kinds:
        return None
    if kind == "number" or (kind == "word" and text in ("true", "false")):
        return at + 1
    if kind != "string":
        return None
    at += 1
    if at < len(words) and words[at][0] == "lang":
        return at + 1
    if at < len(words) and words[at][0] == "typed":
        if at + 1 < len(words) and words[at + 1][0] in ("iri", "pname"):
            return at + 2
        return None
    return at


def _modifiers(words: list[Token]) -> tuple[int | None, int] | None:
    """The LIMIT (None if there is none) and OFFSET of `[LIMIT n] [OFFSET n]`, in either order; None if
    the words are anything else."""
    seen: dict[str, int] = {}
    at = 0
    while at < len(words):
        keyword = _upper(words[at])
        if keyword not in _CLAUSES or keyword in seen or at + 1 >= len(words):
            return None
        kind, text = words[at + 1]
        if kind != "number" or not text.isdigit():
            return None
        seen[keyword] = int(text)
        at += 2
    return seen.get("LIMIT"), seen.get("OFFSET", 0)
