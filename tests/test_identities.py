"""One skater per person across seasons: the identity file, the pairs a person confirms, and IRIs
from before a merge that keep answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from skategraph.cli import cli
from skategraph.errors import LinkFileError
from skategraph.linking.identities import find_pairs
from skategraph.source.identities import read_identities
from skategraph.store.embedded import EmbeddedStore, open_store

from .conftest import ID, SEED, build, scalar, select
from .season_facts import SEASONS
from .server import Client, running_app

FILES = [SEED, *sorted(SEASONS.glob("*.txt"))]


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """All nine seasons, with the bundled identity file."""
    return build(tmp_path_factory.mktemp("merged") / "store", *FILES)


@pytest.fixture(scope="module")
def unmerged(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """All nine seasons with an empty identity file: spellings only fold."""
    folder = tmp_path_factory.mktemp("unmerged")
    (folder / "none.tsv").write_text("# no identities\n", "utf-8")
    store = folder / "store"
    result = CliRunner().invoke(cli, ["build", *map(str, FILES), "--store", str(store), "--no-validate",
                                      "--identities", str(folder / "none.tsv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    return open_store(store)


def test_one_skater_with_every_spelling_and_each_results_nation(merged: EmbeddedStore) -> None:
    ahn = f"<{ID}skater/ahn-hyun-soo>"
    assert select(merged, f"SELECT ?l WHERE {{ {ahn} rdfs:label ?l }}") == [("Ahn Hyun-soo",)]
    assert select(merged, f"SELECT ?l WHERE {{ {ahn} skos:altLabel ?l }} ORDER BY ?l") == [("Viktor Ahn",)]
    nations = select(
        merged,
        f"""SELECT ?season ?code (COUNT(*) AS ?n) WHERE {{ ?r sg:competitor {ahn} ;
        sg:nation/skos:notation ?code ; sg:race/sg:season ?season }} GROUP BY ?season ?code ORDER BY ?season""",
    )
    assert [(s.rsplit("/", 1)[-1], code) for s, code, _n in nations] == [("2002-03", "KOR"), ("2003-04", "KOR"),
                                                                        ("2014-15", "RUS")]  # fmt: skip
    for spelling, key in (("semen-elistratov", "semion-elistratov"), ("shaolin-sandor-liu", "sandor-liu-shaolin"),
                          ("apolo-ohno", "apolo-anton-ohno"), ("viktor-ahn", "ahn-hyun-soo")):  # fmt: skip
        assert select(merged, f"SELECT ?o WHERE {{ <{ID}skater/{spelling}> owl:sameAs ?o }}") == [
            (f"{ID}skater/{key}",)
        ]
        assert scalar(merged, f"SELECT (COUNT(*) AS ?n) WHERE {{ <{ID}skater/{spelling}> a ?t }}") == "0"


def test_merging_leaves_a_skater_per_person(merged: EmbeddedStore, unmerged: EmbeddedStore) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a sg:Skater }"
    assert int(scalar(unmerged, count)) - int(scalar(merged, count)) == 4  # four spellings merged
    results = "SELECT (COUNT(*) AS ?n) WHERE { ?r a sg:Result }"
    assert scalar(merged, results) == scalar(unmerged, results)  # nothing lost


def test_the_pairs_command_proposes_on_evidence_and_never_on_a_name_alone(unmerged: EmbeddedStore) -> None:
    pairs = {(p.first_name, p.second_name): p.evidence for p in find_pairs(unmerged)}
    assert pairs == {
        ("Apolo Anton Ohno", "Apolo Ohno"): "USA; one name is the other with a middle name",
        (
            "Sándor Liu Shaolin",
            "Shaolin Sándor Liu",
        ): "HUN; the same name once case, accents, hyphens and word order are folded",
    }


def test_two_people_of_one_name_are_never_a_pair(tmp_path: Path, seed_text: str) -> None:
    copy = tmp_path / "2002-03.txt"
    copy.write_text(seed_text.replace("| CHN Wang Chunlu |", "| CHN Yang Yang (S) |", 1), "utf-8")
    store = build(tmp_path / "store", copy)
    assert find_pairs(store) == []
    result = CliRunner().invoke(cli, ["identities", "--store", str(tmp_path / "store")])
    assert result.exit_code == 0 and result.stdout.strip() == "skater,probably the same as,evidence"  # CSV: no rows


def test_the_pairs_as_lines_for_the_identity_file(unmerged: EmbeddedStore, tmp_path: Path) -> None:
    store = unmerged.generation.parent.parent
    result = CliRunner().invoke(cli, ["identities", "--store", str(store), "--tsv"])
    assert result.exit_code == 0
    (tmp_path / "mine.tsv").write_text(result.stdout, "utf-8")
    assert read_identities(tmp_path / "mine.tsv") == {
        "apolo ohno": "apolo-anton-ohno",
        "shaolin sandor liu": "sandor-liu-shaolin",
    }


def test_a_broken_identity_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.tsv").write_text("Viktor Ahn\n", "utf-8")
    with pytest.raises(LinkFileError, match="line 1: expected 'spelling<TAB>skater key<TAB>evidence'"):
        read_identities(tmp_path / "bad.tsv")
    (tmp_path / "two.tsv").write_text("Viktor Ahn\tahn-hyun-soo\t\nViktor  AHN\tviktor-ahn\t\n", "utf-8")
    with pytest.raises(LinkFileError, match="line 2: 'Viktor  AHN' is also ahn-hyun-soo"):
        read_identities(tmp_path / "two.tsv")


@pytest.fixture(scope="module")
def server(merged: EmbeddedStore) -> Iterator[Client]:
    with running_app(merged.generation.parent.parent) as running:
        yield running


@pytest.mark.parametrize("suffix", ["", ".ttl", ".nt"])
def test_an_iri_from_before_a_merge_redirects_to_the_skater(server: Client, suffix: str) -> None:
    reply = server.get(f"/id/skater/viktor-ahn{suffix}", Accept="text/turtle")
    assert reply.status == 301
    assert reply.header("Location") == f"{server.url}/id/skater/ahn-hyun-soo{suffix}"
    described = server.get("/id/skater/ahn-hyun-soo.nt").text
    assert f"<{ID}skater/viktor-ahn> <http://www.w3.org/2002/07/owl#sameAs> <{ID}skater/ahn-hyun-soo> ." in described
    page = server.get("/id/skater/ahn-hyun-soo", Accept="text/html")
    assert page.status == 200 and "Viktor Ahn" in page.text
    assert json.loads(server.get("/id/skater/no-such-one", Accept="application/json").body)["error"] == "not_found"
