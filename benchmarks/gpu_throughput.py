"""Training throughput of the released FBNetV3 models on one GPU: fp32 against AMP + channels-last.

Measures images/second of full training steps (forward, backward, RMSProp step) on synthetic data
already on the device, so the figure is the model's, not the data loader's. The baseline is fp32
with the default memory format, measured in the same run; the table reports each setting's ratio
to it. Needs a CUDA GPU; on a machine without one it says so and exits with status 2.

    python benchmarks/gpu_throughput.py --models FBNetV3-A,FBNetV3-G --batch 128 --out benchmarks/results/gpu-throughput
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def measure(name: str, batch: int, amp: bool, channels_last: bool, steps: int, warmup: int) -> float:
    """Images per second of ``steps`` training steps after ``warmup`` unmeasured ones."""
    import torch
    from nars_imagenet.model import build_model
    from nars_imagenet.published import PUBLISHED
    from timm.optim import create_optimizer_v2

    spec = PUBLISHED[name].spec
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(spec, drop_rate=0.2, drop_path_rate=0.1).cuda().to(memory_format=fmt)
    optimizer = create_optimizer_v2(model, opt="rmsproptf", lr=0.01, weight_decay=1e-5, eps=1e-3, alpha=0.9)
    images = torch.randn(batch, 3, spec.resolution, spec.resolution, device="cuda").to(memory_format=fmt)
    labels = torch.randint(0, spec.num_classes, (batch,), device="cuda")
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and dtype == torch.float16)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    for i in range(warmup + steps):
        if i == warmup:
            torch.cuda.synchronize()
            started = time.perf_counter()
        with torch.autocast("cuda", dtype=dtype, enabled=amp):
            loss = loss_fn(model(images), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="FBNetV3-A,FBNetV3-D,FBNetV3-G")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default="benchmarks/results/gpu-throughput")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("error: no CUDA GPU on this machine; run this script where one is available", file=sys.stderr)
        return 2
    settings = [("fp32", False, False), ("fp32 + channels-last", False, True), ("AMP + channels-last", True, True)]
    rows = []
    for name in args.models.split(","):
        base = None
        for label, amp, channels_last in settings:
            rate = measure(name, args.batch, amp, channels_last, args.steps, args.warmup)
            base = base or rate
            rows.append({"model": name, "setting": label, "images_per_s": rate, "ratio_to_fp32": rate / base})
    lines = [
        f"{torch.cuda.get_device_name()}, batch {args.batch}, {args.steps} timed steps",
        "",
        "| model | setting | images/s | x fp32 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['model']} | {r['setting']} | {r['images_per_s']:.0f} | {r['ratio_to_fp32']:.2f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.md").write_text(text)
    (out / "throughput.json").write_text(json.dumps(rows, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
