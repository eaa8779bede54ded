"""``nars train``: train one candidate for real with a training evaluator (run it under torchrun for
several GPUs).

Added to the ``nars`` command line by this adapter's plugin (hook ``nars_add_commands``); the
evaluator is looked up when the command runs, so without timm and torchvision it fails with the
plugin's reason and install command.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from nars_plugin.cli import add_evaluator_args, format_value, make_evaluator, output_folder
from nars_plugin.errors import ConfigError
from nars_plugin.space import Candidate

HELP = "train one candidate for real (run it under torchrun for several GPUs)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``nars train``."""
    parser.add_argument(
        "--candidate", required=True, help="JSON file: a candidate {arch, recipe} or a search summary.json"
    )
    add_evaluator_args(parser, search=False)
    parser.add_argument("--out", help="folder for checkpoint.pt (resumes from it) and result.json")


def run(args: argparse.Namespace) -> int:
    """Train one candidate with a training evaluator and print its learning curve."""
    path = Path(args.candidate)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        hint = "pass a JSON file with arch and recipe"
        raise ConfigError(f"cannot read candidate file {path}: {exc}", hint) from None
    if isinstance(data.get("best"), dict):  # a search's summary.json
        args.space = args.space or data.get("config", {}).get("space", {}).get("name")
        data = data["best"]["candidate"]
    if not isinstance(data, dict) or "arch" not in data:
        raise ConfigError(f"{path} holds no candidate", 'write it as {"arch": {...}, "recipe": {...}}')
    args.evaluator = args.evaluator or "train"
    args.eval_workers = 0 if args.eval_workers is None else args.eval_workers
    evaluator = make_evaluator(args, checkpoints=args.out)
    cand = evaluator.space.validate(Candidate.from_dict(data))
    result = evaluator.evaluate(cand)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0 if result.ok else 1
    if args.out:
        output_folder(args.out)
        record = {"candidate": cand.to_dict(), **result.to_dict()}
        (Path(args.out) / "result.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"arch: {evaluator.space.format_arch(cand)}")
    if not result.ok:
        print(f"failed: {result.error}")
        return 1
    print("validation curve: " + ", ".join(f"{v:.2f}" for v in result.curve or []))
    for name, value in sorted(result.metrics.items()):
        print(f"{name}: {format_value(value)}")
    return 0
