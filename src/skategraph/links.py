"""Links from our resources to Wikidata and DBpedia: how a candidate is scored, and the link files.

Pure: names and facts in, decisions out; no network (that is `skategraph.remote`), no store. The
files live in a links directory (`data/links/` by default), all plain TSV a person can read and edit:

    links.tsv       accepted links with their provenance: method, score, evidence, endpoint, date
    review.tsv      candidates between the thresholds; fill the `decision` column with accept or reject
    decisions.tsv   a person's decisions, which override the matcher on every later run
    nations-wikidata.tsv   nations by IOC code, each entity verified by hand (with sources)

Subjects are written base-free (`skater/ahn-hyun-soo`), so links survive a rebuild under another base.
"""

from __future__ import annotations

import csv
import datetime
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skategraph.errors import SkategraphError
from skategraph.ids import fold

ACCEPT = 0.85  # at or above: an owl:sameAs link
REVIEW = 0.6  # at or above (and below ACCEPT, or ambiguous): a person decides
MARGIN = 0.1  # the best candidate must beat the next by this much to be accepted alone
LINK_COLUMNS = ["subject", "target", "dbpedia", "method", "score", "evidence", "endpoint", "date"]
REVIEW_COLUMNS = ["subject", "name", "target", "label", "score", "evidence", "decision"]
DECISION_COLUMNS = ["subject", "target", "decision", "note"]
_DISAMBIGUATOR = re.compile(r"\s*\([^)]*\)\s*$")


class LinkFileError(SkategraphError):
    """A link file cannot be read as the TSV it should be."""

    status = 422


@dataclass(frozen=True)
class Skater:
    """What we know of a skater for matching: their key, spellings, nations and seasons."""

    key: str  # skater/ahn-hyun-soo
    names: tuple[str, ...]  # the label first, then variant spellings
    nations: frozenset[str]  # IOC codes
    first_season: int  # the year a season starts, e.g. 2002


@dataclass
class Candidate:
    """An entity a remote endpoint proposes for a name, with the facts the score weighs."""

    item: str
    label: str = ""
    names: set[str] = field(default_factory=set)
    occupations: set[str] = field(default_factory=set)  # labels
    sports: set[str] = field(default_factory=set)  # labels
    nations: set[str] = field(default_factory=set)  # IOC codes of citizenship / country for sport
    births: set[int] = field(default_factory=set)  # years
    enwiki: str = ""  # English Wikipedia article URL


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    evidence: tuple[str, ...]  # what matched, and what argued against


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


# -- names -------------------------------------------------------------------------------------


def folded(name: str) -> str:
    """Case, accents, hyphens and spacing folded: `Amélie Goulet-Nadon` -> `amelie goulet nadon`."""
    text = fold(unicodedata.normalize("NFC", name)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def name_key(name: str) -> str:
    """Word order ignored as well: `Hyun-Soo Ahn` and `Ahn Hyun-soo` share `ahn hyun soo`."""
    return " ".join(sorted(folded(_DISAMBIGUATOR.sub("", name)).split()))


def squashed(name: str) -> set[str]:
    """Split given names joined, either name first: `Cheng Xiao Lei` -> {chengxiaolei, xiaoleicheng}."""
    words = folded(_DISAMBIGUATOR.sub("", name)).split()
    return {"".join(words), "".join(words[1:] + words[:1])}


def variants(names: Sequence[str]) -> list[str]:
    """Spellings to ask a remote endpoint for, which matches labels exactly (case included)."""
    out: list[str] = []
    for name in names:
        plain = _DISAMBIGUATOR.sub("", name).strip()
        words = plain.split()
        forms = [plain]
        if len(words) >= 2:
            family, given = words[0], words[1:]
            joined = "".join(given).replace("-", "")
            hyphened = "-".join(given)
            forms += [
                " ".join([*given, family]),  # given name first: Hyun-soo Ahn
                f"{family} {joined.capitalize()}",  # Cheng Xiaolei, Ahn Hyunsoo
                f"{joined.capitalize()} {family}",
                f"{family} {hyphened}",
            ]
            if "-" in hyphened:
                parts = hyphened.split("-")
                forms.append(f"{family} " + "-".join(p.capitalize() for p in parts))  # Ahn Hyun-Soo
        for form in forms:
            if form not in out:
                out.append(form)
    return out


# -- scoring -----------------------------------------------------------------------------------


def score(skater: Skater, candidate: Candidate) -> Scored:
    """How sure we are that `candidate` is `skater`, with the evidence for and against.

    A namesake from another sport or another nation is never accepted: either is a veto.
    """
    ours = {name_key(n) for n in skater.names}
    ours_squashed = set().union(*(squashed(n) for n in skater.names))
    theirs = candidate.names | {candidate.label}
    evidence: list[str] = []
    if any(name_key(n) in ours for n in theirs):
        name, matched = 1.0, next(n for n in theirs if name_key(n) in ours)
        evidence.append(f"name: {matched}")
    elif any(squashed(n) & ours_squashed for n in theirs):
        name, matched = 0.9, next(n for n in theirs if squashed(n) & ours_squashed)
        evidence.append(f"name, given names joined: {matched}")
    else:
        return Scored(candidate, 0.0, ("no name matches",))
    described = {d.lower() for d in candidate.occupations | candidate.sports}
    if any("short track" in d or "short-track" in d for d in described):
        sport = 1.0
        evidence.append("sport: short track speed skating")
    elif any("speed skat" in d for d in described):
        sport = 0.7
        evidence.append("sport: speed skating")
    elif described:
        return Scored(candidate, 0.0, (*evidence, "another sport or occupation: " + ", ".join(sorted(described))))
    else:
        sport = 0.3
        evidence.append("sport unknown")
    if candidate.nations and not (candidate.nations & skater.nations):
        return Scored(candidate, 0.0, (*evidence, "another nation: " + ", ".join(sorted(candidate.nations))))
    nation = 1.0 if candidate.nations else 0.5
    evidence.append(f"nation: {', '.join(sorted(candidate.nations & skater.nations))}" if candidate.nations
                    else "nation unknown")  # fmt: skip
    if candidate.births:
        ages = {skater.first_season - year for year in candidate.births}
        years = 1.0 if any(14 <= age <= 45 for age in ages) else 0.0
        evidence.append(f"born {min(candidate.births)}" + ("" if years else ": not of age to skate then"))
    else:
        years = 0.5
    total = round(0.4 * name + 0.3 * sport + 0.2 * nation + 0.1 * years, 3)
    return Scored(candidate, total, tuple(evidence))


def decide(skater: Skater, candidates: Iterable[Candidate]) -> tuple[Scored | None, list[Scored]]:
    """(the candidate to accept, or None; the candidates for a person to review)."""
    ranked = sorted((score(skater, c) for c in candidates), key=lambda s: -s.score)
    plausible = [s for s in ranked if s.score >= REVIEW]
    if not plausible:
        return None, []
    best = plausible[0]
    close = [s for s in plausible[1:] if best.score - s.score < MARGIN]
    if best.score >= ACCEPT and not close:
        return best, []
    return None, plausible


def dbpedia_of(enwiki: str) -> str:
    """DBpedia's resource for an English Wikipedia article URL."""
    prefix = "https://en.wikipedia.org/wiki/"
    return "http://dbpedia.org/resource/" + enwiki[len(prefix) :] if enwiki.startswith(prefix) else ""


# -- files -------------------------------------------------------------------------------------


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


def read_links(directory: Path) -> list[Link]:
    """The accepted links in `directory` (links.tsv), and the verified nation table."""
    links = [
        Link(r["subject"], r["target"], r["dbpedia"], r["method"], float(r["score"] or 0), r["evidence"],
             r["endpoint"], r["date"])
        for r in read_tsv(directory / "links.tsv", LINK_COLUMNS)
    ]  # fmt: skip
    for row in read_tsv(directory / "nations-wikidata.tsv", ["code", "entity"]):
        evidence = f"IOC code {row['code']}, {row.get('name', '')}: checked by hand against public sources"
        links.append(Link(f"nation/{row['code']}", row["entity"], "", "verified table", 1.0, evidence, "", ""))
    return links


def read_decisions(directory: Path) -> dict[tuple[str, str], str]:
    """(subject, target) -> accept or reject, from decisions.tsv and any filled-in review.tsv rows."""
    found: dict[tuple[str, str], str] = {}
    for name, columns in (("decisions.tsv", DECISION_COLUMNS), ("review.tsv", REVIEW_COLUMNS)):
        for row in read_tsv(directory / name, columns):
            decision = row["decision"].strip().lower()
            if decision not in ("", "accept", "reject"):
                raise LinkFileError(f"{directory / name}, line {row['_line']}: decision is accept or reject, "
                                    f"not {row['decision']!r}")  # fmt: skip
            if decision:
                found[(row["subject"], row["target"])] = decision
    return found


def today() -> str:
    return datetime.date.today().isoformat()
