#!/usr/bin/env bash
# The distribution as a user gets it: build the sdist and the wheel, check their metadata, install
# the wheel (not editable) into a fresh environment outside the checkout, and from a folder outside
# the checkout run a short search with the default optimizer on the core alone (no extras), then
# with the extras import every module of nars_plugin, nars_naslib and nars_imagenet and list the
# plugins. .ci/run calls it; run it alone with
#
#     bash .ci/wheel_check.sh
#
# PYTHON: the interpreter that builds (it needs the dev extra's build and twine; default .venv/bin/python).
# BASE_PYTHON: the interpreter the fresh environment is made from (default python3).
# NARS_WHEEL_EXTRAS: extras installed with the wheel (default imagenet,testing: nars_imagenet's
# training modules import timm and torchvision, nars_plugin.testing imports pytest; empty: the core
# alone, and then those modules fail to import).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
python=${PYTHON:-.venv/bin/python}
base_python=${BASE_PYTHON:-python3}
extras=${NARS_WHEEL_EXTRAS-imagenet,testing}

work=$(mktemp -d "${TMPDIR:-/tmp}/nars-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

echo "::: wheel check: python -m build (sdist, then the wheel from the sdist) into $work/dist"
"$python" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
"$python" -m twine check --strict "$work"/dist/*
wheel=$(ls "$work"/dist/*.whl)

echo "::: wheel check: a fresh environment ($work/venv), torch first, then $(basename "$wheel")${extras:+[$extras]}"
"$base_python" -m venv "$work/venv"
pip=("$work/venv/bin/pip" install -q --no-input)
# torch first, as the README says (the pinned pair of its test command where torchvision comes too:
# PyPI's torchvision needs its matching torch)
torch=(torch==2.14.1)
[[ $extras == *imagenet* ]] && torch+=(torchvision==0.29.1)
"${pip[@]}" "${torch[@]}"

# everything below runs outside the checkout, so only the installed wheel can be imported
mkdir "$work/run"
cd "$work/run"

# first the core alone, as `pip install nars-plugin` gives it: the default search must run without any extra
"${pip[@]}" "$wheel"
echo "::: wheel check: the core alone (no extras): nars search -b nb201-analog --budget 30 (the default optimizer; an empty cache, so it pretrains)"
"$work/venv/bin/python" -c 'import importlib.util, sys
extra = [m for m in ("sklearn", "timm", "optuna") if importlib.util.find_spec(m)]
sys.exit(f"the core install brought {extra}, which only extras should" if extra else None)'
NARS_CACHE_DIR="$work/cache" "$work/venv/bin/nars" search -b nb201-analog --budget 30 --no-progress --out "$work/run/search"
test -s "$work/run/search/trajectory.csv"
"$work/venv/bin/python" -c 'import json, sys
name = json.load(open(sys.argv[1]))["config"]["optimizer"]["name"]
sys.exit(None if name == "nars" else f"nars search ran {name!r} by default, not nars")' "$work/run/search/summary.json"

echo "::: wheel check: with the extras${extras:+ [$extras]}"
"${pip[@]}" "$wheel${extras:+[$extras]}"
echo "::: wheel check: import every module of the installed packages"
"$work/venv/bin/python" - "$checkout" <<'EOF'
import importlib
import pkgutil
import sys
from pathlib import Path

checkout = Path(sys.argv[1]).resolve()
# These subclass NASLib's own classes, so importing them imports NASLib (an optional library that
# `nars naslib install` builds an environment for); without it they must fail with the bridge's
# clear error, nothing else. Every other module imports its optional libraries lazily.
NEEDS_NASLIB = {"nars_naslib.optimizer", "nars_naslib.predictor"}
failures, count = [], 0
for top in ("nars_plugin", "nars_naslib", "nars_imagenet"):
    package = importlib.import_module(top)
    for info in [None, *pkgutil.walk_packages(package.__path__, top + ".")]:
        name = top if info is None else info.name
        try:
            module = importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - each failure is reported, then the check fails
            if name in NEEDS_NASLIB and type(error).__name__ == "NASLibMissingError":
                print(f"  {name}: needs NASLib (absent here), refused with the bridge's error as it should")
                continue
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        count += 1
        if checkout in Path(module.__file__).resolve().parents:
            failures.append(f"{name} was imported from the checkout ({module.__file__}), not the installed wheel")
print(f"  {count} modules imported from the installed wheel")
if failures:
    sys.exit("modules that do not import from the wheel:\n  " + "\n  ".join(failures))
EOF
echo "::: wheel check: nars plugins"
"$work/venv/bin/nars" plugins
echo "::: wheel check passed in $((SECONDS - started)) s"
