"""The command line's defaults: every ``--help`` states them, ``nars search`` searches with NARS, and a
mistyped command gets a suggestion."""

from __future__ import annotations

import argparse

from conftest import run_cli

from nars_plugin.cli import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_help_states_every_default():
    parser = build_parser()
    missing = []
    for command, sub in {"": parser, **_subparsers(parser)}.items():
        formatter = sub._get_formatter()
        for action in sub._actions:
            if action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
                continue
            text = formatter._expand_help(action) if action.help else ""
            shown = action.default if isinstance(action.default, str) else str(action.default)
            if "default" not in text or shown not in text:
                missing.append(f"nars {command} {action.option_strings or action.dest}: {text!r}")
        assert "%(default)" not in sub.format_help()
    assert not missing, missing


def test_search_help_names_nars_as_the_default_optimizer(tmp_path):
    rc, out, err = run_cli(["search", "--help"], cwd=tmp_path)
    assert rc == 0, err
    assert "(default: nars" in " ".join(out.split())
    assert build_parser().parse_args(["search", "--out", "x"]).optimizer == "nars"


def test_a_mistyped_command_gets_a_suggestion(tmp_path):
    rc, out, err = run_cli(["serach", "--budget", "3"], cwd=tmp_path)
    assert rc == 2
    assert "error: unknown command 'serach' (did you mean 'search'?)" in err
    assert "nars --help" in err and "Traceback" not in err + out
    rc, out, err = run_cli(["bogus"], cwd=tmp_path)
    assert rc == 2 and "unknown command 'bogus'" in err and "did you mean" not in err
