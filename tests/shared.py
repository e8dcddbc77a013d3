"""Where the project's shared inputs are: `../shared` beside the project root
(a clean clone gets a copy there, as the work tree does). `SPECS` holds the real API
specs the tests import; `STEPFLOW_SHARED` overrides the folder."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STEPFLOW_SHARED", ROOT.parent / "shared"))
SPECS = SHARED / "specs"
