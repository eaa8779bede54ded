"""Latency predictors for MBConv blocks, checked on held-out FBNet networks (27 device settings).

Trains :class:`~nars_imagenet.latency_models.BlockLatencyMLP` (sum of a per-block MLP over block
descriptions) and the FBNet lookup table (:class:`~nars_imagenet.latency_models.LookupTableLatency`)
on the first ``--train`` networks of ``fbnet/latency_ms_5000.csv`` and reports Kendall tau,
Spearman and MAPE per device on the last ``--test`` ones; saves a table and a predicted-vs-measured
scatter plot.

    python benchmarks/fbnet_latency.py --out benchmarks/results/fbnet-latency
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import torch
    from nars_imagenet.latency_models import (
        BlockLatencyMLP,
        LookupTableLatency,
        accuracy_report,
        fbnet_blocks,
        load_fbnet_latency,
    )

    torch.set_num_threads(1)
    ops, latency, devices = load_fbnet_latency()
    train, test = slice(0, args.train), slice(len(ops) - args.test, len(ops))
    nets = [fbnet_blocks(o) for o in ops]
    started = time.perf_counter()
    mlp = BlockLatencyMLP(devices, steps=args.steps).fit(nets[train], latency[train])
    mlp_seconds = time.perf_counter() - started
    lut = LookupTableLatency(devices).fit(ops[train], latency[train])
    measured = latency[test]
    predictions = {"block-mlp": mlp.predict(nets[test]), "lookup-table": lut.predict(ops[test])}
    reports = {name: accuracy_report(measured, p, devices) for name, p in predictions.items()}

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"config": vars(args), "mlp_fit_seconds": mlp_seconds, "per_device": reports}
    (out / "latency_predictor.json").write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        f"# Latency prediction on held-out FBNet networks (train {args.train}, test {args.test})",
        "",
        "block-mlp: bias + sum over the 22 blocks of an MLP of the block description (any MBConv space);",
        "lookup-table: FBNet's per-(layer, op) table fitted by ridge regression (fixed layout only).",
        "",
        "| device | block-mlp tau | block-mlp MAPE % | lookup-table tau | lookup-table MAPE % |",
        "|---|---|---|---|---|",
    ]
    for d in devices:
        m, t = reports["block-mlp"][d], reports["lookup-table"][d]
        lines.append(
            f"| {d} | {m['kendall_tau']:.3f} | {m['mape_percent']:.2f} | {t['kendall_tau']:.3f} | "
            f"{t['mape_percent']:.2f} |"
        )
    for name in reports:
        taus = [reports[name][d]["kendall_tau"] for d in devices]
        mapes = [reports[name][d]["mape_percent"] for d in devices]
        lines.append(f"| **median, {name}** | {np.median(taus):.3f} | {np.median(mapes):.2f} | | |")
    (out / "latency_predictor.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["pixel3", "fpga", "eyeriss", "raspi4", "gold_6240", "2080ti_32"]
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    for ax, device in zip(axes.ravel(), shown):
        j = devices.index(device)
        ax.scatter(measured[:, j], predictions["lookup-table"][:, j], s=4, alpha=0.4, label="lookup table")
        ax.scatter(measured[:, j], predictions["block-mlp"][:, j], s=4, alpha=0.4, label="block MLP")
        lo, hi = measured[:, j].min(), measured[:, j].max()
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        r = reports["block-mlp"][device]
        ax.set_title(f"{device}: MLP tau {r['kendall_tau']:.3f}, MAPE {r['mape_percent']:.1f}%", fontsize=9)
        ax.set_xlabel("measured latency (ms)")
        ax.set_ylabel("predicted latency (ms)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, markerscale=3)
    fig.suptitle(f"FBNet space, {args.test} held-out networks", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "scatter.png", dpi=110)
    plt.close(fig)
    print(f"results: {out}/latency_predictor.json, latency_predictor.md, scatter.png")


if __name__ == "__main__":
    main()
