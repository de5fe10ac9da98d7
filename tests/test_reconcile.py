"""`/reconcile` as OpenRefine uses it: the requests it sends, replayed against the app, and every
answer validated against the JSON schemas the Reconciliation API 0.2 specification publishes."""

from __future__ import annotations

import http.client
import json
import random
import shutil
import signal
import string
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from skategraph.source.linkfiles import bundled_link_files
from skategraph.store.build import build_from_files

from .conftest import BASE, ROOT, SEED, copy_store
from .server import Client, Server, rows, seed_app, seed_server, start_server

SCHEMAS = ROOT / "tests" / "fixtures" / "reconciliation-0.2"


def _registry() -> Registry:
    resources = [(json.loads(p.read_text("utf-8"))) for p in SCHEMAS.glob("*.json")]
    # The schemas say "$schema": "http://json-schema.org/schema#" (no draft); they are written as draft 7.
    return Registry().with_resources((schema["$id"], DRAFT7.create_resource(schema)) for schema in resources)


def validate(name: str, instance: Any) -> None:
    """Raise if `instance` does not validate against the specification's schema `name`."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text("utf-8"))
    Draft7Validator(schema, registry=_registry()).validate(instance)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Client]:
    with seed_app(tmp_path_factory.mktemp("reconcile"), seed=seed_dir) as running:
        yield running


def reconcile(server: Client, queries: dict[str, Any]) -> dict[str, Any]:
    """A batch as OpenRefine sends it: POSTed as a form field `queries`; checked both ways."""
    validate("reconciliation-query-batch", queries)
    reply = server.post("/reconcile", urlencode({"queries": json.dumps(queries)}), "application/x-www-form-urlencoded")
    assert reply.status == 200, reply.text
    answer: dict[str, Any] = json.loads(reply.body)
    validate("reconciliation-result-batch", answer)
    assert set(answer) == set(queries)
    return answer


def test_manifest(server: Client) -> None:
    reply = server.get("/reconcile", Origin="http://localhost:3333")
    assert reply.status == 200 and reply.header("Access-Control-Allow-Origin") == "*"
    manifest = json.loads(reply.body)
    validate("manifest", manifest)
    assert manifest["versions"] == ["0.2"]
    assert {t["id"] for t in manifest["defaultTypes"]} == {"skater", "nation", "venue", "race"}
    # `view` turns an id into the entity's page here, and that page exists.
    page = manifest["view"]["url"].replace("{{id}}", "skater/ahn-hyun-soo")
    assert server.get(page.replace(server.url, ""), Accept="text/html").status == 200


def test_openrefine_guesses_types_then_reconciles_a_column(server: Client) -> None:
    # 1. Type guessing: the first rows of the column, no type.
    names = ["Hyun-Soo Ahn", "Amelie Goulet Nadon", "Bulgaria", "Salt Lake City"]
    guessed = reconcile(server, {f"q{i}": {"query": n, "limit": 6} for i, n in enumerate(names)})
    assert [guessed[f"q{i}"]["result"][0]["type"][0]["id"] for i in range(4)] == ["skater", "skater", "nation", "venue"]
    # 2. The column, with the chosen type and a property column for the nation.
    rows = {
        "q0": ("Hyun-Soo Ahn", "KOR"),
        "q1": ("AMÉLIE GOULET-NADON", "Canada"),
        "q2": ("Lee Seung-Jae", "KOR"),
        "q3": ("Wang Wei", "CHN"),
        "q4": ("Cheng Xiao Lei", "CHN"),
        "q5": ("Nobody At All", "USA"),
    }
    queries = {
        key: {"query": name, "type": "skater", "type_strict": "should", "limit": 3,
              "properties": [{"pid": "nation", "v": nation}]}
        for key, (name, nation) in rows.items()
    }  # fmt: skip
    answer = reconcile(server, queries)
    best = {key: answer[key]["result"][0] if answer[key]["result"] else None for key in rows}
    assert best["q0"] is not None and (best["q0"]["id"], best["q0"]["match"]) == ("skater/ahn-hyun-soo", True)
    assert best["q1"] is not None and best["q1"]["id"] == "skater/amelie-goulet-nadon" and best["q1"]["match"]
    assert best["q2"] is not None and best["q2"]["id"] == "skater/lee-seung-jae" and best["q2"]["match"]
    assert best["q3"] is not None and best["q3"]["id"] == "skater/wang-wei" and best["q3"]["match"]
    assert best["q4"] is not None and best["q4"]["id"] == "skater/cheng-xiao-lei"
    assert best["q5"] is None or not best["q5"]["match"]


@pytest.mark.parametrize(
    ("name", "skater"),
    [("Viktor Ahn", "ahn-hyun-soo"), ("Victor An", "ahn-hyun-soo"), ("Apolo Ohno", "apolo-anton-ohno")],
)
def test_names_from_the_identity_file_match(server: Client, name: str, skater: str) -> None:
    """The seed never spells these; the identity file says whose they are, and the build keeps them
    as `skos:hiddenLabel` (found by a search, not shown as a spelling the sources use)."""
    answer = reconcile(server, {"q": {"query": name, "type": "skater"}})
    best = answer["q"]["result"][0]
    assert (best["id"], best["match"], best["score"]) == (f"skater/{skater}", True, 100.0)
    shown = server.query(f"SELECT ?l WHERE {{ <{BASE}id/skater/{skater}> skos:altLabel ?l }}")
    assert name not in shown.text


def test_the_names_of_linked_resources_match(tmp_path: Path) -> None:
    """With no identity file, `Viktor Ahn` is known only as the DBpedia resource the links make Ahn
    Hyun-soo (its name is its Wikipedia article's title), and `Viktor An` only as the label of the
    linked Wikidata entity, as the linker wrote it into links.tsv; each is enough."""
    links = tmp_path / "links"
    shutil.copytree(ROOT / "data" / "links", links)
    (links / "links.tsv").write_text(
        "subject\ttarget\tdbpedia\tmethod\tscore\tevidence\tendpoint\tdate\tnames\n"
        "skater/ahn-hyun-soo\thttp://www.wikidata.org/entity/Q9000001\thttp://dbpedia.org/resource/Viktor_Ahn\t"
        "matcher\t0.95\tname: Hyun-Soo Ahn\thttp://127.0.0.1/sparql\t2026-12-03\tViktor An | Hyun-Soo Ahn\n",
        "utf-8",
    )
    (tmp_path / "none.tsv").write_text("# no identities\n", "utf-8")
    build_from_files([SEED], tmp_path / "built", base=BASE, validate=False, links=bundled_link_files(links),
                     identities_file=tmp_path / "none.tsv")  # fmt: skip
    with seed_app(tmp_path / "app", seed=tmp_path / "built") as app:
        answer = reconcile(app, {"q": {"query": "Viktor Ahn", "type": "skater"}, "w": {"query": "Viktor An"},
                                 "o": {"query": "Apolo Ohno"}})  # fmt: skip
    for key in ("q", "w"):
        best = answer[key]["result"][0]
        assert (best["id"], best["match"]) == ("skater/ahn-hyun-soo", True), answer[key]
    assert not answer["o"]["result"][0]["match"]  # no identity file, no link: only a near name


def test_property_constraints_count(server: Client) -> None:
    right = reconcile(
        server, {"q": {"query": "Wang Wei", "type": "skater", "properties": [{"pid": "nation", "v": "CHN"}]}}
    )
    wrong = reconcile(
        server, {"q": {"query": "Wang Wei", "type": "skater", "properties": [{"pid": "nation", "v": "KOR"}]}}
    )
    assert right["q"]["result"][0]["match"] and not any(c["match"] for c in wrong["q"]["result"])
    women = reconcile(server, {"q": {"query": "Wang Wei", "properties": [{"pid": "category", "v": "women"}]}})
    assert women["q"]["result"][0]["id"] == "skater/wang-wei"
    races = reconcile(server, {"q": {"query": "Women's 500m, Saguenay, 15 February 2003", "type": "race"}})
    assert races["q"]["result"][0]["id"] == "race/2002-03/saguenay/women-500m" and races["q"]["result"][0]["match"]


def test_an_unknown_type_gets_no_candidates(server: Client) -> None:
    answer = reconcile(server, {"q": {"query": "Ahn Hyun-soo", "type": "Q5"}})
    assert answer["q"]["result"] == []


def test_suggest_and_preview(server: Client) -> None:
    reply = server.get("/reconcile/suggest/entity", {"prefix": "gou", "type": "skater"})
    suggested = json.loads(reply.body)
    validate("suggest-entities-response", suggested)
    assert [s["id"] for s in suggested["result"]] == ["skater/amelie-goulet-nadon"]
    types = json.loads(server.get("/reconcile/suggest/type", {"prefix": "sk"}).body)
    assert types["result"] == [{"id": "skater", "name": "Skater"}]
    props = json.loads(server.get("/reconcile/suggest/property", {"prefix": "na"}).body)
    assert [p["id"] for p in props["result"]] == ["nation"]
    preview = server.get("/reconcile/preview", {"id": "skater/lee-seung-jae"})
    assert (
        preview.status == 200 and "Lee Seung-Jae" in preview.text and 'href="/id/skater/lee-seung-jae"' in preview.text
    )
    assert server.get("/reconcile/preview", {"id": "skater/nobody"}).status == 404


def test_the_preview_is_styled_and_may_be_framed(server: Client) -> None:
    """OpenRefine shows the preview in a frame: it must load our stylesheet (an inline <style> is
    refused by the page policy) and may be framed by any site, unlike every other page."""
    preview = server.get("/reconcile/preview", {"id": "skater/lee-seung-jae"})
    assert '<link rel="stylesheet" href="/assets/style.css">' in preview.text and "<style" not in preview.text
    policy = preview.header("Content-Security-Policy") or ""
    assert "frame-ancestors *" in policy and "style-src 'self'" in policy and "default-src 'none'" in policy
    assert preview.header("X-Frame-Options") is None
    assert "body.preview" in server.get("/assets/style.css").text


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        ("not json", "queries must be a JSON object of queries"),
        ('["q0"]', "queries must be a JSON object like"),
        ('{"q0": {"query": "x", "limit": 0}}', "q0: limit must be a positive number"),
        ('{"q0": {"query": "x", "properties": [{"pid": "nation"}]}}', 'each property is {"pid": ..., "v": ...}'),
        ('{"q0": {"query": "x", "limit": NaN}}', "q0: limit must be a positive number"),
        ('{"q0": {"query": "x", "limit": true}}', "q0: limit must be a positive number"),
        ('{"q0": {"query": "x", "properties": 5}}', 'q0: properties are a list of {"pid": ..., "v": ...}'),
        ("[" * 100_000 + "]" * 100_000, "queries are nested too deeply"),
        (json.dumps({f"q{i}": {"query": "x"} for i in range(101)}), "a batch holds at most 100 queries, not 101"),
    ],
)
def test_bad_batches_are_400_with_a_reason(server: Client, queries: str, message: str) -> None:
    reply = server.post("/reconcile", urlencode({"queries": queries}), "application/x-www-form-urlencoded")
    assert reply.status == 400 and message in json.loads(reply.body)["message"]


def test_no_properties_given_as_null_is_no_constraint(server: Client) -> None:
    batch = {"q0": {"query": "Ahn Hyun-soo", "type": "skater", "properties": None}}
    reply = server.post("/reconcile", urlencode({"queries": json.dumps(batch)}), "application/x-www-form-urlencoded")
    assert reply.status == 200 and json.loads(reply.body)["q0"]["result"][0]["id"] == "skater/ahn-hyun-soo"


# -- data extension ----------------------------------------------------------------------------------


def extend(server: Client, query: dict[str, Any]) -> dict[str, Any]:
    """An extend query as OpenRefine sends it (a form field `extend`), checked both ways."""
    validate("data-extension-query", query)
    reply = server.post("/reconcile", urlencode({"extend": json.dumps(query)}), "application/x-www-form-urlencoded")
    assert reply.status == 200, reply.text
    answer: dict[str, Any] = json.loads(reply.body)
    validate("data-extension-response", answer)
    return answer


def test_the_manifest_offers_extension_and_each_type_its_properties(server: Client) -> None:
    manifest = json.loads(server.get("/reconcile").body)
    assert manifest["extend"]["propose_properties"]["service_path"] == "/reconcile/properties"
    for kind, expected in (
        ("skater", ["nation", "podiums", "wikidata", "dbpedia"]),
        ("nation", ["podiums", "wikidata"]),
    ):
        answer = json.loads(server.get("/reconcile/properties", {"type": kind}).body)
        assert answer["type"] == kind and [p["id"] for p in answer["properties"]] == expected
    assert (
        len(json.loads(server.get("/reconcile/properties", {"type": "skater", "limit": "2"}).body)["properties"]) == 2
    )
    reply = server.get("/reconcile/properties", {"type": "shoe"})
    assert reply.status == 400 and "'shoe' offers no properties" in json.loads(reply.body)["message"]


def test_extend_answers_nation_podiums_and_wikidata(server: Client) -> None:
    ids = ["skater/ahn-hyun-soo", "skater/amelie-goulet-nadon", "nation/KOR", "skater/nobody"]
    answer = extend(server, {"ids": ids, "properties": [{"id": "nation"}, {"id": "podiums"}, {"id": "wikidata"}]})
    assert [m["id"] for m in answer["meta"]] == ["nation", "podiums", "wikidata"]
    assert answer["meta"][0]["type"]["id"] == "nation"  # its values are entities a client can keep reconciled
    # Podium places as the saved leaderboard counts them, and the medal table for a nation.
    board = {r["name"]: int(r["podiums"]) for r in
             rows(server.get("/queries/skater_leaderboard", {"limit": "100"}, Accept="application/sparql-results+json").body)}  # fmt: skip
    medals = {r["nation"].rsplit("/", 1)[-1]: r for r in
              rows(server.get("/queries/medal_table", Accept="application/sparql-results+json").body)}  # fmt: skip
    total = int(medals["KOR"]["total"])
    assert answer["rows"] == {
        "skater/ahn-hyun-soo": {"nation": [{"id": "nation/KOR", "name": "South Korea"}],
                                "podiums": [{"int": board["Ahn Hyun-soo"]}], "wikidata": []},
        "skater/amelie-goulet-nadon": {"nation": [{"id": "nation/CAN", "name": "Canada"}],
                                       "podiums": [{"int": board["Amélie Goulet-Nadon"]}], "wikidata": []},
        "nation/KOR": {"nation": [], "podiums": [{"int": total}],
                       "wikidata": [{"str": "http://www.wikidata.org/entity/Q884"}]},
        "skater/nobody": {"nation": [], "podiums": [], "wikidata": []},  # not in the graph: no values
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("not json", "extend must be a JSON object of ids and properties"),
        ('{"ids": "skater/ahn-hyun-soo", "properties": []}', 'extend is {"ids"'),
        ('{"ids": ["skater/ahn-hyun-soo"]}', 'extend is {"ids"'),
        ('{"ids": [1], "properties": [{"id": "nation"}]}', "each id is a string"),
        ('{"ids": ["x"], "properties": [{"id": "height"}]}', "there is no property 'height'; there are nation"),
        ('{"ids": ["x"], "properties": [{"id": "nation", "settings": {"limit": 1}}]}', "takes no settings"),
        (json.dumps({"ids": ["x" * 201], "properties": [{"id": "nation"}]}), "an id is at most 200 characters"),
        (json.dumps({"ids": [f"s{i}" for i in range(101)], "properties": []}), "at most 100 ids in one query, not 101"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_extend_queries_are_400_with_a_reason(server: Client, query: str, message: str) -> None:
    reply = server.post("/reconcile", urlencode({"extend": query}), "application/x-www-form-urlencoded")
    body = json.loads(reply.body)
    assert (reply.status, body["error"]) == (400, "bad_reconciliation_query") and message in body["message"], body


def test_an_extend_query_takes_the_time_limit_of_a_batch(server: Client) -> None:
    query = json.dumps({"ids": ["skater/ahn-hyun-soo"], "properties": [{"id": "podiums"}]})
    reply = server.post("/reconcile", urlencode({"extend": query, "timeout": "0"}), "application/x-www-form-urlencoded")
    assert reply.status == 400 and "timeout must be at least" in json.loads(reply.body)["message"]
    both = urlencode({"extend": query, "queries": json.dumps({"q0": {"query": "x"}})})
    reply = server.post("/reconcile", both, "application/x-www-form-urlencoded")
    assert reply.status == 400 and "queries or an extend query, not both" in json.loads(reply.body)["message"]


def test_the_schemas_are_the_specifications(tmp_path: Path) -> None:
    """The vendored schemas reject what the specification's own invalid examples show."""
    with pytest.raises(Exception, match="is not of type 'object'"):
        validate("reconciliation-result-batch", {"q0": []})
    with pytest.raises(Exception, match="required property"):
        validate("manifest", {"versions": ["0.2"], "name": "x"})


# -- limits, against the real server process --------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("reconcile-server"), seed=seed_dir) as running:
        yield running


def _gibberish(count: int, length: int, seed: int = 12) -> dict[str, dict[str, str]]:
    """A batch of `count` names of `length` letters that match nothing: each is scored against every
    entity, the slowest kind of query there is."""
    rng = random.Random(seed)
    letters = string.ascii_letters + " "
    return {f"q{i}": {"query": "".join(rng.choice(letters) for _ in range(length))} for i in range(count)}


def _post_batch(server: Server, batch: dict[str, Any], **fields: str) -> tuple[int, dict[str, Any]]:
    reply = server.post(
        "/reconcile", urlencode({"queries": json.dumps(batch), **fields}), "application/x-www-form-urlencoded"
    )
    return reply.status, json.loads(reply.body)


def test_a_batch_over_the_limit_is_refused_with_the_limit_named(real: Server) -> None:
    status, body = _post_batch(real, {f"q{i}": {"query": "Ahn Hyun-soo"} for i in range(101)})
    assert (status, body["error"]) == (400, "bad_reconciliation_query")
    assert "a batch holds at most 100 queries, not 101" in body["message"]
    status, body = _post_batch(real, {"q0": {"query": "Ahn Hyun-soo"}, "q1": {"query": "x" * 201}})
    assert status == 400 and "q1: a query is at most 200 characters, not 201" in body["message"]
    many = [{"pid": "nation", "v": "KOR"}] * 21
    status, body = _post_batch(real, {"q0": {"query": "Ahn Hyun-soo", "properties": many}})
    assert status == 400 and "q0: at most 20 property values, not 21" in body["message"]
    # At the limits, the batch is answered.
    status, body = _post_batch(real, {f"q{i}": {"query": "Ahn Hyun-soo"} for i in range(100)})
    assert status == 200 and body["q99"]["result"][0]["id"] == "skater/ahn-hyun-soo"
    limits = json.loads(real.get("/limits").body)
    assert (limits["reconcile_batch"], limits["reconcile_query_chars"]) == (100, 200)


def test_a_batch_past_its_time_limit_is_503_and_the_server_keeps_answering(real: Server) -> None:
    # 100 names of 200 letters: over a second of scoring on the seed, far more than 0.1 s.
    status, body = _post_batch(real, _gibberish(100, 200), timeout="0.1")
    assert status == 503 and body["error"] == "query_timeout", body
    assert "time limit of 0.1 s" in body["message"]
    status, body = _post_batch(real, {"q0": {"query": "Hyun-Soo Ahn", "type": "skater"}})
    assert status == 200 and body["q0"]["result"][0]["id"] == "skater/ahn-hyun-soo"
    assert real.query("ASK { ?s a sg:Skater }").status == 200


def test_sigterm_during_a_long_reconcile_stops_the_server_in_its_grace(tmp_path: Path, seed_dir: Path) -> None:
    """A batch that may run for two minutes must not hold the server's shutdown past gunicorn's
    graceful timeout (10 s), after which the web process would be killed: its client is answered
    503 and the web process exits by itself."""
    copy_store(seed_dir, tmp_path / "store")
    server = start_server(tmp_path / "store", "--processes", "1", "--timeout", "120", "--reconcile-batch", "5000")
    outcome: dict[str, Any] = {}
    sent = threading.Event()

    def reconcile_for_long() -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        try:
            body = urlencode({"queries": json.dumps(_gibberish(5000, 200))})
            connection.request("POST", "/reconcile", body, {"Content-Type": "application/x-www-form-urlencoded"})
            sent.set()
            response = connection.getresponse()
            outcome["status"], outcome["body"] = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            outcome["error"] = error
        finally:
            sent.set()
            connection.close()

    client = threading.Thread(target=reconcile_for_long)
    client.start()
    try:
        assert sent.wait(timeout=30)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0  # a hang guard only
    finally:
        client.join(timeout=60)
        server.stop()
    log = "".join(server.log)
    # gunicorn kills a web process still busy at the end of the grace without a word; one that
    # stops in time says so itself.
    assert "Worker exiting" in log and "stopped" in log, log
    assert outcome.get("status") == 503, outcome
    assert json.loads(outcome["body"])["error"] == "server_stopping"
