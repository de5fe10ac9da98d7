"""SPARQL SELECT results written row by row, in the four SPARQL results formats.

pyoxigraph serialises a whole `QuerySolutions`; the endpoint needs more: stop at a row limit and say
so in the result itself (the SPARQL 1.1 JSON and XML formats let the head carry `link`s), which means
writing a list of rows it has already read. The output matches pyoxigraph's byte for byte otherwise
(`tests/test_results.py` compares them).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from typing import IO

import pyoxigraph as ox

from skategraph.graph.vocab import RDF, XSD

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
XSD_STRING = XSD + "string"
RDF_LANG_STRING = RDF + "langString"
# Turtle's short forms, which pyoxigraph's TSV writer uses for these datatypes.
_SHORT = {
    XSD + "integer": re.compile(r"[+-]?\d+"),
    XSD + "decimal": re.compile(r"[+-]?\d*\.\d+"),
    XSD + "double": re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+"),
    XSD + "boolean": re.compile(r"true|false"),
}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def json_term(term: Term) -> dict[str, object]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": json_term(term.subject),
                "predicate": json_term(term.predicate),
                "object": json_term(term.object),
            },
        }
    literal: dict[str, object] = {"type": "literal", "value": term.value}
    if term.language:
        literal["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        literal["datatype"] = term.datatype.value
    return literal


_escape = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) quotes a string with


def _json_text(term: Term) -> str:
    """`_json_term` as JSON text, written out for the common terms (a tenth of the time of building a
    dict and dumping it, for every term of every row)."""
    if isinstance(term, ox.NamedNode):
        return '{"type":"uri","value":' + _escape(term.value) + "}"
    if isinstance(term, ox.Literal):
        literal = '{"type":"literal","value":' + _escape(term.value)
        if term.language:
            return literal + ',"xml:lang":' + _escape(term.language) + "}"
        datatype = term.datatype.value
        return literal + "}" if datatype == XSD_STRING else literal + ',"datatype":' + _escape(datatype) + "}"
    if isinstance(term, ox.BlankNode):
        return '{"type":"bnode","value":' + _escape(term.value) + "}"
    return json.dumps(json_term(term), ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=256)
def _json_head(variables: tuple[str, ...], links: tuple[str, ...]) -> str:
    """A JSON result's opening, made once for its variables and links."""
    head: dict[str, object] = {"vars": list(variables)}
    if links:
        head["link"] = list(links)
    return '{"head":' + json.dumps(head, separators=(",", ":")) + ',"results":{"bindings":['


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
            f"</predicate><object>{_xml_term(term.object)}</object></triple>"
        )
    if term.language:
        return f'<literal xml:lang="{_xml(term.language)}">{_xml(term.value)}</literal>'
    if term.datatype.value != XSD_STRING:
        return f'<literal datatype="{_xml(term.datatype.value)}">{_xml(term.value)}</literal>'
    return f"<literal>{_xml(term.value)}</literal>"


def _csv_term(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Term | None) -> str:
    if term is None:
        return ""
    if not isinstance(term, ox.Literal):
        return str(term)
    if term.language:
        return f'"{term.value.translate(_TSV_ESCAPES)}"@{term.language}'
    datatype = term.datatype.value
    short = _SHORT.get(datatype)
    if short is not None and short.fullmatch(term.value):
        return term.value
    quoted = f'"{term.value.translate(_TSV_ESCAPES)}"'
    return quoted if datatype == XSD_STRING else f"{quoted}^^<{datatype}>"


class SolutionsWriter:
    """Writes a SELECT result one row at a time to a binary stream.

    With `head=False` the head is left for `write_head`, to be written later, perhaps to another
    stream: a worker spools the rows before it knows whether the head must say they were cut short.
    """

    def __init__(
        self, out: IO[bytes], name: str, variables: Sequence[str], links: Sequence[str] = (), *, head: bool = True
    ) -> None:
        if name not in ("json", "xml", "csv", "tsv"):
            raise ValueError(f"not a SPARQL results format: {name}")
        self.out = out
        self.name = name
        self.variables = list(variables)
        self._keys = [_escape(name) + ":" for name in self.variables]  # each binding's key, as JSON
        self.first = True
        if head:
            self.write_head(links)

    def write_head(self, links: Sequence[str] = ()) -> None:
        if self.name == "json":
            self._write(_json_head(tuple(self.variables), tuple(links)))
        elif self.name == "xml":
            heads = "".join(f'<variable name="{_xml(v)}"/>' for v in self.variables)
            heads += "".join(f'<link href="{_xml(link)}"/>' for link in links)
            self._write(
                '<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head>{heads}</head><results>"
            )
        elif self.name == "csv":
            self._csv_row(self.variables)
        else:
            self._write("\t".join(f"?{v}" for v in self.variables) + "\n")

    def _write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))

    def _csv_row(self, values: Sequence[str]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(values)
        self._write(buffer.getvalue())

    def row(self, values: Sequence[Term | None]) -> None:
        if self.name == "json":
            text = ",".join([key + _json_text(t) for key, t in zip(self._keys, values, strict=True) if t is not None])
            self._write(("{" if self.first else ",{") + text + "}")
        elif self.name == "xml":
            bindings = "".join(
                f'<binding name="{_xml(v)}">{_xml_term(t)}</binding>'
                for v, t in zip(self.variables, values, strict=True)
                if t is not None
            )
            self._write(f"<result>{bindings}</result>")
        elif self.name == "csv":
            self._csv_row([_csv_term(t) for t in values])
        else:
            self._write("\t".join(_tsv_term(t) for t in values) + "\n")
        self.first = False

    def close(self) -> None:
        if self.name == "json":
            self._write("]}}")
        elif self.name == "xml":
            self._write("</results></sparql>")


def write_boolean(out: IO[bytes], name: str, value: bool) -> None:
    """An ASK result; CSV and TSV are not defined for booleans, so they get the bare word."""
    if name == "json":
        out.write(b'{"head":{},"boolean":' + (b"true" if value else b"false") + b"}")
    elif name == "xml":
        out.write(
            b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head></head><boolean>'
            + (b"true" if value else b"false")
            + b"</boolean></sparql>"
        )
    else:
        out.write(b"true\n" if value else b"false\n")


class Page:
    """The rows of a SELECT result to write: some columns left out, from an offset, up to a limit.

    `rows` is read lazily, one solution at a time, so a page of any size costs the memory of one row;
    `more` (rows beyond the limit exist: the answer is cut short) is known once `rows` is exhausted.
    """

    def __init__(self, result: ox.QuerySolutions, offset: int, limit: int, hidden: Sequence[str]) -> None:
        names = [v.value for v in result.variables]
        keep = [i for i, name in enumerate(names) if name not in hidden]
        self.variables = [names[i] for i in keep]
        self.more = False
        self.rows = self._read(result, offset, limit, keep if len(keep) < len(names) else None)

    def _read(
        self, result: ox.QuerySolutions, offset: int, limit: int, keep: list[int] | None
    ) -> Iterator[list[Term | None]]:
        for count, solution in enumerate(itertools.islice(result, offset, None)):
            if limit and count == limit:
                self.more = True  # one row past the limit was read, and is dropped
                return
            row = list(solution)
            yield row if keep is None else [row[i] for i in keep]


def select_page(result: ox.QuerySolutions, *, offset: int = 0, limit: int = 0, hidden: Sequence[str] = ()) -> Page:
    """Skip `offset` rows and keep `limit` (0: all), leaving out the `hidden` columns.

    With a limit, one row past it is read, so `more` can say whether the result is cut short; it is
    set when the rows have been read.
    """
    return Page(result, offset, limit, hidden)
