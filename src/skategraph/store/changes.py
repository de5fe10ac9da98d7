"""Changing a store: a SPARQL update or a Graph Store write, applied to a copy of a generation.

The copy becomes current only when the change is complete (`generations.writing`), so a failed
change alters nothing.
"""

from __future__ import annotations

import datetime
import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from skategraph.store.embedded import describe


def write_change(source: Path, target: Path, change: Callable[[ox.Store], None], note: str) -> dict[str, Any]:
    """Copy generation `source` into the empty directory `target` and apply `change` to the copy.

    Used for SPARQL updates and Graph Store writes: the copy becomes current only if this returns
    (see `generations.writing`), so a failed change alters nothing. Copying is an Oxigraph backup,
    which hard-links the immutable files and takes milliseconds.
    """
    ox.Store.read_only(str(source / "oxigraph")).backup(str(target / "oxigraph"))
    writable = ox.Store(str(target / "oxigraph"))
    try:
        change(writable)
        writable.flush()
    finally:
        del writable
        gc.collect()
    manifest = json.loads((source / "manifest.json").read_text("utf-8"))
    manifest.update(
        build_id=target.name,
        parent=source.name,
        changed_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        change=note,
    )
    described = describe(target, manifest)
    result = described.manifest
    del described
    gc.collect()
    return result
