"""Build throughput: `skategraph build` against raw pyoxigraph bulk loading of the same quads.

    python bench/build.py [--seasons 1 10 40] [--repeat 3]

Each corpus is the seed moved 0..N-1 seasons later (same skaters, new dates). For each size it times,
in one run on one machine: the parse alone; the build as `skategraph build` does it (the bundled
links included), without and with SHACL validation; and the
baseline, pyoxigraph's `bulk_load` of the resulting N-Quads into a fresh on-disk store. Figures are
best-of-`repeat` wall-clock seconds, reported as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import SEED, shift_season

from skategraph.graph.ids import DEFAULT_BASE
from skategraph.source.articles import read_articles
from skategraph.source.nations import Nation, bundled_nations
from skategraph.store.build import build_from_files
from skategraph.store.embedded import open_store


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(count: int, text: str, nations: dict[str, Nation], repeat: int, work: Path) -> str:
    paths = []
    for k in range(count):
        path = work / f"season-{k}.txt"
        path.write_text(shift_season(text, k), encoding="utf-8")
        paths.append(path)
    counter = iter(range(10**6))

    def build(validate: bool) -> object:
        return build_from_files(paths, work / f"store-{next(counter)}", base=DEFAULT_BASE, validate=validate)

    t_parse = best(repeat, lambda: read_articles(paths, nations))
    t_build = best(repeat, lambda: build(False))
    t_valid = best(1 if count > 10 else repeat, lambda: build(True))
    dump = io.BytesIO()
    open_store(work / "store-0").dump(dump, ox.RdfFormat.N_QUADS)
    nquads = dump.getvalue()

    def baseline() -> object:
        target = work / f"raw-{next(counter)}"
        store = ox.Store(str(target))
        store.bulk_load(nquads, ox.RdfFormat.N_QUADS)
        store.optimize()
        store.flush()
        triples = len(store)
        del store
        shutil.rmtree(target)
        return triples

    t_base = best(repeat, baseline)
    triples = len(open_store(work / "store-0"))
    return (
        f"{count:>7} {triples:>9,} {t_base:>10.3f} {t_parse / t_base:>6.2f}x {t_build / t_base:>6.2f}x"
        f" {t_valid / t_base:>14.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seasons", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nations = bundled_nations()
    text = SEED.read_text(encoding="utf-8")
    print(f"{'seasons':>7} {'triples':>9} {'baseline s':>10} {'parse':>7} {'build':>7} {'build+validate':>15}")
    for count in args.seasons:
        with tempfile.TemporaryDirectory() as folder:
            print(measure(count, text, nations, args.repeat, Path(folder)), flush=True)


if __name__ == "__main__":
    main()
