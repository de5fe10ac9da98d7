"""The link files: links to Wikidata and DBpedia as plain TSV a person can read and edit.

They live in a person's links directory (`LinkFiles`: `--links`, else the user's data directory),
over the bundled `data/links/`, which is only ever read: a file the person's directory lacks is read
from the bundle, and every file is written to the person's directory, so a reinstall loses no review
and nothing a run writes ends up in the installed package.

    links.tsv       accepted links with their provenance: method, score, evidence, endpoint, date, and
                    the names the linked entity has there (its label first, then its aliases)
    review.tsv      candidates between the thresholds; fill the `decision` column with accept or reject
    decisions.tsv   a person's decisions, which override the matcher on every later run
    nations-wikidata.tsv   nations by IOC code, each entity verified by hand (with sources)

Subjects are written base-free (`skater/ahn-hyun-soo`), so links survive a rebuild under another base.
A source of the graph like the articles: read here, made by `skategraph.linking`.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from skategraph import resources
from skategraph.errors import LinkFileError

LINK_COLUMNS = ["subject", "target", "dbpedia", "method", "score", "evidence", "endpoint", "date"]
# Written by `skategraph link`; a file from before names were kept has no `names`, and reads as none.
LINK_FILE_COLUMNS = [*LINK_COLUMNS, "names"]
NAMES_SEPARATOR = " | "
REVIEW_COLUMNS = ["subject", "name", "target", "label", "score", "evidence", "decision"]
DECISION_COLUMNS = ["subject", "target", "decision", "note"]


@dataclass(frozen=True)
class LinkFiles:
    """A person's links directory, over read-only defaults (the bundled files)."""

    directory: Path
    defaults: Path | None = None

    def read(self, name: str) -> Path:
        """Where to read `name`: the person's file, else the default one."""
        own = self.directory / name
        if own.exists() or self.defaults is None or not (self.defaults / name).exists():
            return own
        return self.defaults / name

    def write(self, name: str) -> Path:
        """Where to write `name`: always the person's directory."""
        return self.directory / name

    def layers(self, name: str) -> list[Path]:
        """Every `name` there is, the default first: for files whose rows add up (decisions)."""
        found = [self.defaults / name] if self.defaults is not None else []
        return [path for path in [*found, self.directory / name] if path.exists()]


def bundled_link_files(directory: Path | None = None) -> LinkFiles:
    """`directory` (a person's), over the bundled files; the bundle alone if none is given."""
    return LinkFiles(directory or resources.bundled_links(), defaults=resources.bundled_links())


@dataclass(frozen=True)
class Link:
    subject: str
    target: str
    dbpedia: str
    method: str
    score: float
    evidence: str
    endpoint: str
    date: str
    names: tuple[str, ...] = ()  # the target's names where it was found: label first, then aliases

    def row(self) -> dict[str, str]:
        """The link as a row of links.tsv."""
        return {**{column: str(getattr(self, column)) for column in LINK_COLUMNS},
                "names": NAMES_SEPARATOR.join(self.names)}  # fmt: skip


def read_tsv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a TSV file with a header line; `#` lines are comments. A missing file has no rows."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text("utf-8").splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        return []
    header = lines[0].split("\t")
    missing = [c for c in columns if c not in header]
    if missing:
        raise LinkFileError(f"{path}, line 1: the header needs the columns {', '.join(missing)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) > len(header):
            raise LinkFileError(f"{path}: a row has {len(cells)} cells, the header {len(header)}: {line[:80]!r}")
        rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True)) | {"_line": str(number)})
    return rows


def write_tsv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]], comment: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        for line in comment.splitlines():
            handle.write(f"# {line}\n")
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n", extrasaction="ignore",
                                quoting=csv.QUOTE_NONE, escapechar="\\")  # fmt: skip
        writer.writeheader()
        for row in rows:
            writer.writerow({k: str(v).replace("\t", " ").replace("\n", " ") for k, v in row.items()})
    partial.replace(path)


def read_links(files: LinkFiles) -> list[Link]:
    """The accepted links (links.tsv), and the verified nation table."""
    links = [
        Link(r["subject"], r["target"], r["dbpedia"], r["method"], float(r["score"] or 0), r["evidence"],
             r["endpoint"], r["date"], tuple(n for n in r.get("names", "").split(NAMES_SEPARATOR) if n.strip()))
        for r in read_tsv(files.read("links.tsv"), LINK_COLUMNS)
    ]  # fmt: skip
    for row in read_tsv(files.read("nations-wikidata.tsv"), ["code", "entity"]):
        evidence = f"IOC code {row['code']}, {row.get('name', '')}: checked by hand against public sources"
        links.append(Link(f"nation/{row['code']}", row["entity"], "", "verified table", 1.0, evidence, "", ""))
    return links


def read_decisions(files: LinkFiles) -> dict[tuple[str, str], str]:
    """(subject, target) -> accept or reject, from decisions.tsv (the bundled ones, then the person's,
    which win) and any filled-in review.tsv rows."""
    found: dict[tuple[str, str], str] = {}
    sources = [*((path, DECISION_COLUMNS) for path in files.layers("decisions.tsv")),
               (files.read("review.tsv"), REVIEW_COLUMNS)]  # fmt: skip
    for path, columns in sources:
        for row in read_tsv(path, columns):
            decision = row["decision"].strip().lower()
            if decision not in ("", "accept", "reject"):
                raise LinkFileError(f"{path}, line {row['_line']}: decision is accept or reject, "
                                    f"not {row['decision']!r}")  # fmt: skip
            if decision:
                found[(row["subject"], row["target"])] = decision
    return found


def today() -> str:
    return datetime.date.today().isoformat()
