"""Damaged copies of an article, for the property that parsing one never crashes."""

from __future__ import annotations

from hypothesis import strategies as st

MUTATION_CHARS = "|=-– :()0123456789ABCKORmrelayx\t"


@st.composite
def damaged(draw: st.DrawFn, text: str) -> tuple[str, int]:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        kind = draw(st.sampled_from(["delete", "duplicate", "truncate", "insert", "cell", "swap"]))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, line)
        elif kind == "truncate":
            lines[index] = line[: draw(st.integers(0, len(line)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.text(MUTATION_CHARS, min_size=1, max_size=4)) + line[at:]
        elif kind == "cell" and line.startswith("|"):
            cells = line.split("|")
            cell = draw(st.integers(0, len(cells) - 1))
            cells[cell] = draw(st.text(MUTATION_CHARS + "é漢", max_size=12))
            lines[index] = "|".join(cells)
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
    return "\n".join(lines), len(lines)
