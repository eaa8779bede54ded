"""Zero-cost proxies computed on the real NB201 networks: against the published values, cached on
disk across processes, offered as free statistics and constraints of NB201 spaces."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import data_root

from nars_plugin.errors import ConfigError
from nars_plugin.spaces.nb201 import NB201Space
from nars_plugin.spaces.nb201._proxies import PROXIES, ProxyCache, nb201_proxy, parse_proxies

CURVES = data_root() / "nb201" / "curves_c10valid_200ep_first200.csv"
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_proxies_are_seeded_and_finite():
    for name in PROXIES:
        first, again = nb201_proxy(BEST, name), nb201_proxy(BEST, name)
        assert first == again and np.isfinite(first), name
    assert nb201_proxy(BEST, "jacob_cov", seed=1) != nb201_proxy(BEST, "jacob_cov", seed=0)
    # a cell whose edges are all `none` passes no signal from input to output: its synflow is far lower
    assert nb201_proxy(EMPTY, "synflow") < nb201_proxy(BEST, "synflow") - 3


def test_unknown_proxy_names_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown zero-cost proxy 'synflw'") as info:
        parse_proxies("synflow,synflw")
    assert "synflow, jacob_cov" in info.value.hint
    assert parse_proxies("all") == PROXIES and parse_proxies(None) == () and parse_proxies("synflow") == ("synflow",)
    with pytest.raises(ConfigError, match="synflw"):
        NB201Space(zero_cost="synflw")
    with pytest.raises(ConfigError, match="unknown zero-cost proxy 'all'") as info:
        nb201_proxy(BEST, "all")  # one proxy per computation and cache file
    assert "choose one of synflow, jacob_cov" in info.value.hint
    with pytest.raises(ConfigError, match="unknown zero-cost proxy 'all'"):
        ProxyCache("a space", "all")


@pytest.mark.skipif(not CURVES.is_file(), reason=f"{CURVES} is absent (NARS_DATA_DIR)")
def test_synflow_matches_the_published_values():
    """Our synflow on the first 24 cells of the published table ranks them as the published one does."""
    from scipy.stats import spearmanr

    with CURVES.open() as f:
        rows = [r for _, r in zip(range(24), csv.DictReader(f))]
    ours = [nb201_proxy(r["arch"], "synflow") for r in rows]
    published = np.array([float(r["synflow"]) for r in rows])
    assert spearmanr(ours, published).statistic > 0.97
    # the same scores up to one constant factor for most cells (ours also counts the BatchNorm parameters)
    nonzero = published > 0
    offset = np.array(ours)[nonzero] - np.log10(published[nonzero])
    assert np.median(np.abs(offset - np.median(offset))) < 0.1, offset


def test_cache_is_computed_once_and_read_by_another_process(tmp_path, monkeypatch):
    monkeypatch.setenv("NARS_CACHE_DIR", str(tmp_path))
    space = NB201Space(zero_cost="synflow")
    assert space.statistic_names == ("flops", "params", "synflow")
    cands = space.sample(6, seed=0)
    first = space.statistics(cands)["synflow"]
    files = list((tmp_path / "proxies").glob("synflow-*.json"))
    assert len(files) == 1 and len(json.loads(files[0].read_text())["scores"]) == len({c.key for c in cands})
    # another process reads the file and computes nothing (its compute function would fail)
    script = (
        "import nars_plugin.spaces.nb201._proxies as p\n"
        "p.nb201_proxy = lambda *a, **k: (_ for _ in ()).throw(SystemExit('recomputed'))\n"
        "from nars_plugin.spaces.nb201 import NB201Space\n"
        "s = NB201Space(zero_cost='synflow')\n"
        "print(s.statistics(s.sample(6, seed=0))['synflow'].tolist())\n"
    )
    env = {**os.environ, "NARS_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == list(first)


def test_a_damaged_cache_file_is_recomputed(tmp_path):
    cache = ProxyCache("test space", "synflow", folder=tmp_path)
    cache.get(["a", "b"], lambda key: float(len(key)))
    cache.path.write_text("{not json")
    again = ProxyCache("test space", "synflow", folder=tmp_path)
    assert list(again.get(["a", "b"], lambda key: 7.0)) == [7.0, 7.0]
    other = ProxyCache("another space", "synflow", folder=tmp_path)
    assert other.path != cache.path


def test_proxies_are_constraints_on_any_nb201_space(tmp_path, monkeypatch):
    monkeypatch.setenv("NARS_CACHE_DIR", str(tmp_path))
    space = NB201Space()
    assert "synflow" not in space.statistic_names
    cands = space.sample(8, seed=1)
    values = space.statistics_for(cands, ["synflow"])["synflow"]
    threshold = float(np.median(values))
    mask = space.feasible(cands, [f"synflow >= {threshold}"])
    assert list(mask) == [bool(v >= threshold) for v in values] and 0 < mask.sum() < len(cands)


def test_benchmarks_of_nb201_cells_take_zero_cost(tmp_path, monkeypatch):
    from nars_plugin.plugins import get_registry

    monkeypatch.setenv("NARS_CACHE_DIR", str(tmp_path))
    bench = get_registry().create_benchmark("nb201-analog", zero_cost="synflow")
    assert bench.space.statistic_names == ("flops", "params", "synflow")
    cands = bench.rows[:2]
    assert np.all(np.isfinite(bench.space.statistics(cands)["synflow"]))
    assert "synflow" not in get_registry().create_benchmark("nb201-analog").space.statistic_names
    with pytest.raises(ConfigError, match="unknown zero-cost proxy 'flops'"):
        get_registry().create_benchmark("nb201-analog", zero_cost="flops")
