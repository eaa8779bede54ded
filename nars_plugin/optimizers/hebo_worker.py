"""The HEBO worker: HEBO's optimiser in a process (and Python environment) of its own.

HEBO 0.3.6 pins ``numpy<1.25`` and ``pymoo==0.6.0``, which cannot share an environment with
nars-plugin's dependencies; so :mod:`nars_plugin.optimizers.hebo` starts this file with the
interpreter of a worker environment (``nars hebo install`` builds one) and talks to it in JSON
lines over stdin/stdout. The file imports nothing from nars-plugin: the worker environment needs
HEBO and nothing else.

Requests, one JSON object per line, each answered by one line (``{"error": ...}`` on failure):

* ``{"op": "init", "params": [...], "seed": S, "rand_sample": N|null, "model": "gp"}``: the design
  space in HEBO's own format (``name``, ``type``, ``lb``/``ub`` or ``categories``), answered with the
  versions in use;
* ``{"op": "suggest", "n": N}``: answered with ``{"rows": [{name: value}, ...]}`` (N suggestions
  from one model fit; HEBO's MACE acquisition proposes batches). The rows come in the order to try
  them: for N > 2 HEBO replaces two of its random picks from the acquisition's Pareto set with the
  most uncertain point (row 0) and the best-predicted one (row 1); they are moved to the end, so a
  caller that takes the first feasible row gets what a single suggestion would give (a random
  Pareto point) and not, every time, the most uncertain one;
* ``{"op": "observe", "row": {...}, "y": V}``: a finite value to minimise, answered with ``{}``.

Determinism: everything HEBO draws comes from generators seeded here, once, in a process that
serves one search (``random``, NumPy's and torch's global generators, which HEBO and pymoo use;
the initial Sobol design's ``scramble_seed``); HEBO sets torch to one thread when it is imported,
and since this is a process of its own that setting touches nothing of the host. So the same seed
and the same sequence of requests give the same suggestions, and a search resumed from its journal
replays them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _plain(value: Any) -> Any:
    """A NumPy scalar as a plain Python number, for JSON."""
    return value.item() if hasattr(value, "item") else value


def try_order(rows: list[Any]) -> list[Any]:
    """HEBO's batch in the order to try it: for more than 2 rows, its most uncertain (row 0) and
    best-predicted (row 1) picks after its random Pareto picks (see the module docstring)."""
    return rows[2:] + [rows[1], rows[0]] if len(rows) > 2 else list(rows)


#: The requests a worker answers.
OPS = ("init", "suggest", "observe")


class Worker:
    """One HEBO optimiser, driven by requests."""

    def __init__(self) -> None:
        self.opt: Any = None
        self.columns: list[str] = []

    def init(self, request: dict[str, Any]) -> dict[str, Any]:
        import random

        import numpy as np
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        seed = int(request["seed"])
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        space = DesignSpace().parse(request["params"])
        self.columns = [p["name"] for p in request["params"]]
        self.opt = HEBO(
            space, model_name=request.get("model", "gp"), rand_sample=request.get("rand_sample"), scramble_seed=seed
        )
        import hebo

        return {"hebo": getattr(hebo, "__version__", "?"), "numpy": np.__version__, "torch": torch.__version__}

    def suggest(self, request: dict[str, Any]) -> dict[str, Any]:
        frame = self.opt.suggest(n_suggestions=int(request.get("n", 1)))
        rows = [{name: _plain(record[name]) for name in self.columns} for _, record in frame.iterrows()]
        return {"rows": try_order(rows)}

    def observe(self, request: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        frame = pd.DataFrame([request["row"]], columns=self.columns)
        self.opt.observe_new_data(frame, np.array([[float(request["y"])]]))
        return {}


def serve(lines: Any, out: Any) -> None:
    """Answer each request line of ``lines`` on ``out`` until the input ends."""
    worker = Worker()
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("op") not in OPS:
                raise ValueError(f"unknown request {request.get('op')!r} (known: {', '.join(OPS)})")
            answer = getattr(worker, request["op"])(request)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the host as a message
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    # run as a script, this file's folder leads sys.path, and nars-plugin's own hebo.py beside it
    # would shadow the real HEBO
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    protocol = sys.stdout
    sys.stdout = sys.stderr  # whatever HEBO or its libraries print must not reach the protocol
    serve(sys.stdin, protocol)
