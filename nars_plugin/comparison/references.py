"""Published reference numbers shown beside a comparison's own runs (clearly marked as not ours)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..evaluation import Evaluator

#: Published NAS-Bench-201 CIFAR-10 test accuracies (200 epochs), NB201 paper (Dong & Yang 2020), Table 5.
REFERENCES: dict[str, dict[str, str]] = {
    "nb201-c10": {
        "DARTS-V1": "54.30",
        "DARTS-V2": "54.30",
        "ENAS": "53.89",
        "GDAS": "93.61",
        "RS": "93.70 ± 0.36",
        "REINFORCE": "93.85",
        "REA": "93.92 ± 0.30",
    }
}
REFERENCE_NOTE = (
    "published in the NAS-Bench-201 paper (Dong & Yang, ICLR 2020) under its 12,000-second protocol; not our runs"
)


def reference_key(spec: str, bench: Evaluator, reference: str | None) -> str | None:
    """Which published reference rows apply (``auto``: NB201 CIFAR-10 200-epoch test tables)."""
    if reference in (None, "none"):
        return None
    if reference != "auto":
        if reference not in REFERENCES:
            raise ConfigError(f"unknown reference {reference!r}", f"choose one of {sorted(REFERENCES)} or none")
        return reference
    text = f"{spec} {bench.report_metric}".lower()
    if bench.space.name == "nb201" and ("cifar10_test_acc_200ep" in text or "nb201-paper" in text):
        return "nb201-c10"
    return None


def reference_block(key: str | None) -> dict[str, Any] | None:
    """The ``reference`` entry of a summary: the key, the note and the published rows (None: no rows)."""
    return {"key": key, "note": REFERENCE_NOTE, "rows": REFERENCES[key]} if key else None
