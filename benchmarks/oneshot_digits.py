"""The hardware-aware comparison of issue 29: a table and an accuracy-vs-latency plot from a compare folder.

Run the comparison first (every method at the same seconds budget, the same fixed recipe):

    R="fixed_recipe=optimizer=sgd,lr=0.5,weight_decay=0.0001,mixup=0.0,dropout=0.1,drop_path=0.0,ema=false,epochs=6"
    O="nars($R),rea($R),rs($R),proxylessnas($R),single-path-nas($R)"
    nars compare --evaluator train --space fbnetv3-tiny -S latency=pixel3 --dataset digits -E test=true \\
      -E workers=0 -c 'latency[pixel3] <= 4.4' --seeds 5 --budget-seconds 60 --workers 1 --out runs/oneshot \\
      --optimizers "$O"
    python benchmarks/oneshot_digits.py --compare runs/oneshot --out benchmarks/results/oneshot-digits

It writes ``table.md`` (validation and test top-1 and modelled latency of the network each run chose,
mean ± std over seeds; the papers' published ImageNet rows beside it) and ``pareto.png``: test top-1
against latency of everything each method trained (every evaluation of NARS, REA and RS; the derived
network of each one-shot run), each method's Pareto front over its seeds (lines), and the
constraint's bound.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def _runs(folder: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(d.glob("seed*")) for d in sorted((folder / "runs").iterdir()) if d.is_dir()}


def _trained(run: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """``(every trained candidate with its metrics, the chosen one)`` of one run folder."""
    one_shot = run / "oneshot_run.json"
    if one_shot.is_file():
        best = json.loads(one_shot.read_text())["result"]["best"]
        return [best], best
    points = []
    for line in (run / "journal.jsonl").read_text().splitlines()[1:]:
        record = json.loads(line)
        if record.get("type") == "eval" and record["result"]["status"] == "ok":
            points.append({"candidate": record["candidate"], "metrics": record["result"]["metrics"]})
    summary = json.loads((run / "summary.json").read_text())
    return points, summary.get("best")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", required=True, help="the folder of the nars compare run")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from nars_imagenet.published import ONE_SHOT_PUBLISHED, PUBLISHED
    from nars_imagenet.space import fbnetv3_tiny_space

    from nars_plugin.constraints import parse_constraints
    from nars_plugin.space import Candidate

    folder = Path(args.compare)
    first_journal = next(folder.glob("runs/*/seed0/journal.jsonl"))
    header = json.loads(first_journal.read_text().splitlines()[0])["config"]
    bound = parse_constraints(header["constraints"])[0]
    space = fbnetv3_tiny_space(**header["evaluator_target"]["space_options"])

    def latency(cand: dict[str, Any]) -> float:
        return float(space.statistics([Candidate.from_dict(cand)])[bound.metric][0])

    rows, clouds, one_shot = [], {}, set()
    for label, runs in _runs(folder).items():
        chosen, cloud = [], []
        for run in runs:
            points, best = _trained(run)
            if (run / "oneshot_run.json").is_file():
                one_shot.add(label)
            cloud += [(latency(p["candidate"]), p["metrics"].get("test_top1", np.nan)) for p in points]
            if best:
                m = best.get("metrics", {})
                chosen.append((m.get("val_top1", np.nan), m.get("test_top1", np.nan), latency(best["candidate"])))
        clouds[label] = np.array(cloud)
        values = np.array(chosen)
        cells = [f"{np.nanmean(values[:, j]):.2f} ± {np.nanstd(values[:, j]):.2f}" for j in range(3)]
        feasible = int(np.sum(values[:, 2] <= bound.bound + 1e-9))
        rows.append(f"| {label} | {len(runs)} | {' | '.join(cells)} | {feasible}/{len(runs)} | {len(cloud)} |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# fbnetv3-tiny on digits under `{bound}`: the network each run chose",
        "",
        "Source: a `nars compare` run (its command: README.md beside this table); latency is the modelled "
        f"{bound.metric} (nars_imagenet.latency); mean ± std over seeds.",
        "",
        "| method | seeds | val top-1 | test top-1 | latency ms | feasible | networks trained |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "## Published ImageNet rows (as published; not our runs)",
        "",
        "| model | ImageNet top-1 | latency | MFLOPs | source |",
        "|---|---|---|---|---|",
        *[f"| {r.name} | {r.top1} | {r.latency} | {r.mflops or '-'} | {r.source} |" for r in ONE_SHOT_PUBLISHED],
        *[
            f"| {m.name} | {m.top1} | - | {m.mflops} | mobile-vision model information (DESIGN.md) |"
            for m in PUBLISHED.values()
        ],
    ]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    _plot(clouds, one_shot, bound, out / "pareto.png")
    print("\n".join(lines))


def _plot(clouds: dict[str, np.ndarray], one_shot: set[str], bound: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nars_plugin.pareto import pareto_front

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in clouds.items():
        if len(points):
            derived = label in one_shot  # one derived network per run: drawn large
            dots = ax.scatter(points[:, 0], points[:, 1], label=label, s=60 if derived else 10,
                              marker="*" if derived else "o", alpha=0.9 if derived else 0.4)  # fmt: skip
            front = pareto_front(points[:, 0], points[:, 1])  # what the method found over all its seeds
            ax.step(front[:, 0], front[:, 1], where="post", color=dots.get_facecolor()[0][:3], linewidth=1.2)
    ax.axvline(bound.bound, color="k", linestyle="--", linewidth=1, label=str(bound))
    ax.set_xlabel(f"modelled {bound.metric} (ms)")
    ax.set_ylabel("test top-1 (%)")
    ax.set_title("fbnetv3-tiny on digits: every network trained, and each method's Pareto front", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
