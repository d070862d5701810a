"""Atomic file writes: a reader (or a resumed run) never sees a half-written file."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: str | os.PathLike, obj, **dumps_kwargs) -> Path:
    """``json.dumps(obj, **dumps_kwargs)`` into ``path`` via a temporary sibling + rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, **dumps_kwargs))
    os.replace(tmp, path)
    return path
