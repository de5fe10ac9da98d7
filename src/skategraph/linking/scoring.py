"""How sure we are that a remote entity is one of our skaters: scores, evidence and decisions.

Pure: names and facts in, decisions out; no network (that is `skategraph.linking.remote`), no store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from skategraph.linking.names import name_key, squashed

ACCEPT = 0.85  # at or above: an owl:sameAs link
REVIEW = 0.6  # at or above (and below ACCEPT, or ambiguous): a person decides
MARGIN = 0.1  # the best candidate must beat the next by this much to be accepted alone


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
