"""Makes the agent example importable in its tests: `mm_agent` from examples/agent, and the
shared test helpers (`fakes`) from this directory."""

from __future__ import annotations

import pathlib
import sys

_HERE = pathlib.Path(__file__).resolve().parent
for _path in (_HERE.parent, _HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
