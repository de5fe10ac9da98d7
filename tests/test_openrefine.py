"""OpenRefine itself (Debian's `openrefine`, 3.6) against a real `skategraph serve` (issue 13).

OpenRefine runs headless on 127.0.0.1 and is driven through its own HTTP API, the commands its web
page posts: a project from a CSV of names, `reconcile` on the column with our `/reconcile` as a
standard service, then `extend-data` ("Add columns from reconciled values"). Its rows are read back
as OpenRefine holds them: each cell's judgment and match, the columns extension added.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from skategraph.source.linkfiles import bundled_link_files
from skategraph.store.build import build_from_files

from .conftest import BASE, ROOT, SEED
from .server import Server, rows, seed_server

# name as someone typed it -> the skater it is (None: nobody in the graph)
NAMES = {
    "Viktor Ahn": "ahn-hyun-soo",  # his name in Russia, DBpedia's; known from the identity file
    "Victor An": "ahn-hyun-soo",  # another transliteration, from the identity file
    "Hyun-Soo Ahn": "ahn-hyun-soo",  # given name first
    "Apolo Ohno": "apolo-anton-ohno",  # without the middle name, from the identity file
    "Apolo Anton Ohno": "apolo-anton-ohno",
    "Choi Eun-kyung": "choi-eun-kyung",
    "amelie goulet-nadon": "amelie-goulet-nadon",  # case and accents
    "Eun-Kyung Choi": "choi-eun-kyung",
    "Wayne Gretzky": None,
}
WIKIDATA = "http://www.wikidata.org/entity/Q9000001"  # the tests' Wikidata-shaped entity for Ahn Hyun-soo


@dataclass
class Refine:
    """A running OpenRefine, spoken to as its web page speaks to it."""

    url: str
    process: subprocess.Popen[bytes]

    def get(self, command: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/command/core/{command}?{query}", timeout=60) as reply:
            return json.loads(reply.read())

    def post(self, command: str, params: dict[str, str], form: dict[str, str]) -> Any:
        """A command as `Refine.postCSRF` sends it: a fresh CSRF token with the parameters."""
        token = self.get("get-csrf-token")["token"]
        url = f"{self.url}/command/core/{command}?" + urllib.parse.urlencode({**params, "csrf_token": token})
        request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())

    def create_project(self, name: str, csv: str) -> str:
        """A project from an uploaded CSV with a header line; its id."""
        boundary = uuid.uuid4().hex
        fields = [("project-file", "names.csv", csv), ("project-name", None, name),
                  ("format", None, "text/line-based/*sv"),
                  ("options", None, json.dumps({"separator": ",", "headerLines": 1, "encoding": "UTF-8"}))]  # fmt: skip
        body = (
            "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'
                + (f'; filename="{filename}"' if filename else "")
                + f"\r\n\r\n{value}\r\n"
                for field, filename, value in fields
            )
            + f"--{boundary}--\r\n"
        )
        token = self.get("get-csrf-token")["token"]
        request = urllib.request.Request(
            f"{self.url}/command/core/create-project-from-upload?csrf_token={token}",
            data=body.encode(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=120) as reply:
            location = reply.headers["Location"]
        assert location, "OpenRefine did not redirect to the new project"
        return urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["project"][0]

    def wait(self, project: str) -> None:
        """Until the project's long-running operations (reconcile, extend) are done."""
        for _ in range(600):
            if not self.get("get-processes", project=project)["processes"]:
                return
            time.sleep(0.2)
        raise AssertionError("OpenRefine's operation did not finish")

    def rows(self, project: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(rows, recons by id) as the data table reads them."""
        answer = self.post("get-rows", {"project": project, "start": "0", "limit": "100"}, {"engine": ENGINE})
        return answer["rows"], answer["pool"]["recons"]

    def columns(self, project: str) -> dict[str, int]:
        """Column name -> cell index."""
        model = self.get("get-models", project=project)["columnModel"]["columns"]
        return {column["name"]: column["cellIndex"] for column in model}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None

    def http_error_302(self, req: Any, fp: Any, code: Any, msg: Any, headers: Any) -> Any:
        return fp


ENGINE = json.dumps({"facets": [], "mode": "row-based"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def refine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Refine]:
    binary = shutil.which("openrefine")
    assert binary, "OpenRefine is not installed: apt-get install openrefine (.ci/run does)"
    port, workspace = _free_port(), tmp_path_factory.mktemp("openrefine")
    log = (workspace / "openrefine.log").open("wb")
    # Its own session, so the script, the launcher and the JVM under them stop together.
    process = subprocess.Popen([binary, "-i", "127.0.0.1", "-p", str(port), "-d", str(workspace)],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    running = Refine(f"http://127.0.0.1:{port}", process)
    try:
        for _ in range(900):  # the JVM takes a while to start on a shared machine
            if process.poll() is not None:
                raise AssertionError("OpenRefine exited:\n" + (workspace / "openrefine.log").read_text("utf-8"))
            try:
                running.get("get-version")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            raise AssertionError("OpenRefine did not start:\n" + (workspace / "openrefine.log").read_text("utf-8"))
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The seed, with the bundled link files and one skater link (as `skategraph link` writes it)."""
    folder = tmp_path_factory.mktemp("served")
    links = folder / "links"
    shutil.copytree(ROOT / "data" / "links", links)
    (links / "links.tsv").write_text(
        "subject\ttarget\tdbpedia\tmethod\tscore\tevidence\tendpoint\tdate\n"
        f"skater/ahn-hyun-soo\t{WIKIDATA}\thttp://dbpedia.org/resource/Viktor_Ahn\tmatcher\t0.95\t"
        "name: Hyun-Soo Ahn\thttp://127.0.0.1/sparql\t2026-12-03\n",
        "utf-8",
    )
    build_from_files([SEED], folder / "seed", base=BASE, validate=False, links=bundled_link_files(links))
    with seed_server(folder / "run", seed=folder / "seed") as running:
        yield running


def test_openrefine_reconciles_a_column_of_names(refine: Refine, server: Server) -> None:
    project = refine.create_project("skaters", "name\n" + "\n".join(NAMES) + "\n")
    manifest = json.loads(server.get("/reconcile").body)
    config = {"mode": "standard-service", "service": server.url + "/reconcile",
              "identifierSpace": manifest["identifierSpace"], "schemaSpace": manifest["schemaSpace"],
              "type": {"id": "skater", "name": "Skater"}, "autoMatch": True, "columnDetails": [], "limit": 0}  # fmt: skip
    started = refine.post("reconcile", {"project": project},
                          {"columnName": "name", "config": json.dumps(config), "engine": ENGINE})  # fmt: skip
    assert started["code"] in ("ok", "pending"), started
    refine.wait(project)
    table, recons = refine.rows(project)
    got = {}
    for row in table:
        cell = row["cells"][0]
        recon = recons[str(cell["r"])]
        got[cell["v"]] = recon["m"]["id"] if recon["j"] == "matched" else None
        assert recon["service"] == server.url + "/reconcile"
    assert got == {name: (f"skater/{key}" if key else None) for name, key in NAMES.items()}
    assert any("POST /reconcile" in line for line in server.log), "OpenRefine never asked our server"


def test_openrefine_adds_columns_from_reconciled_values(refine: Refine, server: Server) -> None:
    names = ["Viktor Ahn", "Choi Eun-kyung", "amelie goulet-nadon"]
    project = refine.create_project("extend", "name\n" + "\n".join(names) + "\n")
    manifest = json.loads(server.get("/reconcile").body)
    service = server.url + "/reconcile"
    config = {"mode": "standard-service", "service": service, "identifierSpace": manifest["identifierSpace"],
              "schemaSpace": manifest["schemaSpace"], "type": {"id": "skater", "name": "Skater"},
              "autoMatch": True, "columnDetails": [], "limit": 0}  # fmt: skip
    refine.post(
        "reconcile", {"project": project}, {"columnName": "name", "config": json.dumps(config), "engine": ENGINE}
    )
    refine.wait(project)
    # What the dialog lists comes from the manifest's propose_properties.
    proposed = json.loads(server.get(manifest["extend"]["propose_properties"]["service_path"], {"type": "skater"}).body)
    wanted = [p for p in proposed["properties"] if p["id"] in ("nation", "podiums", "wikidata")]
    assert len(wanted) == 3
    started = refine.post(
        "extend-data",
        {"project": project, "baseColumnName": "name", "endpoint": service,
         "identifierSpace": manifest["identifierSpace"], "schemaSpace": manifest["schemaSpace"],
         "columnInsertIndex": "1"},
        {"extension": json.dumps({"properties": wanted}), "engine": ENGINE},
    )  # fmt: skip
    assert started["code"] in ("ok", "pending"), started
    refine.wait(project)
    columns = refine.columns(project)
    assert {"Nation", "Podium places", "Wikidata IRI"} <= set(columns), columns
    table, recons = refine.rows(project)

    # Podium places as the saved leaderboard counts them, an independent query.
    board = {row["name"]: int(row["podiums"]) for row in
             rows(server.get("/queries/skater_leaderboard", {"limit": "100"}, Accept="application/sparql-results+json").body)}  # fmt: skip
    expected = {"Viktor Ahn": ("nation/KOR", "South Korea", board["Ahn Hyun-soo"], WIKIDATA),
                "Choi Eun-kyung": ("nation/KOR", "South Korea", board["Choi Eun-kyung"], None),
                "amelie goulet-nadon": ("nation/CAN", "Canada", board["Amélie Goulet-Nadon"], None)}  # fmt: skip
    got = {}
    for row in table:
        cells = row["cells"] + [None] * len(columns)  # OpenRefine leaves out trailing empty cells
        value = {name: (cells[index] or {}).get("v") for name, index in columns.items()}
        nation_recon = recons[str(cells[columns["Nation"]]["r"])]
        assert nation_recon["j"] == "matched"
        got[value["name"]] = (nation_recon["m"]["id"], value["Nation"], value["Podium places"], value["Wikidata IRI"])
    assert got == expected
