"""FBNetV3-A..G: our analytical FLOPs/params vs the published figures vs torch's flop counter.

For each released model (stage definitions in ``adapters/nars_imagenet/published.py``) the table
gives the analytical multiply-adds and parameters, the published ones, their ratio, and what
``torch.utils.flop_counter.FlopCounterMode`` (halved: it counts 2 FLOPs per multiply-add) and
``sum(p.numel())`` measure on the model built from timm's blocks. A second table does the same for
sampled candidates of the ``fbnetv3`` search space.

    python benchmarks/fbnetv3_flops.py --out benchmarks/results/fbnetv3-flops
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/fbnetv3-flops")
    parser.add_argument("--samples", type=int, default=8, help="sampled fbnetv3 candidates to check")
    args = parser.parse_args()

    import torch
    from nars_imagenet.arch import count
    from nars_imagenet.model import build_model, measured_counts
    from nars_imagenet.published import PUBLISHED
    from nars_imagenet.space import fbnetv3_space

    torch.set_num_threads(1)
    rows = []
    for model in PUBLISHED.values():
        ours = count(model.spec)
        macs, params = measured_counts(build_model(model.spec), model.spec.resolution)
        rows.append(
            {
                "model": model.name,
                "resolution": model.spec.resolution,
                "ours_mflops": ours.macs / 1e6,
                "published_mflops": model.mflops,
                "flops_ratio": ours.macs / 1e6 / model.mflops,
                "flop_counter_mflops": macs / 1e6,
                "ours_mparams": ours.params / 1e6,
                "published_mparams": model.mparams,
                "params_ratio": ours.params / 1e6 / model.mparams,
                "torch_mparams": params / 1e6,
            }
        )
    space = fbnetv3_space()
    sampled = []
    for cand in space.sample(args.samples, seed=0):
        spec = space.network(cand)
        ours = count(spec)
        macs, params = measured_counts(build_model(spec), spec.resolution)
        sampled.append(
            {
                "resolution": spec.resolution,
                "blocks": len(spec.blocks),
                "ours_mflops": ours.macs / 1e6,
                "flop_counter_mflops": macs / 1e6,
                "flops_ratio": macs / ours.macs,
                "ours_mparams": ours.params / 1e6,
                "torch_mparams": params / 1e6,
                "params_ratio": params / ours.params,
            }
        )

    lines = [
        "FLOPs = multiply-adds (the published convention); flop_counter = FlopCounterMode total / 2.",
        "",
        "| model | px | ours MFLOPs | published | ratio | flop_counter | ours Mparams | published | ratio | torch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['resolution']} | {r['ours_mflops']:.1f} | {r['published_mflops']:.1f} | "
            f"{r['flops_ratio']:.4f} | {r['flop_counter_mflops']:.1f} | {r['ours_mparams']:.3f} | "
            f"{r['published_mparams']:.2f} | {r['params_ratio']:.4f} | {r['torch_mparams']:.3f} |"
        )
    lines += [
        "",
        f"Sampled candidates of the fbnetv3 space (seed 0, {len(sampled)} of them):",
        "",
        "| px | blocks | ours MFLOPs | flop_counter | ratio | ours Mparams | torch | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sampled:
        lines.append(
            f"| {r['resolution']} | {r['blocks']} | {r['ours_mflops']:.1f} | {r['flop_counter_mflops']:.1f} | "
            f"{r['flops_ratio']:.6f} | {r['ours_mparams']:.3f} | {r['torch_mparams']:.3f} | {r['params_ratio']:.6f} |"
        )
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text)
    (out / "table.json").write_text(json.dumps({"published": rows, "sampled": sampled}, indent=2))
    with open(out / "published.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
