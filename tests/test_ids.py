"""Identity rules: which names are one thing, and the IRIs they get."""

from __future__ import annotations

import pytest

from skategraph.errors import SkategraphError
from skategraph.graph.ids import Minter, check_base, fold, slug, wikipedia_url
from skategraph.source.records import Category


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ahn Hyun-soo", "ahn-hyun-soo"),
        ("Lee Seung-Jae", "lee-seung-jae"),
        ("Lee Seung-jae", "lee-seung-jae"),
        ("Yang Yang (A)", "yang-yang-a"),
        ("Yang Yang (S)", "yang-yang-s"),
        ("Amélie Goulet-Nadon", "amelie-goulet-nadon"),
        ("François-Louis Tremblay", "francois-louis-tremblay"),
        ("Jean-François Monette", "jean-francois-monette"),
        ("Saint Petersburg", "saint-petersburg"),
        ("Bjørn Ødegård", "bjorn-odegard"),
        ("Łukasz Kuczyński", "lukasz-kuczynski"),
        ("  Apolo  Anton   Ohno ", "apolo-anton-ohno"),
        ("5000m relay", "5000m-relay"),
        ("王濛", "王濛"),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_slug_of_nothing_is_an_error() -> None:
    with pytest.raises(SkategraphError, match="cannot make an identifier"):
        slug("()")


def test_fold_keeps_case_and_punctuation() -> None:
    assert fold("Amélie Goulet-Nadon") == "Amelie Goulet-Nadon"


def test_minted_iris() -> None:
    mint = Minter()
    assert mint.skater("Lee Seung-Jae").value == "https://w3id.org/skategraph/id/skater/lee-seung-jae"
    assert mint.skater("Yang Yang (A)").value == "https://w3id.org/skategraph/id/skater/yang-yang-a"
    assert mint.nation("GER").value == "https://w3id.org/skategraph/id/nation/GER"
    assert mint.relay_team("CAN", Category.MEN).value == "https://w3id.org/skategraph/id/relay-team/CAN-men"
    assert mint.season("2002-03").value == "https://w3id.org/skategraph/id/season/2002-03"
    race = mint.race("2002-03", "chuncheon", Category.WOMEN, "3000m relay")
    assert race.value == "https://w3id.org/skategraph/id/race/2002-03/chuncheon/women-3000m-relay"
    assert mint.standing("2002-03", Category.MEN, "Overall", 1).value.endswith("/id/standing/2002-03/men-overall/1")


def test_configurable_base() -> None:
    assert (
        Minter("http://localhost:8000/").skater("Ahn Hyun-soo").value == "http://localhost:8000/id/skater/ahn-hyun-soo"
    )


def test_unicode_slug_is_a_valid_iri() -> None:
    assert Minter().skater("王濛").value == "https://w3id.org/skategraph/id/skater/%E7%8E%8B%E6%BF%9B"


@pytest.mark.parametrize(
    "base", ["w3id.org/skategraph/", "https://w3id.org/skategraph", "ftp://example.org/", "https://x.org/?a=1/", "/id/"]
)
def test_bad_base_is_refused(base: str) -> None:
    with pytest.raises(SkategraphError, match="base IRI"):
        check_base(base)


def test_wikipedia_url() -> None:
    assert (
        wikipedia_url("2002–03 ISU Short Track Speed Skating World Cup")
        == "https://en.wikipedia.org/wiki/2002%E2%80%9303_ISU_Short_Track_Speed_Skating_World_Cup"
    )
