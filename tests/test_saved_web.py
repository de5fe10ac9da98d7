"""Saved queries over HTTP (the app in this process): the catalogue, running queries, pages, errors, and the OpenAPI document
(validated with openapi-spec-validator, then every operation called as the document describes it)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate

from skategraph.cli import cli
from skategraph.saved.catalogue import load_catalogue

from .conftest import build
from .server import Client, seed_app
from .source_facts import RACES
from .test_queries import LOCAL

CATALOGUE = load_catalogue()
MINE = """#+ title: Wins of a nation
#+ description: Race wins of one nation's skaters and teams.
#+ params:
#+   nation: {type: nation, required: true, example: CAN}

PREFIX sg: <https://w3id.org/skategraph/ontology#>
SELECT ?race ?_nation WHERE { ?r sg:race ?race ; sg:rank 1 ; sg:nation ?_nation } ORDER BY ?race
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saved-web")


@pytest.fixture(scope="module")
def server(folder: Path, seed_dir: Path) -> Iterator[Client]:
    (folder / "mine").mkdir()
    (folder / "mine" / "nation_wins.rq").write_text(MINE, "utf-8")
    with seed_app(folder, seed=seed_dir, row_limit=40, queries=(folder / "mine",)) as running:
        yield running


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def cli_csv(store: Path, name: str, params: dict[str, str], *extra: str) -> list[dict[str, str]]:
    args = ["query", name, "--store", str(store), "--format", "csv", *extra]
    for key, value in params.items():
        args += ["-p", f"{key}={value}"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_catalogue(server: Client) -> None:
    reply = server.get("/queries")
    assert reply.status == 200 and reply.header("Content-Type") == "application/json"
    queries = {q["name"]: q for q in json.loads(reply.body)["queries"]}
    assert set(queries) == set(CATALOGUE.queries) | {"nation_wins"}
    results = queries["skater_results"]
    assert results["url"] == f"{server.url}/queries/skater_results"
    assert results["example_url"] == f"{server.url}/queries/skater_results?skater=ahn-hyun-soo"
    (skater,) = results["parameters"]
    assert skater["type"] == "skater" and skater["required"] is True and skater["example"] == "ahn-hyun-soo"
    assert "any spelling of the name" in skater["accepts"]
    podiums = {p["name"]: p for p in queries["race_podiums"]["parameters"]}
    assert podiums["distance"]["values"] == ["500", "1000", "1500", "3000", "relay"]
    assert podiums["category"]["values"] == ["men", "women"]
    assert podiums["season"]["values"] == ["2002-03"]
    assert podiums["venue"]["values"] == sorted({r.venue for r in RACES})
    nations = {p["name"]: p for p in queries["relay_results"]["parameters"]}["nation"]["values"]
    assert set(nations) == {code for r in RACES for code, _ in r.podium}
    venues = {p["name"]: p for p in queries["multi_venue_winners"]["parameters"]}["min_venues"]
    assert (venues["type"], venues["default"], venues["min"]) == ("integer", "2", 1)


@pytest.mark.parametrize("name", LOCAL)
def test_same_answer_over_http_and_from_the_cli(server: Client, name: str) -> None:
    params = CATALOGUE.get(name).example()
    reply = server.get(f"/queries/{name}", params, Accept="text/csv")
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "text/csv; charset=utf-8"
    assert csv_rows(reply.body) == cli_csv(server.store, name, params, "--limit", "40")


def test_a_users_own_query_is_served(server: Client) -> None:
    reply = server.get("/queries/nation_wins", {"nation": "can"}, Accept="application/sparql-results+json")
    assert reply.status == 200
    bindings = json.loads(reply.body)["results"]["bindings"]
    assert len(bindings) == sum(r.podium[0][0] == "CAN" for r in RACES)
    assert json.loads(reply.body)["head"]["vars"] == ["race"]


def test_post_a_form(server: Client) -> None:
    reply = server.post("/queries/skater_results", urlencode({"skater": "Amélie Goulet-Nadon"}),
                        "application/x-www-form-urlencoded", Accept="application/sparql-results+json")  # fmt: skip
    assert reply.status == 200
    assert len(json.loads(reply.body)["results"]["bindings"]) == 11
    wrong = server.post("/queries/skater_results", "skater=x", "text/plain")
    assert wrong.status == 415 and "as a form" in json.loads(wrong.body)["message"]


def test_formats_and_caching(server: Client) -> None:
    xml = server.get("/queries/calendar", Accept="application/sparql-results+xml")
    assert xml.status == 200 and xml.body.startswith(b"<?xml")
    tsv = server.get("/queries/calendar", {"format": "tsv"})
    assert tsv.header("Content-Type") == "text/tab-separated-values; charset=utf-8"
    assert server.get("/queries/calendar", Accept="image/png").status == 406
    head = server.request("HEAD", "/queries/calendar?format=tsv")
    assert head.status == 200 and head.body == b"" and head.header("Content-Length") == str(len(tsv.body))
    first = server.get("/queries/calendar", {"season": "2002-03"})
    etag = first.header("ETag")
    assert etag and server.get("/queries/calendar", {"season": "2002-03"}, If_None_Match=etag).status == 304
    # The same season spelled another way is the same answer, so the same ETag; another format is not.
    assert server.get("/queries/calendar", {"season": "2002–03"}).header("ETag") == etag
    assert server.get("/queries/calendar", {"season": "2002-03", "format": "csv"}).header("ETag") != etag


def test_pages_follow_next_links(server: Client) -> None:
    """60 races with a row limit of 40: two pages by default, four with limit=15, each linking the next."""
    whole = []
    url = "/queries/race_podiums?limit=15&category="
    pages = 0
    while url:
        reply = server.get(url, Accept="application/sparql-results+json")
        assert reply.status == 200
        body = json.loads(reply.body)
        whole += body["results"]["bindings"]
        pages += 1
        link = reply.header("Link")
        if link is None:
            assert reply.header("X-Skategraph-Truncated") is None and "link" not in body["head"]
            break
        found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert found and reply.header("X-Skategraph-Truncated") == "true"
        assert body["head"]["link"] == [found.group(1)]
        url = urlsplit(found.group(1)).path + "?" + urlsplit(found.group(1)).query
    assert pages == 4 and len(whole) == 60
    default = server.get("/queries/race_podiums", Accept="text/csv")
    assert len(csv_rows(default.body)) == 40 and "offset=40" in (default.header("Link") or "")


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/queries/skater_results", {}, 400, "parameter skater is required"),
        ("/queries/skater_results", {"skater": "Ahn Hyunsoo"}, 400, "did you mean Ahn Hyun-soo?"),
        ("/queries/skater_results", [("skater", "a"), ("skater", "b")], 400, "parameter skater is given twice"),
        ("/queries/skater_results", {"skatr": "x"}, 400, "skater_results has no parameter 'skatr'"),
        ("/queries/multi_venue_winners", {"min_venues": "0"}, 400, "parameter min_venues: 0 is out of range"),
        ("/queries/race_podiums", {"category": "juniors"}, 400, "'juniors' is not men, women or mixed"),
        ("/queries/race_podiums", {"limit": "41"}, 400, "limit may be at most 40"),
        ("/queries/race_podiums", {"offset": "-1"}, 400, "offset must be a whole number"),
        ("/queries/race_podiums", {"limit": "²"}, 400, "limit must be a whole number, at least 1, not '²'"),
        ("/queries/race_podiums", {"offset": "٣"}, 400, "offset must be a whole number, at least 0"),
        ("/queries/race_podiums", {"format": "pdf"}, 400, "unknown format 'pdf'"),
        ("/queries/medal_table", {"category": "\xa0"}, 400, "parameter category: '' is not men, women or mixed"),
        ("/queries/skater_result", {}, 404, "did you mean skater_results"),
    ],
)
def test_errors(server: Client, path: str, params: dict[str, str], status: int, message: str) -> None:
    reply = server.get(path, params)
    assert reply.status == status and reply.header("Content-Type") == "application/json"
    body = json.loads(reply.body)
    assert body["status"] == status and message in body["message"], body


def test_the_cli_and_http_say_the_same(server: Client) -> None:
    reply = json.loads(server.get("/queries/race_podiums", {"distance": "800"}).body)["message"]
    result = CliRunner().invoke(cli, ["query", "race_podiums", "-p", "distance=800", "--store", str(server.store)])
    assert result.stderr.strip() == f"Error: {reply}"


def test_openapi_document_validates_and_every_operation_answers(server: Client) -> None:
    reply = server.get("/openapi.json")
    assert reply.status == 200
    document = json.loads(reply.body)
    validate(document)  # raises on an invalid OpenAPI 3.1 document
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": server.url}]
    called = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post"):
                continue  # the path's description, or a Graph Store write (tests/test_conformance.py)
            if path == "/store" and method == "post":
                continue  # a write, with the token: tests/test_conformance.py
            declared = operation["responses"]["200"]["content"] if "200" in operation["responses"] else {}
            if method == "get":
                params = {p["name"]: str(p["example"]) for p in operation.get("parameters", []) if "example" in p}
                got = server.get(path, params)
            elif "application/x-www-form-urlencoded" in operation["requestBody"]["content"] and path != "/sparql":
                schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
                examples = {p["name"]: str(p["example"]) for p in operations["get"]["parameters"] if "example" in p}
                form = {name: examples[name] for name in schema.get("required", [])}
                got = server.post(path, urlencode(form), "application/x-www-form-urlencoded")
            else:
                example = operation["requestBody"]["content"]["application/sparql-query"]["example"]
                got = server.post(path, example, "application/sparql-query")
            if "federated" in operation.get("tags", []):
                # Its default endpoint (Wikidata) is not on this server's allow-list: refused, as the
                # document's 400 says; tests/test_links.py runs it against a stand-in that is.
                assert got.status == 400 and json.loads(got.body)["error"] == "outbound_refused", got.text
                called += 1
                continue
            assert got.status == 200, (method, path, got.text)
            media = (got.header("Content-Type") or "").split(";")[0]
            assert media in declared, (path, media)
            called += 1
    # each query twice, nation_wins, /sparql twice, /queries, /reconcile twice, GET /store, /health, /limits
    assert called == 2 * (len(CATALOGUE) + 1) + 2 + 1 + 2 + 1 + 2
    parameters = {p["name"]: p for p in document["paths"]["/queries/race_podiums"]["get"]["parameters"]}
    assert parameters["distance"]["schema"]["enum"] == ["500", "1000", "1500", "3000", "relay"]
    min_venues = document["paths"]["/queries/multi_venue_winners"]["get"]["parameters"][0]
    assert min_venues["schema"] == {"type": "integer", "minimum": 1, "default": 2}


def test_a_broken_query_file_stops_the_server_before_it_starts(tmp_path: Path) -> None:
    build(tmp_path / "store")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "oops.rq").write_text(MINE.replace("WHERE {", "WHER {"), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "skategraph", "serve", "--store", str(tmp_path / "store"), "--port", "0",
         "--queries", str(tmp_path / "broken")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"Error: the saved queries have 1 problem:\n  {tmp_path / 'broken' / 'oops.rq'}, line 7" in done.stderr
    assert "Traceback" not in done.stderr
