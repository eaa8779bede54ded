"""``nars naslib``: run a NASLib config with NASLib's Trainer, or install NASLib (``nars naslib install``).

Added to the ``nars`` command line by this adapter's plugin (hook ``nars_add_commands``), whether
NASLib is installed or not: installing it is one of the command's actions.
"""

from __future__ import annotations

import argparse

from nars_plugin.cli import benchmark_from_args, format_value
from nars_plugin.errors import ConfigError

HELP = "run a NASLib config with NASLib's Trainer, or `nars naslib install --source S` to install NASLib"


def arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``nars naslib``."""
    parser.add_argument("action", nargs="?", choices=["install"], help="install: NASLib into this environment")
    parser.add_argument("--source", metavar="PATH_OR_URL", help="install: NASLib's source (folder, .tar.gz or git URL)")
    parser.add_argument("--no-deps", action="store_true", help="install: NASLib only, not the libraries it imports")
    parser.add_argument("--config", metavar="FILE.yaml", help="NASLib config (naslib/defaults/*.yaml format)")
    parser.add_argument("--benchmark", "-b", help="query this nb201 table (e.g. csv:PATH) instead of NASLib's own data")
    parser.add_argument("--bench-opt", "-B", action="append", metavar="KEY=VALUE", help="benchmark option")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: faster on a loaded machine)")


def run(args: argparse.Namespace) -> int:
    """Run NASLib's Trainer on a NASLib config (the NASLib bridge; needs NASLib), or install NASLib."""
    if args.action == "install":
        if not args.source:
            raise ConfigError(
                "nars naslib install needs --source",
                "e.g. --source ../shared/vendor/naslib/NASLib-Develop-0b51bc1.tar.gz or a NASLib git URL",
            )
        from .install import install_naslib

        report = install_naslib(args.source, deps=not args.no_deps)
        print(f"installed NASLib {report.version} into {report.package_dir.parent} in {report.seconds:.0f} s")
        return 0
    if not args.config:
        raise ConfigError(
            "nars naslib needs --config FILE.yaml (or the action `install`)",
            "nars naslib --config FILE.yaml [-b csv:TABLE], or nars naslib install --source PATH_OR_URL",
        )
    from .config_runner import run_config

    bench = benchmark_from_args(args) if args.benchmark else None
    result = run_config(args.config, bench, threads=args.threads)
    for key, value in result.items():
        print(f"{key}: {format_value(value)}")
    print(f"results: {result['save']}/nars_result.json, {result['save']}/errors.json")
    return 0
