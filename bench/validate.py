"""SHACL validation: the ways to check a store against `ontology/shapes.ttl`, as ratios to raw loading.

    python bench/validate.py [--seasons 1 10 40] [--repeat 3] [--skip pyshacl]

Each corpus is the seed moved 0..N-1 seasons later (as in `bench/build.py`), built without
validation. For each size it times, in one run on one machine, validating the built store:

- pyshacl: the union of the graphs into rdflib, then pyshacl (how skategraph validated before issue 14);
- rudof: the union as N-Triples into rudof (pyrudof), SHACL-SPARQL constraints included (the default now);
- rudof core + Oxigraph: rudof without the shapes' `sh:sparql` constraints, and each of those run
  as one query over the whole store in Oxigraph, returning every violating focus node;
- rudof per season: each season's graph with the shared graphs (entities, links, ontology), one by one;
- queries on disk: the shapes compiled to one SPARQL query per constraint (`skategraph.store.shapes`),
  run on the store;
- queries in memory: the same queries on a copy of the union in an in-memory Oxigraph store (the
  default now: `skategraph.store.validate.check_store`);

and the baseline, pyoxigraph's `bulk_load` of the store's N-Quads into a fresh on-disk store (best of
the runs before and after the ways, the machine being shared). Every
way must find the same violations on a damaged copy (a duplicate rank, a SHACL-SPARQL constraint, and
a race without its date); the script checks that first. Figures are best-of-`repeat` wall-clock
seconds (pyshacl once past 10 seasons) as ratios to the baseline, then each way's growth exponent: the
slope of log(time) against log(triples), 1.0 being linear.
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pyrudof
from rdflib import Graph, Namespace, URIRef

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import SEED, shift_season

from bench.build import best
from skategraph.graph.ids import DEFAULT_BASE
from skategraph.store.build import build_from_files
from skategraph.store.embedded import EmbeddedStore, open_store
from skategraph.store.shapes import shapes_path as _shapes_path
from skategraph.store.validate import _union_ntriples, check_query, check_store

SH = Namespace("http://www.w3.org/ns/shacl#")
SG = "https://w3id.org/skategraph/ontology#"
Found = set[tuple[str, str]]  # (focus node, message) of each violation a way finds


def by_pyshacl(store: EmbeddedStore) -> Found:
    import pyshacl

    data = Graph().parse(data=_union_ntriples(store), format="nt")
    shapes = Graph().parse(_shapes_path(), format="turtle")
    _conforms, results, _text = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    assert isinstance(results, Graph)
    return {
        (str(results.value(r, SH.focusNode)), str(results.value(r, SH.resultMessage)))
        for r in results.subjects(SH.resultSeverity, SH.Violation)
    }


def rudof_ntriples(data: bytes, shapes: str | None = None) -> Found:
    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    rudof.read_shacl(shapes or str(_shapes_path()))
    rudof.read_data(data.decode(), pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
    return {(e.focus_node, e.message.strip('"')) for e in rudof.validate_shacl().violations}


def by_rudof(store: EmbeddedStore) -> Found:
    return rudof_ntriples(_union_ntriples(store))


def by_queries_in_memory(store: EmbeddedStore) -> Found:
    return {(v.focus, v.message) for v in check_store(store)}


def by_queries_on_disk(store: EmbeddedStore) -> Found:
    def query(sparql: str) -> ox.QuerySolutions:
        rows = store.query(sparql)
        assert isinstance(rows, ox.QuerySolutions)
        return rows

    return {(v.focus, v.message) for v in check_query(query)}


def sparql_constraints() -> tuple[str, list[tuple[str, str, str]]]:
    """The core shapes as Turtle without their SPARQL constraints, and each of those as (target class,
    message, query over the whole graph selecting ?this and ?value)."""
    shapes = Graph().parse(_shapes_path(), format="turtle")
    queries = []
    for shape, constraint in list(shapes.subject_objects(SH.sparql)):
        target = shapes.value(shape, SH.targetClass)
        assert isinstance(target, URIRef), f"{shape} has one target class"
        select = str(shapes.value(constraint, SH.select)).replace("$this", "?this")
        body = select[select.index("{") :]
        queries.append((str(target), str(shapes.value(constraint, SH.message)), body))
        shapes.remove((shape, SH.sparql, constraint))
    return shapes.serialize(format="turtle"), queries


def by_rudof_and_oxigraph(store: EmbeddedStore) -> Found:
    core, queries = sparql_constraints()
    found = rudof_ntriples(_union_ntriples(store), core)
    for target, message, body in queries:
        query = f"PREFIX sg: <{SG}> SELECT DISTINCT ?this WHERE {{ ?this a <{target}> . {body} }}"
        rows = store.query(query)
        assert isinstance(rows, ox.QuerySolutions)
        found |= {(str(row["this"].value), message) for row in rows}
    return found


def by_season(store: EmbeddedStore) -> Found:
    rows = store.query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s a <{SG}Season> }} }}")
    assert isinstance(rows, ox.QuerySolutions)
    seasons = [row["g"].value for row in rows]
    shared = " ".join(f"<{DEFAULT_BASE}graph/{name}>" for name in ("entities", "links")) + f" <{SG[:-1]}>"
    found: Found = set()
    for season in seasons:
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ <{season}> {shared} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        triples = store.query(query)
        assert isinstance(triples, ox.QueryTriples)
        buffer = io.BytesIO()
        triples.serialize(buffer, ox.RdfFormat.N_TRIPLES)
        found |= rudof_ntriples(buffer.getvalue())
    return found


WAYS: dict[str, Callable[[EmbeddedStore], Found]] = {
    "pyshacl": by_pyshacl,
    "rudof": by_rudof,
    "rudof core + Oxigraph": by_rudof_and_oxigraph,
    "rudof per season": by_season,
    "queries on disk": by_queries_on_disk,
    "queries in memory": by_queries_in_memory,
}


def corpus(count: int, work: Path) -> list[Path]:
    text = SEED.read_text(encoding="utf-8")
    paths = []
    for k in range(count):
        path = work / f"season-{k}.txt"
        path.write_text(shift_season(text, k), encoding="utf-8")
        paths.append(path)
    return paths


def check_agreement(ways: list[str], work: Path) -> None:
    """Every way finds the duplicate rank and the missing date in a damaged two-season store."""
    store_path = work / "damaged"
    build_from_files(corpus(2, work), store_path, base=DEFAULT_BASE, validate=False)
    race = f"{DEFAULT_BASE}id/race/2003-04/chuncheon/men-1500m"
    update = f"""PREFIX sg: <{SG}>
        DELETE {{ GRAPH ?g {{ ?r sg:rank ?old }} }} INSERT {{ GRAPH ?g {{ ?r sg:rank 1 }} }}
        WHERE {{ GRAPH ?g {{ ?r sg:race <{race}> ; sg:rank ?old . FILTER (?old = 2) }} }};
        DELETE WHERE {{ GRAPH ?g {{ <{race}> sg:date ?d }} }}"""
    raw = ox.Store(str(open_store(store_path).generation / "oxigraph"))
    raw.update(update)
    raw.flush()
    del raw
    for way in ways:
        foci = {focus for focus, _message in WAYS[way](open_store(store_path))}
        assert foci == {race}, f"{way} found {foci}"


def bulk_load(nquads: bytes, work: Path, counter: Iterator[int]) -> None:
    """The baseline: the store's quads loaded raw into a fresh store on disk."""
    raw = ox.Store(str(work / f"raw-{next(counter)}"))
    raw.bulk_load(nquads, ox.RdfFormat.N_QUADS)
    raw.optimize()
    raw.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seasons", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=list(WAYS))
    args = parser.parse_args()
    ways = [way for way in WAYS if way not in args.skip]
    with tempfile.TemporaryDirectory() as folder:
        check_agreement(ways, Path(folder))
    print("every way finds the duplicate rank and the missing date, on the one race they are in\n")
    print(f"{'seasons':>7} {'triples':>9} {'baseline s':>10} " + " ".join(f"{way:>23}" for way in ways))
    sizes: list[int] = []
    times: dict[str, list[float]] = {way: [] for way in ways}
    for count in args.seasons:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            build_from_files(corpus(count, work), work / "store", base=DEFAULT_BASE, validate=False)
            store = open_store(work / "store")
            dump = io.BytesIO()
            store.dump(dump, ox.RdfFormat.N_QUADS)
            counter = iter(range(10**6))

            load = functools.partial(bulk_load, dump.getvalue(), work, counter)
            t_base = best(args.repeat, load)
            cells: list[tuple[float, str]] = []
            for way in ways:
                repeat = 1 if way == "pyshacl" and count > 10 else args.repeat
                seconds = best(repeat, functools.partial(WAYS[way], store))
                times[way].append(seconds)
                cells.append((seconds, way))
            t_base = min(t_base, best(args.repeat, load))  # again after, the machine being shared
            sizes.append(len(store))
            shown = " ".join(f"{seconds / t_base:>16.1f}x {seconds:>4.1f}s" for seconds, _way in cells)
            print(f"{count:>7} {len(store):>9,} {t_base:>10.3f} " + shown, flush=True)
    if len(sizes) > 1:
        print("\ngrowth exponent (log time against log triples, 1.0 = linear):")
        for way in ways:
            print(f"  {way:>22}: {slope(sizes, times[way]):.2f}  (from the two largest: "
                  f"{slope(sizes[-2:], times[way][-2:]):.2f})")  # fmt: skip


def slope(xs: list[int], ys: list[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


if __name__ == "__main__":
    main()
