"""The remote store: the dataset kept in a SPARQL server (Oxigraph's server or Virtuoso), behind the
same `GraphStore` boundary as the embedded store, with the same answers and limits (issue 15).

Every query names the dataset (`default-graph-uri`/`named-graph-uri`: the manifest's graphs), since
neither server's default graph is ours (Oxigraph's is its real, empty one; Virtuoso's is every graph,
its system graphs too), and is parsed here first, so that a syntax error is ours, at the client's own
line and column. The answers are pyoxigraph's own types, as the embedded store's are. A query cut by the
server's time limit, or by our own, is a QueryTimeout; an answer the server cut at its row cap, a
ResultCapped: neither is ever served as complete.

A `RemoteStore` answers for one build, as an embedded generation does. Virtuoso's readers see a switch
of several graphs half done (`skategraph.store.switch`), so after every query the store checks that the
build is still its own and no switch is journaled; if either changed, the answer may mix builds and
GenerationGone is raised instead: the caller opens the store again (`open_remote` waits for a switch
under way) and retries.

Where the server is and how it is reached: `skategraph.store.connection`; how a build gets there:
`skategraph.store.switch`.
"""

from __future__ import annotations

import re
import time
from typing import IO, Any

import pyoxigraph as ox
import requests

from skategraph.errors import GenerationGone, QueryError, ResultCapped, StoreNotFound, StoreUnavailable
from skategraph.graph.vocab import PREFIXES
from skategraph.sparql import formats
from skategraph.sparql.text import declares_dataset, read
from skategraph.store import switch
from skategraph.store.base import QueryResult
from skategraph.store.connection import (
    BUILD,
    CANCELLED,
    CONNECT_TIMEOUT,
    CONTROL,
    EMPTY,
    SWITCHING,
    Client,
    Remote,
    parse_remote,
    read_control,
    solutions,
)

XML_RESULTS = "application/sparql-results+xml"

__all__ = ["Remote", "RemoteStore", "build_remote", "open_remote", "parse_remote"]


class RemoteStore:
    """The dataset of one build, kept in a remote SPARQL server."""

    def __init__(self, remote: Remote, manifest: dict[str, Any] | None = None) -> None:
        self.remote = remote
        self.client = Client(remote)
        if manifest is None:
            control = read_control(self.client)
            if control.manifest is None:
                raise StoreNotFound(f"no dataset at the remote store {remote}: run 'skategraph build' first")
            manifest = control.manifest
        self.manifest: dict[str, Any] = manifest
        self.graphs: list[str] = sorted(manifest.get("stats", {}).get("graphs", {}))
        self._parser = ox.Store()  # empty: queries are parsed here first, for our errors and positions

    def __repr__(self) -> str:
        return f"RemoteStore({self.remote.name!r}, build {self.manifest.get('build_id')!r})"

    def current_id(self) -> str:
        """The build id in place on the server now (one small query)."""
        query = f"SELECT ?b WHERE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{BUILD}> ?b }} }}"
        response, body = self.client.request(
            "POST", self.remote.query_url, data={"query": query}, headers={"Accept": XML_RESULTS},
            deadline=time.monotonic() + CONNECT_TIMEOUT * 2,
        )  # fmt: skip
        self.client.check(response, body, "a read of the control graph")
        for row in solutions(body, self.remote):
            if row[0] is not None:
                return str(row[0].value)
        raise StoreNotFound(f"no dataset at the remote store {self.remote}: run 'skategraph build' first")

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        base_iri: str | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a SPARQL query on the server, on this build's dataset, as the embedded store would.

        `timeout` (seconds) bounds the whole call; values are bound into the text before any store
        sees it (`skategraph.sparql.values`).
        """
        deadline = time.monotonic() + timeout if timeout is not None else None
        form = self._form(sparql, base_iri)
        text, dataset = self._request_text(sparql, base_iri, default_graph, named_graphs)
        data: dict[str, Any] = {"query": text, **dataset}
        if self.remote.kind == "virtuoso" and timeout is not None:
            data["timeout"] = str(max(1, int(timeout * 1000)))  # its anytime limit: partial results after it
        accept = "application/n-triples" if form == "graph" else self._results_type()
        started = time.monotonic()
        response, body = self.client.request(
            "POST", self.remote.query_url, data=data, headers={"Accept": accept}, deadline=deadline, limit=timeout
        )
        self.client.check(response, body, "the query")
        if CANCELLED in body[-200:] or response.headers.get("X-SQL-State", "").startswith("S1T"):
            raise self.client.timeout(timeout)
        if self.remote.kind == "virtuoso" and timeout is not None and time.monotonic() - started >= timeout:
            # Virtuoso's anytime limit: a SELECT it cut can come back as a plain 200, no header saying
            # so (measured); an answer that took the whole limit is taken as cut.
            raise self.client.timeout(timeout)
        result = self._result(form, body, response)
        self._still_current(deadline)
        return result

    def _form(self, sparql: str, base_iri: str | None) -> str:
        """select, ask or graph, from our own parser: a syntax error is ours, at the client's line and column."""
        try:
            parsed = self._parser.query(sparql, prefixes=PREFIXES, base_iri=base_iri, use_default_graph_as_union=True)
        except SyntaxError as error:
            raise QueryError.from_syntax("the query", error) from None
        except (OSError, ValueError, RuntimeError) as error:
            raise QueryError(f"the query could not be evaluated: {error}") from None
        if isinstance(parsed, ox.QuerySolutions):
            return "select"
        return "ask" if isinstance(parsed, ox.QueryBoolean) else "graph"

    def _request_text(
        self,
        sparql: str,
        base_iri: str | None,
        default_graph: list[ox.NamedNode | ox.DefaultGraph] | None,
        named_graphs: list[ox.NamedNode] | None,
    ) -> tuple[str, dict[str, list[str]]]:
        """The text sent (our prefixes and base declared on its first line, so the server's lines are
        the client's) and the dataset named with it."""
        declared = declares_dataset(sparql)
        if default_graph is None and named_graphs is None and declared:
            dataset: dict[str, list[str]] = {}  # the query's own FROM / FROM NAMED
        else:
            if declared:  # the request's dataset overrides the query's, as the protocol says
                sparql = _without_dataset_clauses(sparql)
            defaults = (
                [EMPTY if isinstance(g, ox.DefaultGraph) else g.value for g in default_graph]
                if default_graph is not None
                else self.graphs
            )
            named = [g.value for g in named_graphs] if named_graphs is not None else self.graphs
            dataset = {"default-graph-uri": defaults or [EMPTY], "named-graph-uri": named or [EMPTY]}
        head = "".join(f"PREFIX {prefix}: <{iri}> " for prefix, iri in PREFIXES.items())
        if base_iri is not None:
            head = f"BASE {ox.NamedNode(base_iri)} " + head
        if self.remote.kind == "virtuoso":
            sparql = _blank_nodes_are_not_iris(sparql)
            # DESCRIBE as Oxigraph (and so the embedded store) answers it: the resource's own triples and
            # its blank nodes', not Virtuoso's default, which adds every triple pointing at it
            head = 'DEFINE sql:describe-mode "SPO" ' + head
        return head + sparql, dataset

    def _results_type(self) -> str:
        # Virtuoso's JSON has the old `typed-literal` type; its XML is the standard's.
        return "application/sparql-results+xml" if self.remote.kind == "virtuoso" else "application/sparql-results+json"

    def _result(self, form: str, body: bytes, response: requests.Response) -> QueryResult:
        cap = self.remote.max_rows
        try:
            if form == "graph":
                triples = [quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES)]
                if cap is not None and len(triples) >= cap:
                    raise self._capped(cap)
                holder = ox.Store()
                holder.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
                result = holder.query("CONSTRUCT WHERE { ?s ?p ?o }")
                assert isinstance(result, ox.QueryTriples)
                return result
            if self.remote.kind == "virtuoso":
                if "X-SPARQL-MaxRows" in response.headers:
                    raise self._capped(int(response.headers["X-SPARQL-MaxRows"]))
                if form == "select" and cap is not None and body.count(b"<result>") >= cap:
                    raise self._capped(cap)
                return solutions(body, self.remote) if form == "select" else self._boolean(body)
            return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
        except (SyntaxError, ValueError) as error:
            raise StoreUnavailable(
                f"the remote store {self.remote} sent an answer that does not parse: {error}"
            ) from None

    def _boolean(self, body: bytes) -> ox.QueryBoolean:
        result = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
        assert isinstance(result, ox.QueryBoolean)
        return result

    def _capped(self, rows: int) -> ResultCapped:
        return ResultCapped(
            f"the remote store {self.remote} cut the answer at {rows:,} rows, its limit: ask for fewer "
            "(a LIMIT, or a narrower pattern)",
            rows=rows,
        )

    def _still_current(self, deadline: float | None) -> None:
        """GenerationGone unless the server still holds this build, with no switch journaled: only
        then can the answer not mix two builds."""
        if deadline is not None:
            deadline = max(deadline, time.monotonic() + 1.0)  # the answer is here: a second to confirm it
        build = ox.Literal(str(self.manifest.get("build_id")))
        query = (f"ASK {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{BUILD}> {build} }} "
                 f"FILTER NOT EXISTS {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{SWITCHING}> ?journal }} }} }}")  # fmt: skip
        response, body = self.client.request(
            "POST", self.remote.query_url, data={"query": query}, headers={"Accept": XML_RESULTS}, deadline=deadline
        )
        self.client.check(response, body, "a read of the control graph")
        if not self._boolean(body):
            raise GenerationGone(
                f"the remote store {self.remote} switched to another build while the query ran; the new build answers"
            )

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        """Write the whole dataset; formats without named graphs get the union of all graphs. Never cut
        by the server's row cap: each graph's triples are counted against the manifest."""
        holder = ox.Store()
        for graph, expected in sorted(self.manifest["stats"]["graphs"].items()):
            name = ox.NamedNode(graph)
            quads = [ox.Quad(t.subject, t.predicate, t.object, name) for t in self._graph(graph, expected)]
            if len(quads) != expected:
                raise StoreUnavailable(
                    f"the remote store {self.remote} gave {len(quads):,} triples of the graph {graph}, "
                    f"which has {expected:,}: the dump is not written"
                )
            holder.extend(quads)
        self._still_current(None)
        if format.supports_datasets:
            holder.dump(output, format, prefixes=formats.prefixes_for(format, PREFIXES))
            return
        triples = holder.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        assert isinstance(triples, ox.QueryTriples)
        ox.serialize(triples, output, format, prefixes=formats.prefixes_for(format, PREFIXES))

    def _graph(self, graph: str, expected: int) -> set[ox.Triple]:
        """A graph's triples: by Graph Store GET where no cap can cut it, else in pages smaller than the cap.

        The pages are not ordered: Virtuoso refuses an ORDER BY whose OFFSET and LIMIT pass 10,000 rows
        (SR353, measured). Unordered pages of an unchanging graph are complete when they hold as many
        distinct triples as the graph has, which the caller checks against the manifest.
        """
        cap = self.remote.max_rows
        if cap is None or expected < cap:
            response, body = self.client.request(
                "GET", self.remote.store_url, params={"graph": graph}, headers={"Accept": "application/n-triples"}
            )
            self.client.check(response, body, f"a read of the graph {graph}")
            return {quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES)}
        page, found = cap - 1, set()
        pattern = f"SELECT ?s ?p ?o WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
        for offset in range(0, expected + 1, page):
            query = f"{pattern} LIMIT {page} OFFSET {offset}"
            response, body = self.client.request(
                "POST", self.remote.query_url, data={"query": query}, headers={"Accept": XML_RESULTS}
            )
            self.client.check(response, body, f"a read of the graph {graph}")
            for row in solutions(body, self.remote):
                s, p, o = row[0], row[1], row[2]
                assert isinstance(s, ox.NamedNode | ox.BlankNode) and isinstance(p, ox.NamedNode) and o is not None
                found.add(ox.Triple(s, p, o))
        return found

    def __len__(self) -> int:
        result = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert isinstance(result, ox.QuerySolutions)
        count = next(iter(result))[0]
        assert count is not None
        return int(count.value)

    def health(self, timeout: float = 5.0) -> dict[str, Any]:
        """The server answers and holds this build: {"store", "build_id", "current"}; StoreUnavailable if not."""
        control = read_control(self.client, time.monotonic() + timeout)
        return {
            "store": self.remote.name,
            "build_id": self.manifest.get("build_id"),
            "current": control.build_id == self.manifest.get("build_id") and control.switching is None,
        }

    def replace(self, dataset: ox.Store, manifest: dict[str, Any]) -> None:
        """Put `dataset` (our named graphs) and its `manifest` in place of the build on the server, in one
        switch readers see whole (`skategraph.store.switch`); this store then answers for the new build."""
        switch.replace(self.client, dataset, manifest)
        self.manifest = manifest
        self.graphs = sorted(manifest["stats"]["graphs"])


def build_remote(remote: Remote, dataset: ox.Store, manifest: dict[str, Any]) -> RemoteStore:
    """Put `dataset` and its `manifest` in place on the server (the first build too), and open it."""
    switch.replace(Client(remote), dataset, manifest)
    return RemoteStore(remote, manifest)


def open_remote(remote: Remote, *, wait: float = 0.0, timeout: float = CONNECT_TIMEOUT * 2) -> RemoteStore:
    """The build in place on the remote store; while a build's switch is journaled (under way, or
    interrupted), wait for it up to `wait` seconds, then StoreUnavailable. Each read of the server
    takes at most `timeout` seconds."""
    client = Client(remote)
    deadline = time.monotonic() + wait
    while True:
        control = read_control(client, time.monotonic() + timeout)
        if control.switching is None:
            if control.manifest is None:
                raise StoreNotFound(f"no dataset at the remote store {remote}: run 'skategraph build' first")
            return RemoteStore(remote, control.manifest)
        if time.monotonic() >= deadline:
            raise StoreUnavailable(
                f"a build is switching the dataset of the remote store {remote} in, or was stopped while it did: "
                "the next 'skategraph build' completes it"
            )
        time.sleep(0.05)


def _blank_nodes_are_not_iris(sparql: str) -> str:
    """`isIRI(x)` (and `isURI`) written `(isIRI(x) && !isBlank(x))`: Virtuoso keeps blank nodes as IRIs
    (`nodeID://b10000`) and says a subject blank node is an IRI (measured; an object one it does not)."""
    found = read(sparql)
    spans = []
    for i, token in enumerate(found):
        if token.kind != "word" or token.text.upper() not in ("ISIRI", "ISURI"):
            continue
        if i + 1 >= len(found) or found[i + 1].text != "(":
            continue
        depth = 0
        for closing in found[i + 1 :]:
            if closing.kind == "other" and closing.text == "(":
                depth += 1
            elif closing.kind == "other" and closing.text == ")":
                depth -= 1
                if depth == 0:
                    spans.append((token.start, found[i + 1].start + 1, closing.start))
                    break
    last = len(sparql) + 1
    for start, open_, close in reversed(spans):
        if close >= last:  # nested in one already written: leave it
            continue
        argument = sparql[open_:close]
        sparql = f"{sparql[:start]}(isIRI({argument}) && !isBlank({argument})){sparql[close + 1 :]}"
        last = start
    return sparql


def _without_dataset_clauses(sparql: str) -> str:
    """`sparql` with its FROM and FROM NAMED clauses blanked out (same length, so positions hold)."""
    found = read(sparql)
    spans = []
    for i, token in enumerate(found):
        if token.kind == "word" and token.text.upper() == "FROM":
            j = i + 1
            if j < len(found) and found[j].kind == "word" and found[j].text.upper() == "NAMED":
                j += 1
            if j < len(found) and found[j].kind in ("iri", "pname"):
                spans.append((token.start, found[j].start + len(found[j].text)))
    for start, end in reversed(spans):
        sparql = sparql[:start] + re.sub(r"[^\n]", " ", sparql[start:end]) + sparql[end:]
    return sparql
