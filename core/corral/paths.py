"""Where corral keeps its state on the controller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def corral_home(environ: Mapping[str, str]) -> Path:
    """``$CORRAL_HOME``, else ``$XDG_STATE_HOME/corral``, else ``~/.local/state/corral``."""
    if environ.get("CORRAL_HOME"):
        return Path(environ["CORRAL_HOME"]).expanduser()
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser() / "corral"
