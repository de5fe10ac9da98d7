"""A build into a remote store: the new dataset staged beside the one in place, checked, and switched
in so that readers never see a partial or empty graph, and a failed or killed build leaves the old
dataset answering (issue 15).

    0. the build takes the store's lock in the control graph (`Lease`): one build at a time, so
       that no build removes another's staging graphs or switches over it;
    1. each graph is uploaded to a staging graph of its own (Graph Store PUT, then POSTs of at most
       CHUNK triples; a graph with blank nodes goes whole, since a blank node is one document's),
       the staging graphs first recorded in the control graph, so that the next build removes
       those of a build that was killed;
    2. each staging graph's triple count is checked against the dataset's;
    3. the switch: every staging graph MOVEd onto its graph, the graphs the new dataset lacks dropped,
       and the control graph's build id and manifest replaced.

Oxigraph's server applies a multi-operation update all or nothing, and a query reads one snapshot:
there the switch is one update. Virtuoso applies each operation on its own, and its readers see a
multi-MOVE request half done. Measured (`bench/switch.py`: two readers polling every graph's count and
version and the build id in one query, while one request MOVEs four graphs and updates the build id):
on Virtuoso, 9 of 4,356 answers during eight switches of four 20,001-triple graphs were not whole (6 a
build id over graphs of the other build, 3 a graph with a count of neither), and one switch was timed
out by Virtuoso (SR171) while the readers held the graphs; on Oxigraph's server, 0 of 3,154 answers
during eight switches of four 5,001-triple graphs (each switch 12 s under that load: its MOVE is slow
while queries run).

So on Virtuoso the switch is journaled: the journal (the moves, the drops and the new manifest) is
written to the control graph first, then the MOVEs run (again, for what is still staged, when Virtuoso
times them out), then the control graph says the new build and the journal is gone, in one
DELETE/INSERT. A reader's query is checked afterwards against the control graph (`RemoteStore`: the
same build, no journal), so an answer that overlapped a switch is never served; a build killed
mid-switch leaves the journal, which the next build rolls forward before it starts (a staging graph
still whole is MOVEd, one already moved is left, anything else is an error: Virtuoso's `MOVE SILENT`
of a graph that is gone empties the target, measured, so nothing is moved blind).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox

from skategraph.errors import BuildError, QueryTimeout, SkategraphError, StoreUnavailable
from skategraph.store.connection import (
    BUILD,
    CONNECT_TIMEOUT,
    CONTROL,
    LOCK,
    MANIFEST,
    STAGED,
    STAGING,
    SWITCHING,
    Client,
    patiently,
    read_control,
)

CHUNK = 50_000  # triples a Graph Store request: Virtuoso took 25,000 in one PUT in half a second


def replace(client: Client, dataset: ox.Store, manifest: dict[str, Any]) -> None:
    """Put `dataset` and `manifest` in place of the build on the server (see the module docstring)."""
    graphs = _graph_counts(dataset)
    stated = manifest.get("stats", {}).get("graphs")
    if stated != graphs:
        raise BuildError(f"the manifest's graphs ({stated}) are not the dataset's ({graphs})")
    build_id = str(manifest["build_id"])
    _authenticate(client)
    lease = Lease.take(client, build_id)
    try:
        _replace_holding(client, lease, dataset, graphs, manifest)
    finally:
        lease.release()


def _replace_holding(
    client: Client, lease: Lease, dataset: ox.Store, graphs: dict[str, int], manifest: dict[str, Any]
) -> None:
    remote, build_id = client.remote, str(manifest["build_id"])
    control = read_control(client)
    if control.switching is not None:
        complete(client, control.switching)
        control = read_control(client)
    if control.staged:
        _drop(client, control.staged)
        _forget(client, control.staged)
    staging = {graph: f"{STAGING}{build_id}:{i}" for i, graph in enumerate(sorted(graphs))}
    old = set((control.manifest or {}).get("stats", {}).get("graphs", {}))
    try:
        if staging:
            records = " , ".join(str(ox.NamedNode(s)) for s in staging.values())
            client.update(f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{STAGED}> {records} }} }}")
        for graph, target in staging.items():
            _upload(client, dataset, graph, target)
            lease.renew()
        found = counts(client, staging.values())
        wrong = {g: (found.get(s, 0), graphs[g]) for g, s in staging.items() if found.get(s, 0) != graphs[g]}
        if wrong:
            listed = ", ".join(f"{g}: {n:,} of {m:,}" for g, (n, m) in sorted(wrong.items()))
            raise BuildError(f"the remote store {remote} did not keep every triple uploaded ({listed})")
        moves = [(staging[g], g, graphs[g]) for g in sorted(graphs)]
        drops = sorted(old - set(graphs))
        lease.check()
        if remote.kind == "oxigraph":
            client.update(" ;\n".join([*_moves(moves), *_drops(drops), _control_update(manifest)]))
        else:
            journal = {"build_id": build_id, "moves": moves, "drops": drops, "manifest": manifest}
            client.update(f"INSERT DATA {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{SWITCHING}> {_literal(journal)} }} }}")
            _switch_journaled(client, journal)
    except BaseException as error:
        if read_control(client).switching is None:  # never undo a switch that has begun: the next build ends it
            _drop(client, staging.values())
            _forget(client, staging.values())
        if isinstance(error, SkategraphError) and not isinstance(error, BuildError):
            raise BuildError(f"the build could not be put in the remote store {remote}: {error}") from error
        raise


LEASE = 300.0  # seconds a build's lock holds without being renewed (it is renewed after every graph)


class Lease:
    """One build at a time in a remote store: the lock a build holds in the control graph while it
    stages and switches, so that another build neither removes its staging graphs nor switches over it.

    The lock is a triple in the control graph (`LOCK`): the build, its process and host, and the time
    its lease ends. Taking it is the two-flag protocol: write ours, read back, and back off if another
    live lock is there (two builds starting together may both back off; neither ever proceeds beside
    the other). A lock whose lease has ended, or whose process is gone on this machine, was left by a
    build that was killed, and is removed by the next.
    """

    def __init__(self, client: Client, build_id: str) -> None:
        self.client, self.build_id = client, build_id
        self.started = time.time()
        self.text = self._text()

    def _text(self) -> str:
        held = {"build_id": self.build_id, "host": socket.gethostname(), "pid": os.getpid(),
                "started": round(self.started, 3), "until": round(time.time() + LEASE, 3)}  # fmt: skip
        return json.dumps(held, sort_keys=True)

    @classmethod
    def take(cls, client: Client, build_id: str) -> Lease:
        for held in read_control(client).locks:
            if not _lapsed(held):
                raise BuildError(_held_message(client, held))
            client.update(f"DELETE DATA {{ {_lock_triple(held)} }}")
        lease = cls(client, build_id)
        client.update(f"INSERT DATA {{ {_lock_triple(lease.text)} }}")
        others = [held for held in read_control(client).locks if held != lease.text and not _lapsed(held)]
        if others:
            lease.release()
            raise BuildError(_held_message(client, others[0]))
        return lease

    def renew(self) -> None:
        """The lease extended (one operation: atomic on both servers, and a no-op if the lock is gone)."""
        renewed = self._text()
        self.client.update(
            f"DELETE {{ {_lock_triple(self.text)} }} INSERT {{ {_lock_triple(renewed)} }} "
            f"WHERE {{ {_lock_triple(self.text)} }}"
        )
        self.text = renewed

    def check(self) -> None:
        """BuildError unless the lock is still this build's (its lease lapsed and another build took it)."""
        if self.text not in read_control(self.client).locks:
            raise BuildError(
                f"this build's lock on the remote store {self.client.remote} lapsed and another build took "
                "the store over: nothing was switched"
            )

    def release(self) -> None:
        with contextlib.suppress(SkategraphError):  # the server went away: the lock lapses with its lease
            self.client.update(f"DELETE DATA {{ {_lock_triple(self.text)} }}")


def _lock_triple(text: str) -> str:
    return f"GRAPH <{CONTROL}> {{ <{CONTROL}> <{LOCK}> {_literal(text)} }}"


def _lapsed(text: str) -> bool:
    """A lock whose lease has ended, or left by a process gone from this machine (or unreadable)."""
    try:
        held = json.loads(text)
        until, host, pid = float(held["until"]), str(held["host"]), int(held["pid"])
    except (ValueError, KeyError, TypeError):
        return True
    if until < time.time():
        return True
    return host == socket.gethostname() and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _held_message(client: Client, text: str) -> str:
    try:
        held = json.loads(text)
        who = f"build {held['build_id']}, process {held['pid']} on {held['host']}"
        until = datetime.fromtimestamp(float(held["until"]), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, KeyError, TypeError):
        who, until = "another build", "soon"
    return (
        f"another build ({who}) is putting a dataset in the remote store {client.remote}: try again when it "
        f"has finished (the lock of a build that was killed lapses at {until}, or at once on its own machine)"
    )


def complete(client: Client, journal: dict[str, Any]) -> None:
    """Complete the journaled switch a stopped build left, or say clearly why it cannot be."""
    try:
        _switch_journaled(client, journal)
    except (QueryTimeout, StoreUnavailable) as error:
        raise BuildError(
            f"the remote store {client.remote} has a switch to build {journal['build_id']} left by a build that "
            f"was stopped, and completing it failed ({error}); readers wait until a build completes it"
        ) from error


def _switch_journaled(client: Client, journal: dict[str, Any]) -> None:
    """Run a journaled switch to its end, trying again for WRITE_PATIENCE seconds where the server gave
    up part way: a reader's long query holds the graphs, and Virtuoso times a MOVE out (SR171,
    measured) until that query ends, at its own limit. Each attempt counts the graphs first and moves
    only what is still staged whole."""
    patiently(lambda: roll_forward(client, journal), (QueryTimeout, StoreUnavailable))


def roll_forward(client: Client, journal: dict[str, Any]) -> None:
    """Complete a journaled switch that a killed build left, without moving anything blind."""
    moves = [(str(s), str(g), int(n)) for s, g, n in journal["moves"]]
    found = counts(client, [name for move in moves for name in move[:2]])
    for staging, graph, expected in moves:
        if found.get(staging, 0) == expected:
            continue
        if found.get(staging, 0) == 0 and found.get(graph, 0) == expected:
            continue
        raise BuildError(
            f"the remote store {client.remote} has an interrupted switch to build {journal['build_id']} that "
            f"cannot be completed: {staging} has {found.get(staging, 0):,} triples, {graph} "
            f"{found.get(graph, 0):,}, and {expected:,} were staged"
        )
    pending = [move for move in moves if found.get(move[0], 0) == move[2]]
    _finish(client, pending, list(journal["drops"]), journal["manifest"])


def _finish(client: Client, moves: list[tuple[str, str, int]], drops: list[str], manifest: dict[str, Any]) -> None:
    """One request an operation: Virtuoso applies a request's operations one by one, so a request it
    stops part way leaves an unknown number applied; one at a time, what was done is what succeeded."""
    for move in _moves(moves):
        client.update(move, again=False)  # roll_forward counts before it moves again
    for drop in _drops(drops):
        client.update(drop)
    client.update(_control_update(manifest))


def _moves(moves: Iterable[tuple[str, str, int]]) -> list[str]:
    return [f"MOVE SILENT GRAPH {ox.NamedNode(s)} TO GRAPH {ox.NamedNode(g)}" for s, g, _ in moves]


def _drops(graphs: Iterable[str]) -> list[str]:
    # SILENT: Virtuoso fails DROP GRAPH on a graph it did not CREATE (measured)
    return [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in graphs]


def _control_update(manifest: dict[str, Any]) -> str:
    """One operation (atomic on both servers): the control graph says the new build, and nothing else
    but the build locks (the build holding one releases it after)."""
    build = _literal(str(manifest["build_id"]))
    return (
        f"DELETE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> ?p ?o }} }} "
        f"INSERT {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{BUILD}> {build} ; <{MANIFEST}> {_literal(manifest)} }} }} "
        f"WHERE {{ OPTIONAL {{ GRAPH <{CONTROL}> {{ <{CONTROL}> ?p ?o }} FILTER(?p != <{LOCK}>) }} }}"
    )


def _literal(value: Any) -> str:
    """A string literal as SPARQL text, escaped by pyoxigraph (never by hand)."""
    return str(ox.Literal(value if isinstance(value, str) else json.dumps(value, sort_keys=True)))


def _graph_counts(dataset: ox.Store) -> dict[str, int]:
    found: dict[str, int] = {}
    for quad in dataset:
        if isinstance(quad.graph_name, ox.DefaultGraph):
            raise BuildError("the dataset has triples in its default graph: a remote store keeps named graphs only")
        found[quad.graph_name.value] = found.get(quad.graph_name.value, 0) + 1
    return found


def counts(client: Client, graphs: Iterable[str]) -> dict[str, int]:
    """Each graph's triple count on the server (graphs without triples left out)."""
    names = sorted(set(graphs))
    if not names:
        return {}
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    response, body = client.request(
        "POST", client.remote.query_url, data={"query": query, "named-graph-uri": names},
        headers={"Accept": "application/sparql-results+xml"},
    )  # fmt: skip
    client.check(response, body, "a count of the staged graphs")
    results = ox.parse_query_results(body, ox.QueryResultsFormat.XML)
    assert isinstance(results, ox.QuerySolutions)
    return {row[0].value: int(row[1].value) for row in results if row[0] is not None and row[1] is not None}


def _authenticate(client: Client) -> None:
    """A small authenticated request first: Virtuoso cuts the connection of a large upload that meets
    a digest challenge; after this one the session sends its credentials with the next request. Being
    small, it has a short deadline: a server that accepts and never answers fails the build within
    seconds, not after the write timeout (ten minutes) that the uploads after it need."""
    response, _ = client.request("GET", client.remote.store_url, params={"graph": CONTROL}, headers={"Accept": "*/*"},
                                 deadline=time.monotonic() + CONNECT_TIMEOUT * 2)  # fmt: skip
    if response.status_code in (401, 403):
        client.check(response, b"", "a build")


def _upload(client: Client, dataset: ox.Store, graph: str, target: str) -> None:
    triples = [quad.triple for quad in dataset.quads_for_pattern(None, None, None, ox.NamedNode(graph))]
    blank = any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)
    size = len(triples) if blank else CHUNK
    for start in range(0, len(triples), size or 1):
        body = ox.serialize(triples[start : start + size], format=ox.RdfFormat.N_TRIPLES)
        # A PUT, or a POST of triples without blank nodes: the same done twice, as `write` needs
        client.write(
            f"the upload of the graph {graph}", "PUT" if start == 0 else "POST", client.remote.store_url,
            params={"graph": target}, data=body,
            headers={"Content-Type": "application/n-triples", "Accept": "*/*"},  # Virtuoso writes only with */*
        )  # fmt: skip


def _drop(client: Client, graphs: Iterable[str]) -> None:
    names = list(graphs)
    if names:
        client.update(" ;\n".join(_drops(names)))


def _forget(client: Client, graphs: Iterable[str]) -> None:
    names = " ".join(str(ox.NamedNode(g)) for g in graphs)
    if names:
        client.update(
            f"DELETE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{STAGED}> ?g }} }} "
            f"WHERE {{ GRAPH <{CONTROL}> {{ <{CONTROL}> <{STAGED}> ?g }} VALUES ?g {{ {names} }} }}"
        )
