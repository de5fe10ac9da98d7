"""Link discovery against a real SPARQL server on 127.0.0.1 (Oxigraph's own, loaded with Wikidata-shaped
test data), scoring, the review loop, links in the built graph, and a remote endpoint misbehaving."""

from __future__ import annotations

import csv
import http.server
import io
import json
import socket
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner, Result

from skategraph import resources
from skategraph.cli import cli
from skategraph.errors import EndpointUnreachable
from skategraph.linking.names import variants
from skategraph.linking.remote import Endpoint
from skategraph.linking.scoring import Candidate, Skater, decide, score
from skategraph.source.linkfiles import read_tsv

from .conftest import ask, select

WD = "http://www.wikidata.org/entity/"
AHN = Skater("skater/ahn-hyun-soo", ("Ahn Hyun-soo",), frozenset({"KOR"}), 2002)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("links-store") / "store")
    assert run("build", "--store", path, "--no-validate").exit_code == 0
    return path


def linked(links_dir: Path) -> dict[str, str]:
    return {row["subject"]: row["target"] for row in read_tsv(links_dir / "links.tsv", ["subject", "target"])}


# -- scoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "verdict"),
    [
        (Candidate("a", "Viktor An", {"Ahn Hyun-soo"}, {"short-track speed skater"}, set(), {"KOR"}, {1985}), "accept"),
        (
            Candidate("b", "Hyun-Soo Ahn", {"Hyun-Soo Ahn"}, set(), {"short track speed skating"}, {"KOR"}, set()),
            "accept",
        ),
        (Candidate("c", "Ahn Hyun-soo", {"Ahn Hyun-soo"}, {"footballer"}, set(), {"KOR"}, {1985}), "never"),
        (
            Candidate("d", "Ahn Hyun-soo", {"Ahn Hyun-soo"}, {"short-track speed skater"}, set(), {"JPN"}, {1985}),
            "never",
        ),
        (Candidate("e", "Ahn Hyun-soo", {"Ahn Hyun-soo"}, set(), set(), set(), set()), "review"),
        (
            Candidate("f", "Ahn Hyun-soo", {"Ahn Hyun-soo"}, {"short-track speed skater"}, set(), {"KOR"}, {1900}),
            "accept-less",
        ),
        (Candidate("g", "Ann Hyunsu", {"Ann Hyunsu"}, {"short-track speed skater"}, set(), {"KOR"}, {1985}), "never"),
    ],
)
def test_scoring(candidate: Candidate, verdict: str) -> None:
    scored = score(AHN, candidate)
    best, doubtful = decide(AHN, [candidate])
    if verdict == "accept":
        assert best is not None and best.score >= 0.85, scored
    elif verdict == "never":
        assert best is None and not doubtful and scored.score == 0, scored
    elif verdict == "review":
        assert best is None and doubtful, scored
    else:
        assert scored.score < 1.0 and "not of age" in "; ".join(scored.evidence)


def test_spellings_asked_for() -> None:
    asked = variants(["Cheng Xiao Lei", "Yang Yang (A)", "Ahn Hyun-soo"])
    assert {"Cheng Xiaolei", "Xiao Lei Cheng", "Yang Yang", "Hyun-soo Ahn", "Ahn Hyun-Soo"} <= set(asked)
    assert not any("(A)" in name for name in asked)


# -- against a real endpoint -------------------------------------------------------------------


def test_link_against_a_local_wikidata(wikidata: str, links_dir: Path, store: str) -> None:
    result = run("link", "--store", store, "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    assert result.exit_code == 0, result.output
    links = linked(links_dir)
    assert links["skater/ahn-hyun-soo"] == WD + "Q9000001"  # a transliteration, and a change of nation
    assert links["skater/cheng-xiao-lei"] == WD + "Q9000002"  # split given names
    assert links["skater/wang-wei"] == WD + "Q9000004"  # never the badminton player Q9000003
    assert links["skater/wang-meng"] == WD + "Q9000007"  # never the German namesake Q9000008
    assert "skater/choi-eun-kyung" not in links  # only a volleyball player of that name exists
    assert "skater/yang-yang-a" not in links  # two skaters of that name: a person decides
    assert links["venue/beijing"] == WD + "Q956" and links["venue/saint-petersburg"] == WD + "Q656"
    rows = {r["subject"]: r for r in read_tsv(links_dir / "links.tsv", ["subject", "dbpedia", "evidence", "method"])}
    assert rows["skater/ahn-hyun-soo"]["dbpedia"] == "http://dbpedia.org/resource/Viktor_Ahn"
    assert "sport: short track" in rows["skater/ahn-hyun-soo"]["evidence"]
    # The names the entity has there, its label first: what reconciliation will also find him by.
    names = read_tsv(links_dir / "links.tsv", ["subject", "names"])
    ahn = next(r["names"] for r in names if r["subject"] == "skater/ahn-hyun-soo").split(" | ")
    assert ahn[0] == "Viktor An" and {"Viktor Ahn", "Hyun-Soo Ahn"} <= set(ahn)
    review = read_tsv(links_dir / "review.tsv", ["subject", "target", "decision"])
    assert {(r["subject"], r["target"]) for r in review} == {
        ("skater/yang-yang-a", WD + "Q9000005"),
        ("skater/yang-yang-a", WD + "Q9000006"),
        ("skater/amelie-goulet-nadon", WD + "Q9000010"),
    }
    assert "Linked 4 of 35 skaters and 3 venues; 3 candidates to review" in result.stdout

    # A rerun asks nothing: every answer is cached.
    again = run("link", "--store", store, "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    assert again.stdout.rstrip().endswith("; 0 requests")

    # A person decides in review.tsv; the decisions are kept and override the matcher from then on.
    lines = (links_dir / "review.tsv").read_text("utf-8").splitlines()
    decided = []
    for line in lines:
        if line.startswith("skater/yang-yang-a") and "Q9000005" in line:
            line += "accept"
        elif line.startswith("skater/amelie-goulet-nadon"):
            line += "reject"
        decided.append(line)
    (links_dir / "review.tsv").write_text("\n".join(decided) + "\n", "utf-8")
    run("link", "--store", store, "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    links = linked(links_dir)
    assert links["skater/yang-yang-a"] == WD + "Q9000005"
    assert "skater/amelie-goulet-nadon" not in links
    decisions = read_tsv(links_dir / "decisions.tsv", ["subject", "target", "decision"])
    assert {(d["subject"], d["decision"]) for d in decisions} == {
        ("skater/yang-yang-a", "accept"),
        ("skater/amelie-goulet-nadon", "reject"),
    }
    assert read_tsv(links_dir / "review.tsv", ["subject"]) == []


def test_links_go_into_the_graph_and_survive_rebuilds(wikidata: str, links_dir: Path, tmp_path: Path) -> None:
    store_path = str(tmp_path / "store")
    assert run("build", "--store", store_path, "--links", str(links_dir)).exit_code == 0
    assert run("link", "--store", store_path, "--links", str(links_dir), "--endpoint", wikidata,
               "--interval", "0").exit_code == 0  # fmt: skip
    # The build validates against the shapes (no --no-validate) and runs offline.
    result = run("build", "--store", store_path, "--links", str(links_dir))
    assert result.exit_code == 0, result.output
    from skategraph.store.embedded import open_store

    built = open_store(Path(store_path))
    ahn = "https://w3id.org/skategraph/id/skater/ahn-hyun-soo"
    same = {row[0] for row in select(built, f"SELECT ?o WHERE {{ <{ahn}> owl:sameAs ?o }}")}
    assert same == {WD + "Q9000001", "http://dbpedia.org/resource/Viktor_Ahn"}
    provenance = select(
        built,
        f"""SELECT ?method ?score ?evidence ?endpoint WHERE {{
        ?s rdf:subject <{ahn}> ; rdf:object <{WD}Q9000001> ; sg:linkMethod ?method ; sg:linkScore ?score ;
           sg:linkEvidence ?evidence ; sg:linkEndpoint ?endpoint }}""",
    )
    assert provenance and provenance[0][0] == "matcher" and provenance[0][3] == wikidata
    assert ask(built, f"ASK {{ <https://w3id.org/skategraph/id/nation/CAN> owl:sameAs <{WD}Q16> }}")  # verified
    assert ask(built, f"ASK {{ GRAPH <https://w3id.org/skategraph/graph/links> {{ <{ahn}> owl:sameAs ?o }} }}")


def test_a_skater_page_shows_the_links(wikidata: str, links_dir: Path, tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    run("build", "--store", str(store_path), "--no-validate")
    run("link", "--store", str(store_path), "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    run("build", "--store", str(store_path), "--no-validate", "--links", str(links_dir))
    from .server import running_app

    with running_app(store_path) as server:
        page = server.get("/id/skater/ahn-hyun-soo", Accept="text/html").text
        assert f'href="{WD}Q9000001"' in page and "http://dbpedia.org/resource/Viktor_Ahn" in page
        embedded = json.loads(page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0])
        assert WD + "Q9000001" in embedded["sameAs"]
        rdf = server.get("/id/skater/ahn-hyun-soo.nt").text
        assert (
            f"<https://w3id.org/skategraph/id/skater/ahn-hyun-soo> <http://www.w3.org/2002/07/owl#sameAs> <{WD}Q9000001> ."
            in rdf
        )


def test_an_unreachable_endpoint_is_a_clear_error(links_dir: Path, store: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/query"
    result = CliRunner().invoke(cli, ["link", "--store", store, "--links", str(links_dir), "--endpoint", closed,
                                      "--retries", "1", "--interval", "0"])  # fmt: skip
    assert result.exit_code == 1
    assert f"Error: {closed} could not be reached after 2 attempts" in result.stderr
    assert "'skategraph build' does not" in result.stderr


class _Flaky(http.server.BaseHTTPRequestHandler):
    """A real HTTP server that fails twice (503, then 429 with Retry-After), then answers."""

    calls: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls.append(dict(self.headers))
        if len(self.calls) == 1:
            self.send_response(503)
            self.end_headers()
            return
        if len(self.calls) == 2:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        body = json.dumps(
            {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]}}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_retries_with_backoff_and_a_user_agent(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = Endpoint(f"http://127.0.0.1:{server.server_port}/sparql", cache=tmp_path / "cache", backoff=0.05,
                            interval=0)  # fmt: skip
        started = time.monotonic()
        assert endpoint.select("SELECT ?x WHERE {}") == [{"x": {"type": "literal", "value": "1"}}]
        assert time.monotonic() - started >= 0.05 + 0.1  # backed off twice, doubling
        assert endpoint.requests == 3 and len(_Flaky.calls) == 3
        assert _Flaky.calls[0]["User-Agent"].startswith("skategraph/")
        assert endpoint.select("SELECT ?x WHERE {}")[0]["x"]["value"] == "1"  # from the cache
        assert endpoint.requests == 3
    finally:
        server.shutdown()
        server.server_close()


def test_a_refused_query_is_not_retried(wikidata: str) -> None:
    endpoint = Endpoint(wikidata, interval=0, backoff=0.01)
    with pytest.raises(EndpointUnreachable, match="refused the query: HTTP 400"):
        endpoint.select("SELECT ?x WHERE {")
    assert endpoint.requests == 1


def test_federated_birth_dates(wikidata: str, links_dir: Path, tmp_path: Path) -> None:
    """The federated saved query, with a local stand-in for Wikidata on the server's allow-list."""
    store_path = tmp_path / "store"
    run("build", "--store", str(store_path), "--no-validate")
    run("link", "--store", str(store_path), "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    run("build", "--store", str(store_path), "--no-validate", "--links", str(links_dir))
    from .server import running_app

    with running_app(store_path, allow_service=frozenset({wikidata})) as server:
        reply = server.get("/queries/podium_birth_dates", {"wikidata": wikidata}, Accept="text/csv")
        assert reply.status == 200, reply.text
        rows = {r["name"]: r for r in csv.DictReader(io.StringIO(reply.text))}
        assert rows["Ahn Hyun-soo"]["born"] == "1985-11-23T00:00:00Z"
        assert rows["Wang Meng"]["born"].startswith("1984-04-10")
        assert set(rows) == {"Ahn Hyun-soo", "Cheng Xiao Lei", "Wang Wei", "Wang Meng"}
        refused = server.get("/queries/podium_birth_dates", Accept="text/csv")  # Wikidata: not on the list
        assert refused.status == 400 and "https://query.wikidata.org/sparql" in json.loads(refused.body)["message"]
        links = server.get("/queries/skater_links", {"nation": "KOR"}, Accept="text/csv")
        ahn = next(r for r in csv.DictReader(io.StringIO(links.text)) if r["name"] == "Ahn Hyun-soo")
        assert (ahn["wikidata"], ahn["dbpedia"], ahn["method"]) == (
            WD + "Q9000001",
            "http://dbpedia.org/resource/Viktor_Ahn",
            "matcher",
        )
    # From the shell: the same allow-list rule.
    args = ["query", "podium_birth_dates", "--store", str(store_path), "-p", f"wikidata={wikidata}", "--format", "csv"]
    refused_cli = CliRunner().invoke(cli, args)
    assert refused_cli.exit_code == 1 and "not on the allow-list" in refused_cli.stderr
    allowed = run(*args, "--allow-service", wikidata)
    assert allowed.exit_code == 0 and "1985-11-23" in allowed.stdout


def test_dbpedia_target_fills_dbpedia_from_sameas(wikidata: str, links_dir: Path, store: str) -> None:
    """`--target dbpedia`: DBpedia resources from a DBpedia-shaped endpoint, for links lacking one."""
    run("link", "--store", store, "--links", str(links_dir), "--endpoint", wikidata, "--interval", "0")
    before = {r["subject"]: r["dbpedia"] for r in read_tsv(links_dir / "links.tsv", ["subject", "dbpedia"])}
    assert before["skater/cheng-xiao-lei"] == ""  # no English Wikipedia sitelink in the Wikidata data
    result = run("link", "--target", "dbpedia", "--store", store, "--links", str(links_dir), "--endpoint", wikidata,
                 "--interval", "0")  # fmt: skip
    assert result.exit_code == 0 and "Found DBpedia resources for 1 links" in result.stdout
    after = {r["subject"]: r for r in read_tsv(links_dir / "links.tsv", ["subject", "dbpedia", "evidence"])}
    assert after["skater/cheng-xiao-lei"]["dbpedia"] == "http://dbpedia.org/resource/Cheng_Xiaolei"
    assert "DBpedia: owl:sameAs this entity" in after["skater/cheng-xiao-lei"]["evidence"]
    assert after["skater/ahn-hyun-soo"]["dbpedia"] == "http://dbpedia.org/resource/Viktor_Ahn"  # kept


def test_requests_are_spaced_by_the_interval(tmp_path: Path) -> None:
    _Flaky.calls.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = Endpoint(f"http://127.0.0.1:{server.server_port}/sparql", backoff=0, interval=0.3)
        started = time.monotonic()
        endpoint.select("SELECT ?x WHERE {}")  # 503, 429, then an answer: three requests
        assert endpoint.requests == 3 and time.monotonic() - started >= 0.6  # two gaps of at least 0.3 s
    finally:
        server.shutdown()
        server.server_close()


def test_link_writes_into_the_users_data_directory_never_the_package(
    wikidata: str, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: `skategraph link` wrote links.tsv, review.tsv and its cache into the installed
    package, where a reinstall lost a person's review and every later build picked up a test run's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    monkeypatch.delenv("SKATEGRAPH_LINKS", raising=False)
    bundle = resources.bundled("data") / "links"
    before = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    result = run("link", "--store", store, "--endpoint", wikidata, "--interval", "0")
    assert result.exit_code == 0, result.output
    after = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    assert after == before  # the package is only read
    mine = tmp_path / "data-home" / "skategraph" / "links"
    assert linked(mine)["skater/ahn-hyun-soo"].startswith("http://www.wikidata.org/entity/")
    assert (mine / "review.tsv").exists() and (mine / ".cache").is_dir()
    # The next build, with no --links either, puts the person's links in the graph.
    rebuilt = str(tmp_path / "store")
    assert run("build", "--store", rebuilt, "--no-validate").exit_code == 0
    answer = run("sparql", "--store", rebuilt, "--format", "csv",
                 "ASK { ?s <http://www.w3.org/2002/07/owl#sameAs> ?o FILTER(STRSTARTS(STR(?o), 'http://www.wikidata.org/')) }")  # fmt: skip
    assert "true" in answer.stdout
