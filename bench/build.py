"""Build throughput and growth on the generated corpus: `skategraph build` against raw pyoxigraph bulk loading.

    python bench/build.py [--sizes 1 10 40 400] [--validate-up-to 40] [--cap 600] [--seed 1] [--repeat 3]

The corpus is `bench/corpus.py` at the largest size (each smaller size is a prefix of it). For each size
it measures, in one run on one machine, each step in a fresh process of its own (so its peak RSS,
VmHWM, is that step's): the baseline, pyoxigraph's `bulk_load` of the N-Quads the build made into a
fresh on-disk store; the parse alone; the build as `skategraph build` does it (the bundled links
included) without validation, and with SHACL validation up to `--validate-up-to` seasons; then, on
the built store, every saved query with values the corpus has, a reference query (every race with four
of its properties: a join that grows only as fast as the store's lookups do), and the page of the skater
with the most podium places (through the app in-process, response cache off). A step that runs longer than
`--cap` seconds is stopped and reported as such. Times are best-of-`repeat` (once above 10 seasons),
as ratios to the baseline; growth is the exponent b of time ~ triples^b between consecutive sizes
(1 is linear).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import write_corpus

SG = "https://w3id.org/skategraph/ontology#"
TOP_VENUE = f"""SELECT ?name (COUNT(*) AS ?n) WHERE {{ ?stage <{SG}venue> ?venue .
  ?venue <http://www.w3.org/2000/01/rdf-schema#label> ?name }}
  GROUP BY ?name ORDER BY DESC(?n) ?name LIMIT 1"""
# A reference for the saved queries' growth: one join over every race, which only the store's own
# lookups make grow faster than the data.
EVERY_RACE = f"""SELECT ?race ?season ?category ?venue ?distance WHERE {{ ?race a <{SG}Race> ; <{SG}season> ?season ;
  <{SG}category> ?category ; <{SG}venue> ?venue ; <{SG}distance> ?distance }}"""
TOP_SKATER = f"""SELECT ?skater (COUNT(*) AS ?n) WHERE {{ ?result <{SG}competitor> ?skater .
  ?skater a <{SG}Skater> }} GROUP BY ?skater ORDER BY DESC(?n) ?skater LIMIT 1"""


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmHWM")


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


# -- the steps, each run in a process of its own ----------------------------------------------------


def step_bulk(job: dict[str, Any]) -> dict[str, Any]:
    import shutil

    import pyoxigraph as ox

    counter = iter(range(10**6))

    def load() -> None:
        target = Path(job["work"]) / f"raw-{next(counter)}"
        store = ox.Store(str(target))
        store.bulk_load(path=job["nquads"], format=ox.RdfFormat.N_QUADS)
        store.optimize()
        store.flush()
        del store
        shutil.rmtree(target)

    return {"seconds": best(job["repeat"], load)}


def step_parse(job: dict[str, Any]) -> dict[str, Any]:
    from skategraph.source.articles import read_articles
    from skategraph.source.nations import bundled_nations

    paths, nations = [Path(p) for p in job["paths"]], bundled_nations()
    return {"seconds": best(job["repeat"], lambda: read_articles(paths, nations))}


def step_build(job: dict[str, Any]) -> dict[str, Any]:
    import pyoxigraph as ox

    from skategraph.store.build import build_from_files
    from skategraph.store.embedded import open_store

    paths, store = [Path(p) for p in job["paths"]], Path(job["store"])
    counter = iter(range(10**6))
    summaries: list[Any] = []

    def build() -> None:
        target = store if not summaries else store.with_name(f"{store.name}-{next(counter)}")
        summaries.append(build_from_files(paths, target, validate=job["validate"]))

    seconds = best(job["repeat"], build)
    if job.get("nquads"):
        with open(job["nquads"], "wb") as out:
            open_store(store).dump(out, ox.RdfFormat.N_QUADS)
    summary = summaries[0]
    return {"seconds": seconds, "triples": summary.triples, "warnings": len(summary.warnings)}


def _corpus_values(store: Any, season: str) -> tuple[dict[str, str], str, int]:
    """Values the corpus has for the saved queries' parameters; the top skater and their podiums."""
    row = next(iter(store.query(TOP_SKATER)))
    skater, podiums = row["skater"].value.rsplit("/", 1)[1], int(row["n"].value)
    venue = next(iter(store.query(TOP_VENUE)))["name"].value
    return {"skater": skater, "season": season, "venue": venue, "nation": "KOR"}, skater, podiums


def step_query(job: dict[str, Any]) -> dict[str, Any]:
    from skategraph.engine.jobs import evaluate
    from skategraph.saved.catalogue import load_catalogue
    from skategraph.saved.lookups import read_lookups
    from skategraph.saved.prepare import prepare
    from skategraph.store.embedded import open_store

    store = open_store(Path(job["store"]))
    catalogue = load_catalogue()
    values, _skater, _podiums = _corpus_values(store, job["season"])
    saved = catalogue.get(job["name"])
    given = [(p.name, values.get(p.type, p.example)) for p in saved.params if p.example]  # as the tests run them
    prepared = prepare(saved, given, lambda: read_lookups(store, catalogue), frozenset(), generation="bench")
    return {"seconds": best(job["repeat"], lambda: list(evaluate(store, prepared)))}


def step_races(job: dict[str, Any]) -> dict[str, Any]:
    from skategraph.store.embedded import open_store

    store = open_store(Path(job["store"]))
    return {"seconds": best(job["repeat"], lambda: list(store.query(EVERY_RACE)))}


def step_page(job: dict[str, Any]) -> dict[str, Any]:
    from tests.server import running_app

    from skategraph.store.embedded import open_store

    store = open_store(Path(job["store"]))
    _values, skater, podiums = _corpus_values(store, job["season"])
    del store  # the app's workers open it
    with running_app(Path(job["store"]), cache_mb=0) as app:
        client = app.app.test_client()

        def page() -> None:
            response = client.get(f"/id/skater/{skater}", headers={"Accept": "text/html"})
            assert response.status_code == 200, response.status_code
            response.close()

        page()  # warm: the workers open the store
        return {"seconds": best(job["repeat"], page), "podiums": podiums}


def saved_names() -> list[str]:
    from skategraph.saved.catalogue import load_catalogue

    # Not the federated one: it asks a remote endpoint.
    return sorted(saved.name for saved in load_catalogue() if "SERVICE" not in saved.text)


def measure_queries(store: str, cap: float) -> dict[str, Any]:
    job = {"store": store, "season": "2030-31", "repeat": 3}
    times = {name: run("query", {**job, "name": name}, cap) for name in saved_names()}
    page = run("page", {**job, "repeat": 5}, cap)
    races = run("races", job, cap)
    return {
        "saved": {name: (t["seconds"] if t else None) for name, t in times.items()},
        "races": races["seconds"] if races else None,
        "page": page["seconds"] if page else None,
        "podiums": page["podiums"] if page else None,
    }


STEPS = {"bulk": step_bulk, "parse": step_parse, "build": step_build, "query": step_query, "page": step_page,
         "races": step_races}  # fmt: skip


def child(kind: str, job: dict[str, Any]) -> None:
    result = STEPS[kind](job)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def run(kind: str, job: dict[str, Any], cap: float) -> dict[str, Any] | None:
    """One step in a process of its own; None if it ran past `cap` seconds."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, json.dumps(job)],
            capture_output=True, text=True, timeout=cap, check=True, cwd=ROOT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"the {kind} step failed:\n{error.stderr}") from None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the run ----------------------------------------------------------------------------------------


def exponent(t1: float | None, t2: float | None, n1: int, n2: int) -> str:
    if t1 is None or t2 is None or n1 == n2:
        return "-"
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def ratio(value: float | None, base: float, cap: float) -> str:
    return f"> {cap / base:.0f}x (cap)" if value is None else f"{value / base:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 40, 400])
    parser.add_argument("--validate-up-to", type=int, default=40, help="validate builds of at most this many seasons")
    parser.add_argument("--cap", type=float, default=600, help="stop a step after this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--query-cap", type=float, default=120, help="stop a saved query after this many seconds")
    parser.add_argument("--no-queries", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        paths = [str(p) for p in write_corpus(work / "corpus", max(args.sizes), args.seed)]
        print(f"{'seasons':>7} {'triples':>9} {'bulk s':>7} {'parse':>7} {'build':>7} {'build+validate':>15}"
              f" {'peak MB bulk/build/validate':>28}", flush=True)  # fmt: skip
        for size in sorted(args.sizes):
            repeat = args.repeat if size <= 10 else 1
            job = {"paths": paths[:size], "repeat": repeat, "work": folder}
            store, nquads = str(work / f"store-{size}"), str(work / f"{size}.nq")
            built = run("build", {**job, "store": store, "validate": False, "nquads": nquads}, args.cap)
            if built is None:
                print(f"{size:>7} build ran past the cap of {args.cap:.0f} s; stopping here")
                break
            bulk = run("bulk", {**job, "nquads": nquads}, args.cap)
            assert bulk is not None, "the baseline ran past the cap"
            parse = run("parse", job, args.cap)
            valid = None
            if size <= args.validate_up_to:
                valid = run("build", {**job, "store": store + "-v", "validate": True, "repeat": 1}, args.cap)
            queries = None if args.no_queries else measure_queries(store, args.query_cap)
            base = bulk["seconds"]
            row = {"size": size, "triples": built["triples"], "bulk": base, "build": built["seconds"],
                   "parse": parse["seconds"] if parse else None, "valid": valid["seconds"] if valid else None,
                   "queries": queries}  # fmt: skip
            rows.append(row)
            validated = ratio(row["valid"], base, args.cap) if size <= args.validate_up_to else "not run"
            peaks = "/".join(f"{r['peak_mb']:.0f}" if r else "-" for r in (bulk, built, valid))
            print(f"{size:>7} {built['triples']:>9,} {base:>7.2f} {ratio(row['parse'], base, args.cap):>7}"
                  f" {ratio(row['build'], base, args.cap):>7} {validated:>15} {peaks:>28}", flush=True)  # fmt: skip
            Path(nquads).unlink()
    report(rows, args.query_cap)


def fit(points: list[tuple[int, float | None]]) -> str:
    """The slope of log(time) against log(triples), least squares over the measured sizes."""
    known = [(math.log(n), math.log(t)) for n, t in points if t]
    if len(known) < 2:
        return "-"
    mx, my = sum(x for x, _ in known) / len(known), sum(y for _, y in known) / len(known)
    return f"{sum((x - mx) * (y - my) for x, y in known) / sum((x - mx) ** 2 for x, _ in known):.2f}"


def report(rows: list[dict[str, Any]], query_cap: float) -> None:
    print("\ngrowth exponent b (time ~ triples^b) between consecutive sizes")
    print(f"{'sizes':>10} {'bulk':>6} {'build':>6} {'validate':>9} {'skater page':>12}")
    for a, b in itertools.pairwise(rows):
        n1, n2 = a["triples"], b["triples"]
        pages = (a["queries"] or {}).get("page"), (b["queries"] or {}).get("page")
        print(f"{a['size']:>4}->{b['size']:<5} {exponent(a['bulk'], b['bulk'], n1, n2):>6}"
              f" {exponent(a['build'], b['build'], n1, n2):>6} {exponent(a['valid'], b['valid'], n1, n2):>9}"
              f" {exponent(*pages, n1, n2):>12}")  # fmt: skip
    measured = [r for r in rows if r["queries"]]
    if not measured:
        return
    print(f"\nsaved queries (ms in-process, best of 3; '>' ran past {query_cap:.0f} s), the page of the skater "
          "with the most podium places (ms, the app in-process), and b fitted over the sizes")  # fmt: skip
    print(f"{'query':<22}" + "".join(f"{r['size']:>9}" for r in measured) + f"{'b':>7}")

    def line(name: str, values: list[float | None]) -> str:
        cells = "".join(f"{v * 1000:>9.1f}" if v is not None else f"{'>':>9}" for v in values)
        return f"{name:<22}{cells}{fit(list(zip([r['triples'] for r in measured], values, strict=True))):>7}"

    for name in sorted(measured[0]["queries"]["saved"]):
        print(line(name, [r["queries"]["saved"][name] for r in measured]))
    print(line("(reference) every race", [r["queries"]["races"] for r in measured]))
    print(line("skater page", [r["queries"]["page"] for r in measured]))
    print(f"{'  its podium places':<22}" + "".join(f"{r['queries']['podiums'] or '-':>9}" for r in measured))


if __name__ == "__main__":
    main()
