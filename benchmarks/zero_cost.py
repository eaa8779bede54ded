"""Our zero-cost proxies against the published ones, on the 200 NAS-Bench-201 cells that carry both.

``nb201/curves_c10valid_200ep_first200.csv`` (under ``$NARS_DATA_DIR``) holds, for cells 0..199,
eight published zero-cost proxies and the 200-epoch cifar10-valid curves. This script computes our
``synflow`` and ``jacob_cov`` (:mod:`nars_plugin.spaces.nb201._proxies`) for the same cells, on one CPU thread, and
reports

* Spearman rho of ours against the published values of the same proxy;
* Spearman rho of ours and of every published proxy against the final validation accuracy;
* seconds per cell;
* the cache across processes: a second process reads every score from the cache file written by
  the first and computes none.

Outputs in ``--out`` (default ``benchmarks/results/zero-cost``): ``zero_cost.json`` (our scores and the
statistics; the published values are read from the data file, not saved), ``zero_cost.md`` and
``zero_cost.png`` (rank of ours against rank of the published value, per proxy).

    python benchmarks/zero_cost.py [--out DIR] [--cells 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from nars_plugin.errors import DataFileError, NarsError
from nars_plugin.spaces.nb201._proxies import PROXIES, ProxyCache, nb201_proxy
from nars_plugin.tabular.csv_table import _read
from nars_plugin.tabular.nb201._tables import table_path

PUBLISHED = ("grad_norm", "snip", "grasp", "fisher", "jacob_cov", "plain", "synflow_bn", "synflow")

SECOND_PROCESS = """
import json, sys
import nars_plugin.spaces.nb201._proxies as proxies
def refuse(*args, **kwargs):
    raise SystemExit("recomputed a cached score")
keys, proxy, folder = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
cache = proxies.ProxyCache("benchmark: nb201 cifar10", proxy, folder=folder)
print(json.dumps(cache.get(keys, refuse).tolist()))
"""


def measure(cells: int, folder: Path) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    header, records = _read(table_path("nb201/curves_c10valid_200ep_first200.csv"))
    records = records[:cells]
    arches = [r["arch"] for r in records]
    final = np.array([json.loads(r["val_accs"])[-1] for r in records])
    report: dict[str, Any] = {"cells": len(arches), "ours": {}, "published_vs_accuracy": {}}
    for name in PUBLISHED:
        values = np.array([float(r[name]) for r in records])
        report["published_vs_accuracy"][name] = float(spearmanr(values, final).statistic)
    raw: dict[str, list[float]] = {}
    for proxy in PROXIES:
        cache = ProxyCache("benchmark: nb201 cifar10", proxy, folder=folder)
        started = time.perf_counter()
        ours = cache.get(arches, lambda arch, proxy=proxy: nb201_proxy(arch, proxy), progress=True)
        seconds = (time.perf_counter() - started) / len(arches)
        published = np.array([float(r[proxy]) for r in records])
        second = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, json.dumps(arches), proxy, str(folder)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        read_back = json.loads(second.stdout) if second.returncode == 0 else None
        raw[proxy] = ours.tolist()
        report["ours"][proxy] = {
            "spearman_vs_published": float(spearmanr(ours, published).statistic),
            "spearman_vs_accuracy": float(spearmanr(ours, final).statistic),
            "seconds_per_cell": seconds,
            "second_process_read_all_from_cache": read_back == ours.tolist(),
        }
    report["values"] = {"arch": arches, **raw}  # ours only: the published columns stay in the data file
    return report


def published_values(report: dict[str, Any]) -> dict[str, list[float]]:
    """The published proxies of the report's cells, read from the data file (never saved here)."""
    _, records = _read(table_path("nb201/curves_c10valid_200ep_first200.csv"))
    by_arch = {r["arch"]: r for r in records}
    return {proxy: [float(by_arch[a][proxy]) for a in report["values"]["arch"]] for proxy in PROXIES}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Zero-cost proxies: ours against the published ones ({report['cells']} NB201 cells, CIFAR-10)",
        "",
        "| proxy | Spearman vs published | Spearman vs 200-epoch valid acc (ours) | (published) "
        "| seconds per cell (1 thread) | second process read all from the cache |",
        "|---|---|---|---|---|---|",
    ]
    for proxy, row in report["ours"].items():
        lines.append(
            f"| {proxy} | {row['spearman_vs_published']:.3f} | {row['spearman_vs_accuracy']:.3f} | "
            f"{report['published_vs_accuracy'][proxy]:.3f} | {row['seconds_per_cell']:.3f} | "
            f"{'yes' if row['second_process_read_all_from_cache'] else 'NO'} |"
        )
    lines += ["", "Published proxies against the 200-epoch validation accuracy (Spearman):", ""]
    lines += [f"- {name}: {value:.3f}" for name, value in report["published_vs_accuracy"].items()]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Rank of ours against rank of the published value, per proxy (what Spearman's rho measures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import rankdata

    fig, axes = plt.subplots(1, len(PROXIES), figsize=(5 * len(PROXIES), 4.5))
    values, published = report["values"], published_values(report)
    for ax, proxy in zip(axes, PROXIES):
        ax.scatter(rankdata(published[proxy]), rankdata(values[proxy]), s=10, alpha=0.7)
        rho = report["ours"][proxy]["spearman_vs_published"]
        ax.set_title(f"{proxy}: Spearman {rho:.3f} ({report['cells']} cells)", fontsize=9)
        ax.set_xlabel(f"rank of the published {proxy}")
        ax.set_ylabel(f"rank of ours ({proxy})")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/zero-cost")
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--render-only", action="store_true", help="redraw the table and plot from zero_cost.json")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.render_only:
        report = json.loads((out / "zero_cost.json").read_text())
        (out / "zero_cost.md").write_text(markdown(report))
        plot(report, out / "zero_cost.png")
        return 0
    try:
        with tempfile.TemporaryDirectory() as folder:
            report = measure(args.cells, Path(folder))
    except (NarsError, DataFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "zero_cost.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "zero_cost.md").write_text(markdown(report))
    plot(report, out / "zero_cost.png")
    print(markdown(report))
    print(f"results: {out}/zero_cost.json, zero_cost.md, zero_cost.png")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
