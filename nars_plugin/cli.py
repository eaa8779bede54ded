"""The ``nars`` command line.

``nars spaces`` / ``benchmarks`` / ``optimizers`` / ``predictors`` / ``plugins`` list what is
registered; ``nars query`` looks one candidate up; ``nars search`` runs a resumable search.
Errors caused by input print ``error: ...`` with a hint and exit with status 2.

The core's commands are one table (:data:`_COMMANDS`); plugins add theirs through the
``nars_add_commands`` hook (:func:`nars_plugin.hookspecs.nars_add_commands`: e.g. ``naslib`` and
``train`` from the adapters, ``hebo`` from the hebo peer), and ``main()`` dispatches both alike.
The core imports no plugin. Plugin commands may use the helpers for the options the core's commands
share: :func:`add_benchmark_args` / :func:`benchmark_from_args`, :func:`add_evaluator_args` /
:func:`make_evaluator`, :func:`format_value` and :func:`output_folder`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._keyvalue import parse_key_values
from ._safe_files import output_folder
from .errors import ConfigError, NarsError, command_line_wording
from .plugins import Command, get_registry, plugin_commands

EXIT_USAGE = 2


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that states every option's default (``(default: X)``) unless its text already does."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default in (None, False, argparse.SUPPRESS) or "default" in text or action.nargs == 0:
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


__all__ = [
    "EXIT_USAGE",
    "add_benchmark_args",
    "add_evaluator_args",
    "benchmark_from_args",
    "build_parser",
    "format_value",
    "main",
    "make_evaluator",
    "output_folder",
]

_SPACE_OPTION_HELP = "space option (repeatable), e.g. zero_cost=synflow (`nars spaces NAME` lists them)"


def add_benchmark_args(p: argparse.ArgumentParser, default: str | None = "nb201-analog") -> None:
    """``--benchmark/-b``, ``--bench-opt/-B KEY=VALUE`` and ``--space-option/-S KEY=VALUE`` (read them
    with :func:`benchmark_from_args`)."""
    p.add_argument(
        "--benchmark",
        "-b",
        default=default,
        help="benchmark name or name:ARG" + (f" (default: {default})" if default else ""),
    )
    p.add_argument(
        "--bench-opt", "-B", action="append", metavar="KEY=VALUE", help="benchmark option, e.g. target=analog_1d"
    )
    p.add_argument("--space-option", "-S", action="append", metavar="KEY=VALUE", help=_SPACE_OPTION_HELP)


def benchmark_options(args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark options of ``-B``, with the space options of ``-S`` for a benchmark that passes
    options on to its space (e.g. ``csv``); a clear error where the benchmark takes none."""
    options = parse_key_values(args.bench_opt, "--bench-opt")
    space_options = parse_key_values(getattr(args, "space_option", None), "--space-option")
    if not space_options:
        return options
    name = args.benchmark.partition(":")[0]
    entry = get_registry().get("benchmark", name)
    if not getattr(entry.settings, "extra_options", None):
        raise ConfigError(
            f"benchmark {name!r} builds its own space and takes no --space-option ({', '.join(sorted(space_options))})",
            f"set what it offers with --bench-opt KEY=VALUE (`nars benchmarks {name}` lists them), or "
            "search a space of your choice with --evaluator and --space",
        )
    both = sorted(set(options) & set(space_options))
    if both:
        raise ConfigError(f"{', '.join(both)} given both as --bench-opt and as --space-option", "give each option once")
    return {**options, **space_options}


def benchmark_from_args(args: argparse.Namespace) -> Any:
    """The benchmark :func:`add_benchmark_args`' options name, built through the plugin registry."""
    return get_registry().create_benchmark(args.benchmark, **benchmark_options(args))


def add_evaluator_target_args(p: argparse.ArgumentParser) -> None:
    """``--evaluator``, ``--space``, ``--space-option``, ``--dataset`` and ``--eval-opt``: a plugin
    evaluator (e.g. ``train``) instead of a benchmark."""
    p.add_argument("--evaluator", "-e", help="evaluator name instead of a benchmark, e.g. train (`nars evaluators`)")
    p.add_argument("--space", help="space the evaluator searches, e.g. fbnetv3-tiny (`nars spaces`)")
    if not any("--space-option" in a.option_strings for a in p._actions):
        p.add_argument("--space-option", "-S", action="append", metavar="KEY=VALUE", help=_SPACE_OPTION_HELP)
    p.add_argument("--dataset", "--data", dest="dataset", help="data set of a training evaluator: digits or a folder")
    p.add_argument("--eval-opt", "-E", action="append", metavar="KEY=VALUE", help="evaluator option, e.g. seed=1")


def add_evaluator_args(p: argparse.ArgumentParser, search: bool = True) -> None:
    """Options of plugin evaluators (e.g. ``train`` from the imagenet plugin) instead of a benchmark
    (read them with :func:`make_evaluator`); ``search=False`` leaves out ``--parallel``."""
    add_evaluator_target_args(p)
    p.add_argument("--executor", help="where evaluations run: local (processes, default) or ray")
    p.add_argument("--address", help="Ray cluster address (with --executor ray; default: a local instance)")
    p.add_argument("--workers", dest="eval_workers", type=int, help="local worker processes (0: in this process)")
    p.add_argument("--devices", type=int, help="GPUs (processes) per candidate")
    if search:
        p.add_argument("--parallel", type=int, help="candidates evaluated side by side (default: --workers)")


def make_evaluator(args: argparse.Namespace, **extra: Any) -> Any:
    """The evaluator named by ``--evaluator`` on ``--space`` (with its ``--space-option`` values), built
    through the plugin registry; ``extra`` options join ``--eval-opt``'s."""
    options = parse_key_values(args.eval_opt, "--eval-opt")
    named = {
        "dataset": args.dataset,
        "executor": args.executor,
        "address": args.address,
        "workers": args.eval_workers,
        "devices": args.devices,
        "parallel": getattr(args, "parallel", None),
    }
    options.update({k: v for k, v in {**named, **extra}.items() if v is not None})
    from .assembly import create_evaluator

    space_options = parse_key_values(args.space_option, "--space-option")
    return create_evaluator(args.evaluator, args.space, space_options, options)


def build_parser(commands: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``nars``: the core's commands, then the plugins' (``commands``; default:
    :func:`nars_plugin.plugins.plugin_commands`)."""
    parser = argparse.ArgumentParser(
        prog="nars",
        description="Joint architecture + training-recipe search (NARS).",
        formatter_class=_DefaultsFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nars-plugin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for kind in _LISTINGS:
        p = sub.add_parser(kind, help=f"list registered {kind}")
        p.add_argument("pattern", nargs="?", default="*", help="glob filter on names")
    sub.add_parser("plugins", help="list loaded plugins and what they registered")

    q = sub.add_parser("query", help="look up one candidate on a benchmark")
    add_benchmark_args(q)
    q.add_argument("--arch", required=True, help="architecture string in the space's syntax")
    q.add_argument("--recipe", action="append", metavar="KEY=VALUE", help="recipe value (repeatable)")
    q.add_argument("--fidelity", type=int, help="epochs to train (default: the full schedule)")
    q.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("search", help="run (or resume) a search")
    add_benchmark_args(s)
    s.add_argument(
        "--optimizer", "-o", default="nars", help="optimizer name (default: nars; `nars optimizers` lists them)"
    )
    s.add_argument("--opt", "-O", action="append", metavar="KEY=VALUE", help="optimizer setting (repeatable)")
    s.add_argument("--budget", type=int, help="number of evaluations (queries)")
    s.add_argument("--budget-seconds", type=float, help="simulated GPU-seconds")
    s.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same search")
    s.add_argument("--constraint", "-c", action="append", metavar="EXPR", help="e.g. 'flops <= 100M' (repeatable)")
    s.add_argument("--out", required=True, help="output folder: journal, summary.json, trajectory.csv")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--fix-recipe", metavar="K=V[,K=V]", help="hold recipe values fixed (architecture-only search)")
    s.add_argument(
        "--eval-timeout",
        type=float,
        metavar="SECONDS",
        help="time limit of one evaluation: it runs in a worker process, is stopped past the limit "
        "and recorded as failed (default: no limit)",
    )
    add_evaluator_args(s)

    c = sub.add_parser("compare", help="compare optimizers over many seeds (tables + regret plot)")
    add_benchmark_args(c)
    c.add_argument("--optimizers", default="nars,rea,rs", help="comma list of NAME or LABEL=NAME(k=v;k=v)")
    c.add_argument("--seeds", type=_seeds_arg, default=10, help=_SEEDS_HELP)
    c.add_argument("--first-seed", type=int, default=0, help=_FIRST_SEED_HELP)
    c.add_argument("--budget", type=int, help="queries per run (default 100 unless --budget-seconds is given)")
    c.add_argument("--budget-seconds", type=float, help="simulated GPU-seconds per run (e.g. 12000 for nb201-paper)")
    c.add_argument("--constraint", "-c", action="append", metavar="EXPR")
    c.add_argument("--workers", type=int, help="worker processes (default: CPU count)")
    _add_executor_args(c)
    c.add_argument("--reference", default="auto", help="published reference rows: auto, none or a key")
    add_evaluator_target_args(c)
    c.add_argument("--out", required=True)
    c.add_argument("--no-progress", action="store_true")

    su = sub.add_parser(
        "suite", help="compare optimizers on a list of benchmarks, with one leaderboard (average rank, CD diagram)"
    )
    su.add_argument("--suite", metavar="FILE.toml", help="the benchmarks (default: every built-in one that runs here)")
    su.add_argument("--only", metavar="LABEL[,LABEL]", help="run only these benchmarks of the suite")
    su.add_argument("--list", action="store_true", help="print the suite's benchmarks and exit")
    su.add_argument(
        "--leaderboard-only",
        action="store_true",
        help="run nothing: write the leaderboard again from the details.json of each benchmark's folder in --out",
    )
    su.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="FOLDER",
        help="with --leaderboard-only: another suite folder whose optimizers join the board, replacing those of "
        "the same label (repeatable)",
    )
    su.add_argument("--optimizers", default="nars,rea,rs", help="comma list of NAME or LABEL=NAME(k=v;k=v)")
    su.add_argument("--seeds", type=_seeds_arg, default=10, help=_SEEDS_HELP)
    su.add_argument("--first-seed", type=int, default=0, help=_FIRST_SEED_HELP)
    su.add_argument("--workers", type=int, help="worker processes (default: CPU count)")
    _add_executor_args(su)
    su.add_argument("--out", help="folder: one comparison per benchmark, the leaderboard beside them")
    su.add_argument("--no-progress", action="store_true")

    pe = sub.add_parser("predictor-eval", help="rank quality of registered predictors side by side")
    add_benchmark_args(pe)
    pe.add_argument(
        "--predictors",
        default="fbnetv3",
        help="comma list of predictor specs, NAME or LABEL=NAME(k=v;k=v) (`nars predictors` lists them)",
    )
    pe.add_argument("--sizes", default="8,16,32,64,128,256", help="comma list of training sizes")
    pe.add_argument("--seeds", type=int, default=5, help="repetitions (own held-out set, order)")
    pe.add_argument("--test-size", type=int, default=1000, help="held-out architectures the predictors are scored on")
    pe.add_argument("--out", required=True)
    pe.add_argument("--no-progress", action="store_true")

    pl = sub.add_parser("plot", help="plots of one search folder: history, slice, Pareto front, learning curves")
    pl.add_argument("folder", metavar="DIR", help="a search folder (nars search --out DIR)")
    pl.add_argument("--out", metavar="DIR", help="where the PNGs go (default: the search folder)")
    pl.add_argument(
        "--metric",
        help="Pareto front against this metric (default: the constrained one, else latency, flops or params)",
    )
    ex = sub.add_parser("export-optuna", help="write one search folder into an Optuna storage (optuna-dashboard)")
    ex.add_argument("folder", metavar="DIR", help="a search folder (nars search --out DIR)")
    ex.add_argument("--storage", required=True, metavar="URL", help="Optuna storage, e.g. sqlite:///runs/demo.db")
    ex.add_argument("--study-name", help="Optuna study name (default: OPTIMIZER-BENCHMARK-seedK)")
    ex.add_argument("--replace", action="store_true", help="replace a study of that name in the storage")

    plugins = plugin_commands(reserved=_CORE_COMMANDS) if commands is None else commands
    for command in plugins.values():
        sp = sub.add_parser(command.name, help=f"{command.help} [plugin {command.plugin}]")
        if command.arguments is not None:
            command.arguments(sp)
        sp.set_defaults(plugin_command=command)
    for subparser in _commands(parser).values():
        subparser.formatter_class = _DefaultsFormatter
    return parser


_SEEDS_HELP = "seeds per optimizer (default 10); N,LABEL=M gives some optimizers other counts, e.g. 10,hebo=5"
_FIRST_SEED_HELP = (
    "the first seed (default 0): --seeds 5 --first-seed 5 runs seeds 5-9, to join runs of seeds 0-4 with "
    "`nars suite --leaderboard-only --merge`"
)


def _seeds_arg(text: str) -> Any:
    """``--seeds``: ``N`` or ``N,LABEL=M`` (:func:`nars_plugin.comparison.spec.parse_seeds`)."""
    from .comparison.spec import parse_seeds

    try:
        return parse_seeds(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--executor", choices=["local", "ray"], default="local", help="runs in local processes (default) or Ray tasks"
    )
    p.add_argument(
        "--address", metavar="HOST:PORT", help="Ray cluster (with --executor ray; default: a local instance)"
    )


#: How ``nars search`` sets the options of each kind of entry.
_OPTION_FLAGS = {"optimizer": "-O", "benchmark": "-B", "evaluator": "-E"}


def cmd_list(kind: str, pattern: str) -> int:
    """Print the registered names of one kind with their descriptions; an exact name gets its settings too."""
    registry = get_registry()
    name = pattern.partition(":")[0] if kind == "benchmark" else pattern
    if name in registry.names(kind):
        return _describe_entry(registry.get(kind, name))
    entries = registry.entries(kind, pattern)
    width = max((len(e.name) for e in entries), default=0)
    for e in entries:
        suffix = ":ARG" if e.takes_argument else ""
        print(f"{(e.name + suffix).ljust(width + 4)}  {e.description}  [{e.plugin}]")
    if not entries:
        print(f"no {kind}s match {pattern!r}")
    return 0


def _describe_entry(entry: Any) -> int:
    """One entry in full: description, plugin and every declared setting with type, default and doc."""
    from .settings import describe

    print(f"{entry.name}{':ARG' if entry.takes_argument else ''}  {entry.description}  [{entry.plugin}]")
    flag = _OPTION_FLAGS.get(entry.kind)
    if flag and entry.settings is not None:
        print(
            f"set with: {flag} NAME=VALUE" + ("; in nars compare: NAME(k=v;k=v)" if entry.kind == "optimizer" else "")
        )
    for line in describe(entry.settings):
        print("  " + line)
    if entry.kind == "optimizer":
        print("  every optimizer also takes fixed_recipe=K=V,... (nars search --fix-recipe)")
    if entry.kind == "predictor":
        print(
            f"  nars and bananas take it: -O predictor={entry.name} -O predictor.NAME=VALUE "
            f"(nars compare: nars(predictor={entry.name};predictor.NAME=VALUE)); "
            f"nars predictor-eval --predictors {entry.name}"
        )
    return 0


def cmd_plugins() -> int:
    """Print every plugin, its version, hooks, registrations and commands."""
    commands = plugin_commands(reserved=_CORE_COMMANDS)
    for info in get_registry().plugins.values():
        print(f"{info.name} {info.version} ({info.status})")
        if info.status != "active" and info.hint:
            print(f"  fix: {info.hint}")
        if info.hooks:
            print(f"  hooks: {', '.join(info.hooks)}")
        if info.registered:
            print(f"  registered: {', '.join(info.registered)}")
        added = [name for name, command in commands.items() if command.plugin == info.name]
        if added:
            print(f"  commands: {', '.join(added)}")
    return 0


def format_value(value: Any) -> str:
    """A metric as the commands print it (floats to 10 significant digits)."""
    return format(value, ".10g") if isinstance(value, float) else str(value)


def cmd_query(args: argparse.Namespace) -> int:
    """Look up one candidate and print its metrics."""
    bench = benchmark_from_args(args)
    cand = bench.space.candidate(args.arch, parse_key_values(args.recipe, "--recipe"))
    result = bench.evaluate(cand, args.fidelity)
    if args.json:
        print(json.dumps({"candidate": cand.to_dict(), **result.to_dict()}, indent=2))
        return 0 if result.ok else 1
    print(f"arch: {bench.space.format_arch(cand)}")
    if cand.recipe:
        print("recipe: " + ", ".join(f"{k}={v}" for k, v in cand.recipe.items()))
    if not result.ok:
        print(f"failed: {result.error}")
        return 1
    for name, value in sorted(result.metrics.items()):
        print(f"{name}: {format_value(value)}")
    print(f"cost: {format_value(result.cost)} GPU-seconds")
    if result.curve is not None:
        print(f"curve: {len(result.curve)} epochs, last {format_value(result.curve[-1])}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Run or resume a search and print its best candidate."""
    from .api import create_study

    settings = parse_key_values(args.opt, "--opt")
    get_registry().parse_settings("optimizer", args.optimizer, settings)  # fail fast, before loading data
    target: Any
    identity: dict[str, Any] = {}
    options = None
    if args.evaluator:
        target = make_evaluator(args, checkpoints=str(Path(args.out) / "checkpoints"))
        identity = {"evaluator_spec": args.evaluator, "space": target.space.name}
    else:
        target, options = args.benchmark, benchmark_options(args)
    study = create_study(
        target,
        args.optimizer,
        budget=args.budget,
        budget_seconds=args.budget_seconds,
        seed=args.seed,
        constraints=args.constraint or [],
        storage=args.out,
        settings=settings,
        options=options,
        fixed_recipe=args.fix_recipe,
        eval_timeout=_eval_timeout(args.eval_timeout),
        progress=False if args.no_progress else None,
        identity=identity,
    )
    try:
        result = study.optimize()
    finally:
        study.evaluator.close()
    summary = study.summary(result)
    best = summary["best"]
    print(f"evaluations: {result.n_evaluations} ({result.replayed} replayed from the journal)")
    failures = Counter(t.result.error or t.result.status for t in study.trials if t.result and not t.result.ok)
    if failures:
        shown = failures.most_common(2)
        reasons = "; ".join((f"{n} x " if n > 1 else "") + reason[:200] for reason, n in shown)
        more = f"; and {len(failures) - len(shown)} other error(s)" if len(failures) > len(shown) else ""
        print(
            f"warning: {sum(failures.values())} of {result.n_evaluations} evaluations failed: {reasons}{more} "
            f"(every error is in {args.out}/journal.jsonl)",
            file=sys.stderr,
        )
    if best is None:
        print("no successful evaluation")
        return 1
    print(f"best arch: {best['arch']}")
    if best["candidate"]["recipe"]:
        print("best recipe: " + ", ".join(f"{k}={v}" for k, v in best["candidate"]["recipe"].items()))
    print(f"{summary['objective']}: {format_value(best['objective'])}")
    if summary["report_metric"] != summary["objective"] and best["report"] is not None:
        print(f"{summary['report_metric']}: {format_value(best['report'])}")
    if not math.isnan(result.total_cost) and result.total_cost:
        print(f"simulated cost: {format_value(result.total_cost)} GPU-seconds")
    print(f"results: {args.out}/summary.json")
    return 0


def _eval_timeout(value: float | None) -> float | None:
    if value is not None and not (0 < value < math.inf):
        raise ConfigError(f"--eval-timeout {value:g} is not a positive number of seconds", "e.g. --eval-timeout 600")
    return value


def cmd_compare(args: argparse.Namespace) -> int:
    """Run a comparison and print its Markdown table."""
    from .assembly import evaluator_target
    from .comparison import compare, markdown, split_optimizers

    if args.evaluator:
        options = parse_key_values(args.eval_opt, "--eval-opt")
        if args.dataset is not None:
            options["dataset"] = args.dataset
        space_options = parse_key_values(args.space_option, "--space-option")
        target, target_options = evaluator_target(args.evaluator, args.space, space_options, options)
    else:
        for flag, given in (("--space", args.space), ("--dataset", args.dataset), ("--eval-opt", args.eval_opt)):
            if given:
                raise ConfigError(f"{flag} belongs to an evaluator", f"add --evaluator NAME (train) or drop {flag}")
        target, target_options = args.benchmark, benchmark_options(args)
    summary = compare(
        target,
        split_optimizers(args.optimizers),
        seeds=args.seeds,
        budget=args.budget if args.budget is not None or args.budget_seconds is not None else 100,
        budget_seconds=args.budget_seconds,
        out=args.out,
        bench_options=target_options,
        constraints=args.constraint or [],
        workers=args.workers,
        reference=args.reference,
        progress=False if args.no_progress else None,
        executor=args.executor,
        address=args.address,
        first_seed=args.first_seed,
    )
    print(markdown(summary))
    plot = "regret.png" if summary["optimum"] is not None and math.isfinite(summary["optimum"]) else "best.png"
    print(f"results: {args.out}/summary.json, summary.md, details.json, {plot}")
    return 0


def cmd_suite(args: argparse.Namespace) -> int:
    """Run a suite (or list it) and print its leaderboard."""
    from .comparison import split_optimizers
    from .comparison import suite as suite_module
    from .comparison.leaderboard import markdown as leaderboard_markdown

    entries = suite_module.resolve(args.suite, [x.strip() for x in (args.only or "").split(",") if x.strip()])
    if args.list:
        for e in entries:
            budget = f"{e.budget} queries" if e.budget is not None else f"{e.budget_seconds:g} s"
            extra = "".join(f" -B {k}={v}" for k, v in e.options.items()) + "".join(f" -c '{c}'" for c in e.constraints)
            print(f"{e.label}: {e.benchmark}{extra}, {budget}")
        return 0
    if not args.out:
        raise ConfigError("nars suite needs --out FOLDER", "e.g. --out runs/suite (or --list to see the benchmarks)")
    if args.merge and not args.leaderboard_only:
        raise ConfigError(
            "nars suite --merge joins finished comparisons to a leaderboard and runs nothing",
            "add --leaderboard-only (run the method to merge with `nars suite --out OTHER` first)",
        )
    if args.leaderboard_only:
        board = suite_module.rebuild_leaderboard(entries, args.out, args.merge)
    else:
        board = suite_module.run_suite(
            entries,
            split_optimizers(args.optimizers),
            args.seeds,
            args.out,
            args.workers,
            False if args.no_progress else None,
            executor=args.executor,
            address=args.address,
            first_seed=args.first_seed,
        )
    print(leaderboard_markdown(board))
    written = ["leaderboard.json", "leaderboard.md", "rank-vs-budget.png"]
    written += [f"cd-{f.rstrip('%')}.png" for f, test in board["tests"].items() if "skipped" not in test]
    print(f"results: {args.out}/" + ", ".join(written))
    return 0


def cmd_predictor_eval(args: argparse.Namespace) -> int:
    """Evaluate the predictor and print its table."""
    from .predictors import evaluation as predictor_eval

    try:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--sizes {args.sizes!r} is not a comma list of integers", "e.g. --sizes 8,16,32") from None
    if not sizes or min(sizes) < 2:
        raise ConfigError("--sizes needs integers >= 2", "e.g. --sizes 8,16,32")
    predictor_eval.variants(args.predictors)  # a bad spec fails before the benchmark loads
    bench = benchmark_from_args(args)
    report = predictor_eval.run(
        bench, args.out, sizes, args.seeds, args.test_size, None if not args.no_progress else False, args.predictors
    )
    print(predictor_eval.markdown(report))
    print(f"results: {args.out}/predictor.json, {args.out}/predictor.md, {args.out}/predictor.png")
    return 0


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser``, by name."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def _unknown_command(commands: Sequence[str], argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` when it is no command (argparse before 3.14 suggests nothing)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word is not None and word not in commands else None


def cmd_plot(args: argparse.Namespace) -> int:
    """Write the plots of one search folder and print their paths."""
    from .study import require_extra
    from .visualization import plot_all

    require_extra("matplotlib", "plot", "nars plot").use("Agg")  # files only, whatever the display

    for name, outcome in plot_all(args.folder, args.out or args.folder, args.metric).items():
        print(outcome if isinstance(outcome, Path) else f"no {name}: {outcome}")
    return 0


def cmd_export_optuna(args: argparse.Namespace) -> int:
    """Export one search folder to an Optuna storage."""
    from .optuna_export import export_optuna

    study = export_optuna(args.folder, args.storage, args.study_name, replace=args.replace)
    print(f"{len(study.trials)} trials -> Optuna study {study.study_name!r} in {args.storage}")
    print(f"view: optuna-dashboard {args.storage}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nars`` console script."""
    from .plugins import _did_you_mean

    argv = list(sys.argv[1:] if argv is None else argv)
    word = next((a for a in argv if not a.startswith("-")), None)
    core = word in _CORE_COMMANDS or (word is None and "--version" in argv)
    try:  # the plugins' commands are loaded unless a core command is run (a broken plugin is an error)
        parser = build_parser({} if core else None)
    except NarsError as exc:
        return _print_error(exc)
    commands = list(_commands(parser))
    unknown = _unknown_command(commands, argv)
    if unknown is not None:
        print(f"error: unknown command {unknown!r}{_did_you_mean(unknown, commands)}", file=sys.stderr)
        print("  hint: `nars --help` lists the commands", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    try:
        with command_line_wording(), warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _run(args)
    except NarsError as exc:
        return _print_error(exc)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from the journal", file=sys.stderr)
        return 130


def _print_error(exc: NarsError) -> int:
    """``error: MESSAGE`` and ``  hint: HINT`` on stderr; the exit status of bad input."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {exc.hint}", file=sys.stderr)
    return EXIT_USAGE


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """A warning as ``warning: <message>`` on stderr (no file name, line or source line)."""
    print(f"warning: {message}", file=sys.stderr)


#: The core's commands that take the parsed arguments, by name (the listing commands are dispatched in
#: :func:`_run`; the plugins' commands come from :func:`nars_plugin.plugins.plugin_commands`).
_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "query": cmd_query,
    "search": cmd_search,
    "compare": cmd_compare,
    "suite": cmd_suite,
    "predictor-eval": cmd_predictor_eval,
    "plot": cmd_plot,
    "export-optuna": cmd_export_optuna,
}
_LISTINGS = ("spaces", "benchmarks", "optimizers", "predictors", "evaluators")
#: Every name the core's commands use: a plugin may not add a command of these names.
_CORE_COMMANDS = (*_LISTINGS, "plugins", *_COMMANDS)


#: Functions of earlier releases that became plugins' commands: old name -> command name.
_MOVED_COMMANDS = {"cmd_train": "train", "cmd_naslib": "naslib", "cmd_hebo": "hebo"}


def __getattr__(name: str) -> Any:
    """``cmd_train``, ``cmd_naslib`` and ``cmd_hebo`` of earlier releases, with a DeprecationWarning: the
    ``run`` of the plugin command that replaced each (found through the plugin host, not imported)."""
    if name not in _MOVED_COMMANDS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    commands = plugin_commands(reserved=_CORE_COMMANDS)
    command = commands.get(_MOVED_COMMANDS[name])
    if command is None:
        raise AttributeError(f"{__name__}.{name} became a plugin's command, and that plugin is blocked here")
    warnings.warn(
        f"{__name__}.{name} is now the command {command.name!r} of plugin {command.plugin!r}; the old name works "
        f"until the next release: run main([{command.name!r}, ...])",
        DeprecationWarning,
        stacklevel=2,
    )
    return command.run


def _run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names (a plugin's through the same error handling as the core's)."""
    if args.command in _LISTINGS:
        return cmd_list(args.command[:-1], args.pattern)
    if args.command == "plugins":
        return cmd_plugins()
    plugin_command: Command | None = getattr(args, "plugin_command", None)
    if plugin_command is not None:
        return plugin_command.run(args)
    command = _COMMANDS.get(args.command)
    return command(args) if command is not None else EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
