"""The `skategraph` command: every command, its output formats, and its error contract."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner, Result

from skategraph.cli import cli

from .conftest import ROOT, SEED, line_of
from .terminal import in_a_terminal

COUNT_RACES = "SELECT (COUNT(*) AS ?races) WHERE { ?r a sg:Race }"
PODIUM = (
    "SELECT ?rank ?name WHERE { ?r sg:race <https://w3id.org/skategraph/id/race/2002-03/chuncheon/men-1500m> ;"
    " sg:rank ?rank ; sg:competitor/rdfs:label ?name } ORDER BY ?rank"
)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("cli") / "store")
    result = run("build", "--store", path)
    assert result.exit_code == 0, result.output
    return path


def test_build_summary(store: str) -> None:
    result = run("build", "--store", store, "--no-validate")
    assert result.exit_code == 0
    assert re.fullmatch(r"Built [\d,]+ triples: 1 season, 60 races, 35 skaters in \d+\.\d s at .+\n", result.stdout), (
        result.stdout
    )
    assert result.stderr == ""  # piped: no progress, the summary alone


def test_build_several_articles(tmp_path: Path, seed_text: str) -> None:
    from .conftest import shift_season

    later = tmp_path / "2003-04.txt"
    later.write_text(shift_season(seed_text, 1), encoding="utf-8")
    result = run("build", str(SEED), str(later), "--store", str(tmp_path / "s"), "--no-validate")
    assert result.exit_code == 0, result.output
    assert "2 seasons, 120 races, 35 skaters" in result.stdout


def test_sparql_table(store: str) -> None:
    result = run("sparql", PODIUM, "--store", store, "--format", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rank", "name"]
    assert [line.split(maxsplit=1) for line in lines[2:]] == [
        ["1", "Ahn Hyun-soo"],
        ["2", "Fabio Carta"],
        ["3", "Oh Se-jong"],
    ]


def test_sparql_csv_is_the_default_off_a_terminal(store: str) -> None:
    result = run("sparql", PODIUM, "--store", store)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [["rank", "name"], ["1", "Ahn Hyun-soo"], ["2", "Fabio Carta"], ["3", "Oh Se-jong"]]


def test_sparql_tsv(store: str) -> None:
    result = run("sparql", COUNT_RACES, "--store", store, "--format", "tsv")
    assert result.stdout.splitlines() == ["?races", "60"]


def test_sparql_json(store: str) -> None:
    result = run("sparql", COUNT_RACES, "--store", store, "--format", "json")
    data = json.loads(result.stdout)
    assert data["head"]["vars"] == ["races"]
    assert data["results"]["bindings"][0]["races"]["value"] == "60"


def test_sparql_xml(store: str) -> None:
    result = run("sparql", COUNT_RACES, "--store", store, "--format", "xml")
    ns = {"s": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(result.stdout_bytes)
    assert root.find(".//s:binding[@name='races']/s:literal", ns).text == "60"


def test_sparql_ask(store: str) -> None:
    assert run("sparql", "ASK { ?s a sg:Skater }", "--store", store, "--format", "table").stdout == "true\n"
    assert json.loads(run("sparql", "ASK { ?s a sg:Pilot }", "--store", store, "--format", "json").stdout) == {
        "head": {},
        "boolean": False,
    }


@pytest.mark.parametrize(
    ("name", "rdflib_format"), [("turtle", "turtle"), ("ntriples", "nt"), ("jsonld", "json-ld"), ("rdfxml", "xml")]
)
def test_sparql_construct(store: str, name: str, rdflib_format: str) -> None:
    query = "CONSTRUCT { ?s a sg:Skater } WHERE { ?s a sg:Skater }"
    result = run("sparql", query, "--store", store, "--format", name)
    assert result.exit_code == 0
    assert len(rdflib.Graph().parse(data=result.stdout_bytes, format=rdflib_format)) == 35


def test_sparql_construct_defaults_to_turtle(store: str) -> None:
    result = run("sparql", "DESCRIBE <https://w3id.org/skategraph/id/nation/GER>", "--store", store)
    graph = rdflib.Graph().parse(data=result.stdout, format="turtle")
    assert (None, rdflib.SKOS.notation, rdflib.Literal("GER")) in graph


def test_sparql_from_file_and_stdin(store: str, tmp_path: Path) -> None:
    query_file = tmp_path / "count.rq"
    query_file.write_text(COUNT_RACES)
    assert run("sparql", "--file", str(query_file), "--store", store, "--format", "tsv").stdout.endswith("60\n")
    assert run("sparql", "-", "--store", store, "--format", "tsv", input=COUNT_RACES).stdout.endswith("60\n")


def test_validate_store(store: str) -> None:
    result = run("validate", "--store", store)
    assert result.exit_code == 0
    assert "conforms to the skategraph shapes" in result.stdout


def test_validate_a_broken_file(store: str, tmp_path: Path) -> None:
    dump = run("export", "--store", store).stdout
    broken = tmp_path / "broken.nq"
    broken.write_text(
        "\n".join(
            line
            for line in dump.splitlines()
            if not (line.startswith("<https://w3id.org/skategraph/id/result/") and "#rank>" in line)
        )
    )
    result = run("validate", "--file", str(broken))
    assert result.exit_code == 1
    assert result.stderr == "Error: 180 SHACL violations\n"
    assert "#rank: Less than 1 values" in result.stdout


# -- export: what we write parses in independent parsers, with the same number of triples -------


def rapper_count(path: Path, syntax: str) -> int:
    rapper = shutil.which("rapper")
    assert rapper, "rapper (Debian's raptor2-utils) is needed: .ci/run installs it"
    done = subprocess.run([rapper, "-i", syntax, "-c", str(path)], capture_output=True, text=True, check=True)
    found = re.search(r"returned (\d+) triples", done.stderr)
    assert found, done.stderr
    return int(found.group(1))


def rdflib_count(path: Path, syntax: str) -> int:
    dataset = rdflib.Dataset()
    dataset.parse(data=path.read_bytes(), format=syntax)
    return sum(1 for _ in dataset.quads((None, None, None, None)))


@pytest.mark.parametrize(
    ("name", "rapper_syntax", "rdflib_syntax"),
    [
        ("nquads", "nquads", "nquads"),
        ("trig", "trig", "trig"),
        ("turtle", "turtle", "turtle"),
        ("ntriples", "ntriples", "nt"),
        ("rdfxml", "rdfxml", "xml"),
        ("jsonld", None, "json-ld"),  # raptor has no JSON-LD parser; rdflib checks it
    ],
)
def test_export_parses_elsewhere(
    store: str, tmp_path: Path, name: str, rapper_syntax: str | None, rdflib_syntax: str
) -> None:
    stats = json.loads(run("stats", "--store", store, "--json").stdout)
    output = tmp_path / f"dump.{name}"
    result = run("export", "--store", store, "--format", name, "--output", str(output))
    assert result.exit_code == 0, result.output
    assert f"Wrote {output}" in result.stderr
    # Our graphs share no triple, so the union (what triple formats hold) is as large as the dataset.
    if rapper_syntax:
        assert rapper_count(output, rapper_syntax) == stats["triples"]
    assert rdflib_count(output, rdflib_syntax) == stats["triples"]


def test_export_keeps_named_graphs(store: str, tmp_path: Path) -> None:
    output = tmp_path / "dump.nq"
    run("export", "--store", store, "--output", str(output))
    dataset = rdflib.Dataset()
    dataset.parse(data=output.read_bytes(), format="nquads")
    graphs = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert graphs == {
        "https://w3id.org/skategraph/graph/entities",
        "https://w3id.org/skategraph/graph/links",
        "https://w3id.org/skategraph/graph/season/2002-03",
        "https://w3id.org/skategraph/ontology",
    }


def test_stats(store: str) -> None:
    table = list(csv.reader(io.StringIO(run("stats", "--store", store).stdout)))  # piped: CSV
    assert table[0] == ["counted", "name", "number"]
    assert ["resources", "sg:Skater", "35"] in table and ["resources", "sg:Race", "60"] in table
    assert any(row[:2] == ["triples", "https://w3id.org/skategraph/graph/season/2002-03"] for row in table)
    data = json.loads(run("stats", "--store", store, "--json").stdout)
    assert data["classes"]["https://w3id.org/skategraph/ontology#Result"] == 180
    assert data["triples"] == sum(data["graphs"].values())


# -- the error contract: `Error: ...`, a non-zero exit, never a traceback ----------------------

ERRORS = [
    (["sparql", "SELEC ?x"], "Error: the query does not parse: error at 1:"),
    (["sparql", COUNT_RACES, "--format", "turtle"], "Error: turtle is for CONSTRUCT and DESCRIBE results"),
    (["sparql", "CONSTRUCT WHERE { ?s a sg:Nation }", "--format", "csv"], "Error: csv is for SELECT and ASK results"),
    (["sparql"], "Error: no query: give one as an argument, with --file F, or - to read standard input"),
    (["validate", "--file", str(SEED)], "Error: cannot tell the RDF format of"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(e[0])[:30] for e in ERRORS])
def test_errors(store: str, args: list[str], message: str) -> None:
    result = run(*args, "--store", store)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output


def test_no_store_yet(tmp_path: Path) -> None:
    result = run("stats", "--store", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: no store at {tmp_path / 'none'}: run 'skategraph build' first\n"


def test_build_error_names_file_and_line_and_keeps_the_store(store: str, tmp_path: Path, seed_text: str) -> None:
    broken = tmp_path / "broken.txt"
    row = "| 500m | CAN Jean-François Monette |"
    broken.write_text(seed_text.replace(row, row + " x |"))
    result = run("build", str(broken), "--store", store)
    assert result.exit_code == 1
    number = line_of(seed_text, row)
    expected = f"Error: {broken}, line {number}: expected 4 cells (Distance | Winner | Second | Third), found 5"
    assert result.stderr.splitlines()[-1] == expected
    assert run("sparql", COUNT_RACES, "--store", store, "--format", "tsv").stdout.endswith("60\n")


def test_missing_article_is_a_usage_error(store: str) -> None:
    result = run("build", "no-such.txt", "--store", store)
    assert result.exit_code == 2
    assert "Error: Invalid value for '[ARTICLES]...': File 'no-such.txt' does not exist." in result.stderr


def test_every_command_has_help() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help"
        result = run(name, "--help")
        assert result.exit_code == 0, name
        uses_store = any(p.name == "store" for p in command.params)
        assert uses_store == ("--store" in result.stdout), name


# -- installed, from any directory -------------------------------------------------------------


def test_runs_from_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SKATEGRAPH_STORE"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    command = [sys.executable, "-m", "skategraph"]
    built = subprocess.run([*command, "build"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert str(tmp_path / "xdg" / "skategraph" / "store") in built.stdout
    counted = subprocess.run(
        [*command, "sparql", COUNT_RACES, "--format", "tsv"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert counted.stdout.splitlines() == ["?races", "60"]
    if os.environ.get("SKATEGRAPH_TEST_INSTALLED"):
        # CI installs the wheel (not editable): its bundled files must come from the package.
        where = subprocess.run(
            [sys.executable, "-c", "import skategraph; from skategraph import resources as r;"
             " print(skategraph.__file__); print(r.bundled('data')); print(r.bundled('ontology'))"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        package, data, ontology = (Path(line) for line in where.stdout.splitlines())
        assert data == package.parent / "data" != ROOT / "data"
        assert ontology == package.parent / "ontology" != ROOT / "ontology"


def test_readme_names_only_real_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # Commands as written in code: `$ skategraph X`, `&& skategraph X`, `` `skategraph X` ``.
    named = set(re.findall(r"(?:\$ |&& |`)skategraph ([a-z]+)\b", readme))
    assert named <= set(cli.commands), named - set(cli.commands)
    assert set(cli.commands) <= named, f"undocumented commands: {set(cli.commands) - named}"


@pytest.mark.parametrize(("name", "rdflib_syntax"), [("dump.ttl", "turtle"), ("dump.nt", "nt"), ("dump.jsonld", "json-ld"),
                                                     ("dump.rdf", "xml"), ("dump.trig", "trig"), ("dump.nq", "nquads")])  # fmt: skip
def test_export_takes_its_format_from_the_file_name(store: str, tmp_path: Path, name: str, rdflib_syntax: str) -> None:
    """Issue 13: `export -o season.ttl` wrote N-Quads into a .ttl file."""
    output = tmp_path / name
    result = run("export", "--store", store, "--output", str(output))
    assert result.exit_code == 0, result.output
    stats = json.loads(run("stats", "--store", store, "--json").stdout)
    assert rdflib_count(output, rdflib_syntax) == stats["triples"]


def test_export_to_an_unknown_extension_says_what_to_do(store: str, tmp_path: Path) -> None:
    result = run("export", "--store", store, "--output", str(tmp_path / "dump.owl"))
    assert result.exit_code != 0
    assert "Error: cannot tell an RDF format from the name dump.owl: give --format" in result.output
    assert not (tmp_path / "dump.owl").exists()


def test_exported_files_get_the_umask_mode(store: str, tmp_path: Path) -> None:
    """Issue 13: exports were created 0600 (mkstemp's mode), whatever the umask."""
    previous = os.umask(0o022)
    try:
        run("export", "--store", store, "--output", str(tmp_path / "a.nq"))
        os.umask(0o002)
        run("export", "--store", store, "--output", str(tmp_path / "b.nq"))
    finally:
        os.umask(previous)
    assert (tmp_path / "a.nq").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.nq").stat().st_mode & 0o777 == 0o664


def on_a_terminal(*args: str, stderr_too: bool = False) -> str:
    """What a command prints to a terminal (its stdout, and its stderr too if `stderr_too`)."""
    status, shown, errors = in_a_terminal([sys.executable, "-m", "skategraph", *args], stderr_too=stderr_too)
    assert status == 0, errors or shown
    return shown


@pytest.mark.parametrize("command", ["queries", "stats", "sparql"])
def test_one_rule_for_output_a_table_on_a_terminal_csv_when_piped(store: str, command: str) -> None:
    """Issue 13: `queries` printed a table when piped while `sparql` printed CSV."""
    args = {"queries": ["queries"], "stats": ["stats", "--store", store],
            "sparql": ["sparql", "--store", store, "SELECT ?code WHERE { ?n skos:notation ?code } ORDER BY ?code LIMIT 2"]}[command]  # fmt: skip
    shown = on_a_terminal(*args)
    assert re.search(r"^-{3,}(\s+-{3,})*\s*$", shown, re.MULTILINE), shown  # tabulate's rule under the headers
    piped = run(*args).stdout
    header = next(csv.reader(io.StringIO(piped)))
    assert len(header) >= 1 and "---" not in piped


def test_a_build_shows_its_long_steps_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    """Issue 13: a long build said nothing for minutes while it validated."""
    shown = on_a_terminal("build", "--store", str(tmp_path / "a"), stderr_too=True)
    for step in ("Parsing articles", "Mapping 1 season to RDF", "Loading", "Validating against ontology/shapes.ttl"):
        assert step in shown, shown
    assert re.search(r"Validating against ontology/shapes.ttl: \d+\.\d s", shown), shown  # how long it took
    piped = subprocess.run([sys.executable, "-m", "skategraph", "build", "--store", str(tmp_path / "b")],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "" and piped.stdout.startswith("Built 2,")  # the summary alone


def bash_completions(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash offers for `words` (the last one being completed), through the completion script
    the README says to install."""
    script = ('eval "$(_SKATEGRAPH_COMPLETE=bash_source skategraph)"; '
              f"COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); "
              "_skategraph_completion skategraph; printf '%s\\n' \"${COMPREPLY[@]}\"")  # fmt: skip
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path, **(env or {})})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_shell_completion_knows_saved_queries_their_parameters_and_formats(store: str) -> None:
    """Issue 13: completion did not complete saved-query names, formats or parameter names."""
    assert bash_completions("skategraph query skater_r") == ["skater_results"]
    assert set(bash_completions("skategraph query race_podiums -p ''")) == {
        "category=", "distance=", "season=", "venue="}  # fmt: skip
    assert bash_completions("skategraph query race_podiums -p category=", {"SKATEGRAPH_STORE": store}) == [
        "category=men", "category=women"]  # fmt: skip
    assert bash_completions(f"skategraph query nation_skaters --store {store} -p nation=C") == [
        "nation=CAN",
        "nation=CHN",
    ]
    assert bash_completions("skategraph sparql --format n") == ["ntriples", "nquads"]
