"""Building real on-disk stores: the seed's facts through SPARQL, identity, provenance, and builds
that fail or are killed without harming the store in place."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from skategraph.errors import BuildError, SourceError, ValidationFailed
from skategraph.graph.vocab import RDF, SG
from skategraph.source.articles import read_articles
from skategraph.source.nations import bundled_nations
from skategraph.store.build import build_store
from skategraph.store.embedded import EmbeddedStore, current_build_id, open_store
from skategraph.store.stats import dataset_stats, quad_stats

from .conftest import BASE, ID, SEED, ask, build, copy_store, scalar, select, shift_season

COUNTS = [
    ("sg:Race", 60),
    ("sg:RelayRace", 12),
    ("sg:Result", 180),
    ("sg:Standing", 30),
    ("sg:Classification", 10),
    ("sg:Skater", 35),
    ("sg:RelayTeam", 14),
    ("sg:Nation", 11),
    ("sg:Stage", 6),
    ("sg:Venue", 6),
    ("sg:Season", 1),
]


@pytest.mark.parametrize(("cls", "count"), COUNTS)
def test_seed_counts(seed_store: EmbeddedStore, cls: str, count: int) -> None:
    assert scalar(seed_store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a {cls} }}") == str(count)


def test_season_dates_and_neighbours(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store,
        f"SELECT ?start ?end ?prev ?next WHERE {{ <{ID}season/2002-03> sg:startDate ?start ; sg:endDate ?end ;"
        " sg:previousSeason ?prev ; sg:nextSeason ?next }",
    )
    assert rows == [("2002-10-18", "2003-02-16", ID + "season/2001-02", ID + "season/2003-04")]
    label = scalar(seed_store, f"SELECT ?l WHERE {{ <{ID}season/2001-02> rdfs:label ?l }}")
    assert label == "2001–02 ISU Short Track Speed Skating World Cup"


def test_first_race_podium(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store,
        f"""SELECT ?rank ?name ?nation ?date ?distance WHERE {{
            ?result sg:race <{ID}race/2002-03/chuncheon/men-1500m> ; sg:rank ?rank ; sg:competitor ?who ;
                    sg:nation/skos:notation ?nation .
            ?who rdfs:label ?name .
            <{ID}race/2002-03/chuncheon/men-1500m> sg:date ?date ; sg:distance ?distance ; sg:category sg:Men .
        }} ORDER BY ?rank""",
    )
    assert rows == [
        ("1", "Ahn Hyun-soo", "KOR", "2002-10-18", "1500"),
        ("2", "Fabio Carta", "ITA", "2002-10-18", "1500"),
        ("3", "Oh Se-jong", "KOR", "2002-10-18", "1500"),
    ]


def test_spellings_of_one_skater(seed_store: EmbeddedStore) -> None:
    iri = f"<{ID}skater/lee-seung-jae>"
    assert select(seed_store, f"SELECT ?l WHERE {{ {iri} rdfs:label ?l }}") == [("Lee Seung-jae",)]
    assert select(seed_store, f"SELECT ?l WHERE {{ {iri} skos:altLabel ?l }}") == [("Lee Seung-Jae",)]
    podiums = scalar(seed_store, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?r sg:competitor {iri} ; sg:race ?race }}")
    assert podiums == "8"


def test_disambiguated_skater(seed_store: EmbeddedStore) -> None:
    assert scalar(seed_store, f"SELECT ?l WHERE {{ <{ID}skater/yang-yang-a> rdfs:label ?l }}") == "Yang Yang (A)"
    assert not select(seed_store, f"SELECT ?p WHERE {{ <{ID}skater/yang-yang> ?p ?o }}")


def test_relay_podiums_are_teams(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store,
        "SELECT DISTINCT ?type WHERE { ?r sg:race ?race ; sg:competitor ?c . ?race a sg:RelayRace . ?c a ?type }",
    )
    assert rows == [("https://w3id.org/skategraph/ontology#RelayTeam",)]
    team = select(seed_store, f"SELECT ?l ?n WHERE {{ <{ID}relay-team/KOR-women> rdfs:label ?l ; sg:nation ?n }}")
    assert team == [("South Korea women's relay team", ID + "nation/KOR")]


@pytest.mark.parametrize(("code", "name"), [("GER", "Germany"), ("BUL", "Bulgaria"), ("NED", "Netherlands")])
def test_nations_by_ioc_code(seed_store: EmbeddedStore, code: str, name: str) -> None:
    assert select(seed_store, f"SELECT ?l ?c WHERE {{ <{ID}nation/{code}> rdfs:label ?l ; skos:notation ?c }}") == [
        (name, code)
    ]


def test_result_nation_is_the_nation_represented(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store, f"SELECT DISTINCT ?n WHERE {{ ?r sg:competitor <{ID}skater/evgenia-radanova> ; sg:nation ?n }}"
    )
    assert rows == [(ID + "nation/BUL",)]


def test_no_blank_nodes(seed_store: EmbeddedStore) -> None:
    # The shapes file may use blank nodes; the data never does.
    assert not select(
        seed_store,
        "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } FILTER((isBlank(?s) || isBlank(?o)) && ?g != <https://w3id.org/skategraph/ontology>) } LIMIT 1",
    )


def test_every_triple_in_one_graph(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store,
        "SELECT ?s ?p ?o WHERE { GRAPH ?a { ?s ?p ?o } GRAPH ?b { ?s ?p ?o } FILTER(STR(?a) < STR(?b)) } LIMIT 5",
    )
    assert rows == []


def test_every_resource_has_one_label(seed_store: EmbeddedStore) -> None:
    rows = select(
        seed_store,
        """SELECT ?s (COUNT(DISTINCT ?l) AS ?labels) WHERE {
             ?s a ?c . FILTER(STRSTARTS(STR(?c), STR(sg:))) OPTIONAL { ?s rdfs:label ?l }
           } GROUP BY ?s HAVING (COUNT(DISTINCT ?l) != 1)""",
    )
    assert rows == []


def test_graphs(seed_store: EmbeddedStore) -> None:
    graphs = [row[0] for row in select(seed_store, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")]
    assert graphs == [
        BASE + "graph/entities",
        BASE + "graph/links",  # nations linked to Wikidata from the verified table, in every build
        BASE + "graph/season/2002-03",
        "https://w3id.org/skategraph/ontology",
    ]
    ontology_classes = scalar(
        seed_store, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/skategraph/ontology> { ?c a owl:Class } }"
    )
    assert int(ontology_classes) >= 13


def test_manifest_statistics_count_the_dump(seed_store: EmbeddedStore, two_seasons: EmbeddedStore) -> None:
    """What the manifest says a build holds, counted again in Python from the store's own N-Quads (the
    ontology's blank nodes are subjects that are not entities)."""
    for store in (seed_store, two_seasons):
        output = io.BytesIO()
        store.dump(output, ox.RdfFormat.N_QUADS)
        quads = list(ox.parse(output.getvalue(), ox.RdfFormat.N_QUADS))
        typed = {(q.object.value, q.subject) for q in quads if q.predicate.value == RDF + "type"}
        assert store.manifest["stats"] == {
            "triples": len(quads),
            "entities": len({q.subject for q in quads if isinstance(q.subject, ox.NamedNode)}),
            "properties": len({q.predicate for q in quads}),
            "graphs": dict(sorted(Counter(q.graph_name.value for q in quads).items())),
            "classes": dict(sorted(Counter(c for c, _ in typed if c.startswith(SG)).items())),
        }
        assert any(isinstance(q.subject, ox.BlankNode) for q in quads)


def test_manifest_statistics_are_the_stores_own(seed_store: EmbeddedStore, two_seasons: EmbeddedStore) -> None:
    """A build counts its statistics from the quads it loads (`quad_stats`); the queries that count them
    over a store (`dataset_stats`, as `skategraph stats` and a SPARQL update do) give the same numbers. Two
    seasons name each other as previous and next, so their mapping gives some quads twice."""
    for store in (seed_store, two_seasons):
        numbers = dataset_stats(store)
        assert store.manifest["stats"] == {
            "triples": numbers.triples,
            "entities": numbers.entities,
            "properties": numbers.properties,
            "graphs": dict(numbers.graphs),
            "classes": dict(numbers.classes),
        }


def test_statistics_of_quads_given_twice(tmp_path: Path, seed_store: EmbeddedStore) -> None:
    """`quad_stats` counts what a store keeps of the quads given: each quad once, however often it is
    given, a triple once in each graph that holds it, the default graph's triples too."""
    output = io.BytesIO()
    seed_store.dump(output, ox.RdfFormat.N_QUADS)
    quads = list(ox.parse(output.getvalue(), ox.RdfFormat.N_QUADS))
    other = ox.NamedNode(BASE + "graph/other")
    quads += quads[::10] + [ox.Quad(q.subject, q.predicate, q.object, other) for q in quads[::7]]
    quads += [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads[::13]]
    store = ox.Store(str(tmp_path / "oxigraph"))
    store.bulk_extend(quads)
    del store
    assert quad_stats(quads) == dataset_stats(EmbeddedStore(tmp_path, {}))
    assert quad_stats(quads).triples < len(quads)


def test_provenance_of_the_season_graph(seed_store: EmbeddedStore) -> None:
    graph = f"<{BASE}graph/season/2002-03>"
    rows = select(
        seed_store,
        f"""SELECT ?title ?source ?license ?sha ?file ?time ?version WHERE {{
            {graph} dcterms:title ?title ; dcterms:source ?source ; dcterms:license ?license ;
                sg:sha256 ?sha ; sg:sourceFile ?file ; prov:generatedAtTime ?time ; prov:wasGeneratedBy ?build ;
                cc:attributionName "Wikipedia contributors" ; dcterms:bibliographicCitation ?citation .
            ?build prov:wasAssociatedWith/sg:softwareVersion ?version .
        }}""",
    )
    assert len(rows) == 1
    title, source, licence, sha, file, built, version = rows[0]
    assert title == "2002–03 ISU Short Track Speed Skating World Cup"
    assert source == "https://en.wikipedia.org/wiki/2002%E2%80%9303_ISU_Short_Track_Speed_Skating_World_Cup"
    assert licence == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert sha == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert file == SEED.name
    assert built.endswith("Z")  # Oxigraph writes UTC as Z
    import skategraph

    assert version == skategraph.__version__


def test_iris_are_stable_across_builds(tmp_path: Path, seed_store: EmbeddedStore) -> None:
    again = build(tmp_path / "again")
    # Everything but the build's own id and time is identical.
    query = """SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o }
                 FILTER(!STRSTARTS(STR(?s), "https://w3id.org/skategraph/build/")
                        && !STRSTARTS(STR(?o), "https://w3id.org/skategraph/build/")
                        && ?p != prov:generatedAtTime && ?p != prov:startedAtTime) }"""
    assert sorted(select(again, query)) == sorted(select(seed_store, query))
    assert again.manifest["build_id"] != seed_store.manifest["build_id"]


def test_base_is_configurable(tmp_path: Path) -> None:
    nations = bundled_nations()
    build_store(read_articles([SEED], nations), nations, tmp_path / "s", base="http://localhost:8000/")
    store = open_store(tmp_path / "s")
    assert store.manifest["base"] == "http://localhost:8000/"
    assert ask(store, "ASK { <http://localhost:8000/id/skater/ahn-hyun-soo> a sg:Skater }")


# -- several seasons ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_seasons(tmp_path_factory: pytest.TempPathFactory, seed_text: str) -> EmbeddedStore:
    folder = tmp_path_factory.mktemp("seasons")
    later = folder / "2003-04.txt"
    # The same skaters a season later; one skater's name spelled the minority way throughout.
    later.write_text(shift_season(seed_text, 1).replace("Lee Seung-jae", "Lee Seung-Jae"), encoding="utf-8")
    return build(folder / "store", SEED, later, validate=True)


def test_two_seasons_are_two_graphs(two_seasons: EmbeddedStore) -> None:
    assert scalar(two_seasons, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Season }") == "2"
    assert scalar(two_seasons, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Race }") == "120"
    graphs = select(two_seasons, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s a sg:Race } } ORDER BY ?g")
    assert graphs == [(BASE + "graph/season/2002-03",), (BASE + "graph/season/2003-04",)]


@pytest.mark.parametrize(
    ("cls", "count"), [("sg:Skater", 35), ("sg:Nation", 11), ("sg:Venue", 6), ("sg:RelayTeam", 14)]
)
def test_same_things_across_seasons_are_one_resource(two_seasons: EmbeddedStore, cls: str, count: int) -> None:
    assert scalar(two_seasons, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a {cls} }}") == str(count)


def test_skater_across_seasons(two_seasons: EmbeddedStore) -> None:
    seasons = select(
        two_seasons,
        f"SELECT DISTINCT ?season WHERE {{ ?r sg:competitor <{ID}skater/ahn-hyun-soo> ; sg:race/sg:season ?season }} ORDER BY ?season",
    )
    assert seasons == [(ID + "season/2002-03",), (ID + "season/2003-04",)]
    # 3 + 8 uses of `Lee Seung-Jae` now outnumber the 5 of `Lee Seung-jae`: one label, one alternative.
    iri = f"<{ID}skater/lee-seung-jae>"
    assert select(two_seasons, f"SELECT ?l WHERE {{ {iri} rdfs:label ?l }}") == [("Lee Seung-Jae",)]
    assert select(two_seasons, f"SELECT ?l WHERE {{ {iri} skos:altLabel ?l }}") == [("Lee Seung-jae",)]


def test_loaded_neighbour_seasons_link_both_ways(two_seasons: EmbeddedStore) -> None:
    assert ask(two_seasons, f"ASK {{ <{ID}season/2002-03> sg:nextSeason <{ID}season/2003-04> }}")
    assert ask(two_seasons, f"ASK {{ <{ID}season/2003-04> sg:previousSeason <{ID}season/2002-03> }}")
    labels = select(two_seasons, f"SELECT ?l WHERE {{ <{ID}season/2003-04> rdfs:label ?l }}")
    assert labels == [("2003–04 ISU Short Track Speed Skating World Cup",)]


def test_same_season_twice_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_bytes(SEED.read_bytes())
    with pytest.raises(BuildError, match="the season 2002-03 is given twice"):
        build(tmp_path / "s", SEED, copy)


def test_one_name_in_both_categories_is_refused(tmp_path: Path, seed_text: str) -> None:
    later = tmp_path / "later.txt"
    later.write_text(shift_season(seed_text, 1).replace("CHN Wang Meng", "KOR Ahn Hyun-soo"), encoding="utf-8")
    with pytest.raises(SourceError, match="skates in women's races here and in men's races"):
        build(tmp_path / "s", SEED, later)


def test_venue_in_two_nations_is_refused(tmp_path: Path, seed_text: str) -> None:
    later = tmp_path / "later.txt"
    later.write_text(shift_season(seed_text, 1).replace("ITA Bormio", "SUI Bormio"), encoding="utf-8")
    with pytest.raises(SourceError, match="the venue Bormio is in ITA elsewhere, not SUI"):
        build(tmp_path / "s", SEED, later)


def test_season_in_progress_builds_and_validates(tmp_path: Path, seed_text: str) -> None:
    partial = tmp_path / "partial.txt"
    partial.write_text(seed_text[: seed_text.index("====Italy====")], encoding="utf-8")
    store = build(tmp_path / "s", partial, validate=True)
    assert scalar(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Race }") == "15"
    assert scalar(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Standing }") == "0"


# -- failed builds leave the store in place ----------------------------------------------------


def answers(path: Path) -> str:
    return scalar(open_store(path), "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Race }")


def test_bad_source_leaves_store_untouched(tmp_path: Path, seed_text: str) -> None:
    path = tmp_path / "s"
    build(path)
    before = current_build_id(path)
    broken = tmp_path / "broken.txt"
    broken.write_text(seed_text.replace("18 October 2002 | KOR", "18 Octobre 2002 | KOR"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken\.txt, line 19"):
        build(path, broken)
    assert current_build_id(path) == before
    assert answers(path) == "60"


def test_failed_validation_leaves_store_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s"
    build(path)
    before = current_build_id(path)
    nations = bundled_nations()

    def refuse(store: EmbeddedStore) -> None:
        raise ValidationFailed("refused for the test")

    with pytest.raises(ValidationFailed):
        build_store(read_articles([SEED], nations), nations, path, base=BASE, validate=refuse)
    assert current_build_id(path) == before
    assert sorted(p.name for p in (path / "generations").iterdir()) == [before]
    assert answers(path) == "60"


def test_killed_build_leaves_store_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s"
    build(path)
    before = current_build_id(path)
    env = {**os.environ, "SKATEGRAPH_STORE": str(path)}
    # Thirty seasons: a build long enough (loading, validating) to be killed while it writes.
    seasons = []
    for k in range(30):
        seasons.append(tmp_path / f"season-{k}.txt")
        seasons[-1].write_text(shift_season(SEED.read_text("utf-8"), k), "utf-8")
    process = subprocess.Popen([sys.executable, "-m", "skategraph", "build", *map(str, seasons)], env=env,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list((path / "generations").iterdir())) < 2:  # the new generation is being written
        assert time.monotonic() < deadline and process.poll() is None, "the build never started writing"
        time.sleep(0.005)
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the build finished before it could be killed"
    assert current_build_id(path) == before
    assert answers(path) == "60"
    # The next build clears what the killed one left and succeeds.
    build(path)
    assert current_build_id(path) != before
    assert len(list((path / "generations").iterdir())) == 2


def test_concurrent_build_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    build(path)
    with open(path / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(BuildError, match="another build or update is running"):
            build(path)
    assert answers(path) == "60"


def test_old_generations_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "s"
    ids = []
    for _ in range(3):
        build(path)
        ids.append(current_build_id(path))
    assert len(set(ids)) == 3
    assert {p.name for p in (path / "generations").iterdir()} == {ids[1], ids[2]}
    assert os.readlink(path / "previous") == os.path.join("generations", ids[1])


def test_refuses_a_directory_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "mine"
    path.mkdir()
    (path / "notes.txt").write_text("keep me")
    with pytest.raises(BuildError, match="is not a skategraph store"):
        build(path)
    assert (path / "notes.txt").read_text() == "keep me"


def test_open_missing_store(tmp_path: Path) -> None:
    from skategraph.errors import StoreNotFound

    with pytest.raises(StoreNotFound, match="run 'skategraph build' first"):
        open_store(tmp_path / "nothing")


def test_a_held_generation_outlives_prunes_until_it_is_released(tmp_path: Path, seed_dir: Path) -> None:
    from skategraph.errors import GenerationGone
    from skategraph.store import generations

    path = copy_store(seed_dir, tmp_path / "s")
    first = generations.current(path)
    held = generations.hold(first)
    for _ in range(2):
        build(path)
    assert (
        first.is_dir() and scalar(EmbeddedStore(first), "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Race }") == "60"
    )  # neither current nor previous, but held
    held.release()
    build(path)
    assert not first.exists()
    with pytest.raises(GenerationGone):
        generations.hold(first)
    second_hold = generations.hold(generations.current(path))  # dropped without release: the GC frees it
    del second_hold
    now = generations.current(path)
    build(path)
    build(path)
    assert not now.exists()


def test_a_process_holds_a_generation_once_however_many_jobs_use_it(tmp_path: Path, seed_dir: Path) -> None:
    """`Holds`: one lock a generation per process, counted; let go when the last job is done and the
    generation is no longer current (the current one stays held between jobs: pruning keeps it anyway)."""
    from skategraph.errors import GenerationGone
    from skategraph.store import generations

    path = copy_store(seed_dir, tmp_path / "s")
    holds = generations.Holds(path)
    first = generations.current(path)
    one, two = holds.take(first), holds.take(first)
    assert _open_files().count(str(first / generations.READERS)) == 1  # two jobs, one lock
    for _ in range(2):
        build(path)
    one()
    one()  # letting go twice counts once
    build(path)
    assert first.is_dir()  # the second job still holds it
    two()
    build(path)
    assert not first.exists()
    with pytest.raises(GenerationGone):
        holds.take(first)
    now = generations.current(path)
    release = holds.take(now)
    release()  # current: still held, which costs nothing
    build(path)
    build(path)  # now neither current nor previous: the next write may remove it, the held lock is let go
    assert now.is_dir()
    holds.take(generations.current(path))()  # any job lets go of what is no longer current
    build(path)
    assert not now.exists()
    holds.close()


def _open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, gone by now
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return found
