"""nars_plugin.visualization and ``nars plot``: the plots draw the search's own numbers, from a study,
from a search read back or from its folder, and save PNGs where asked."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest
from conftest import build_tiny_bench
from test_conveniences import Alternating, curve_bench

import nars_plugin
from nars_plugin import visualization
from nars_plugin.errors import ConfigError

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


def tiny_study(tmp_path, constraints=(), budget=20):
    study = nars_plugin.create_study(
        build_tiny_bench(),
        "rea",
        budget=budget,
        seed=0,
        constraints=list(constraints),
        storage=tmp_path / "run",
        progress=False,
    )
    study.optimize()
    return study


def test_history_draws_every_trial_and_the_best_so_far_from_a_study_a_record_and_a_folder(tmp_path):
    study = tiny_study(tmp_path)
    values = [t.result.metrics["acc"] for t in study.trials]
    for source in (study, nars_plugin.load_study(tmp_path / "run"), tmp_path / "run", str(tmp_path / "run")):
        ax = visualization.plot_optimization_history(source)
        points = ax.collections[0].get_offsets()
        assert points[:, 0].tolist() == list(range(1, 21)) and points[:, 1].tolist() == values
        (best,) = [line for line in ax.get_lines() if line.get_label() == "best so far"]
        assert best.get_ydata().tolist() == np.maximum.accumulate(values).tolist()
        assert ax.get_ylabel() == "acc" and ax.get_xlabel() == "trial"
        assert "rea on tiny, seed 0" in ax.get_title()
    path = tmp_path / "history.png"
    visualization.plot_optimization_history(study, path=path)
    assert path.read_bytes().startswith(PNG)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # written atomically


def test_history_marks_failed_and_stopped_early_trials(tmp_path):
    study = nars_plugin.create_study(curve_bench(), Alternating, budget=16, seed=3, progress=False)
    study.optimize()
    ax = visualization.plot_optimization_history(study)
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    failed = sum(not t.result.ok for t in study.trials)
    assert "stopped early (fewer epochs)" in labels and f"failed ({failed})" in labels
    (best,) = [line for line in ax.get_lines() if line.get_label() == "best so far"]
    assert best.get_ydata()[-1] == study.best_value  # only full-fidelity trials count for the best


def test_pareto_front_marks_the_feasible_front_and_the_bound(tmp_path):
    study = tiny_study(tmp_path, constraints=["flops <= 8"], budget=30)
    assert visualization.resource_metric(study) == "flops"
    ax = visualization.plot_pareto_front(study)
    flops = study.space.statistics([t.candidate for t in study.trials])["flops"]
    acc = np.array([t.result.metrics["acc"] for t in study.trials])
    feasible = flops <= 8
    by_label = {c.get_label(): c.get_offsets() for c in ax.collections}
    shown = by_label["trial meeting the constraints"]
    assert sorted(map(tuple, shown.tolist())) == sorted(zip(flops[feasible].tolist(), acc[feasible].tolist()))
    if (~feasible).any():
        assert len(by_label["trial breaking a constraint"]) == (~feasible).sum()
    front = by_label["Pareto front"]
    for x, y in front:  # nothing feasible dominates a front point
        assert not np.any((flops[feasible] <= x) & (acc[feasible] >= y) & ((flops[feasible] < x) | (acc[feasible] > y)))
    assert by_label["best"].tolist() == [[flops[feasible][acc[feasible].argmax()], acc[feasible].max()]]
    (bound,) = [line for line in ax.get_lines() if line.get_label() == "flops <= 8"]
    assert bound.get_xdata()[0] == 8 and ax.get_xlabel() == "flops"


def test_pareto_front_of_a_record_reads_statistics_of_the_registered_space(tmp_path):
    study = nars_plugin.create_study(
        "nb201-analog", "rs", budget=12, seed=0, constraints=["flops <= 100M"], storage=tmp_path / "nb"
    )
    study.optimize()
    record = nars_plugin.load_study(tmp_path / "nb")
    flops = study.space.statistics([t.candidate for t in study.trials])["flops"]
    for source in (study, record):
        ax = visualization.plot_pareto_front(source, path=tmp_path / "pareto.png")
        xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections if "trial" in c.get_label()])
        assert sorted(xs.tolist()) == sorted(flops.tolist())
        assert ax.xaxis.get_major_formatter().__class__.__name__ == "EngFormatter"  # 50M, not 0.5 x 1e8
    assert (tmp_path / "pareto.png").read_bytes().startswith(PNG)


def test_pareto_front_errors_name_the_metrics_there_are(tmp_path):
    study = tiny_study(tmp_path)
    with pytest.raises(ConfigError, match="neither the results nor the space give 'latency'") as info:
        visualization.plot_pareto_front(study, "latency")
    assert "acc, loss" in info.value.hint and "flops" in info.value.hint
    record = nars_plugin.load_study(tmp_path / "run")  # the tiny space is not registered: no statistics
    assert record.space is None
    with pytest.raises(ConfigError, match="not registered here"):
        visualization.plot_pareto_front(record, "flops")


def test_slice_has_one_panel_per_parameter_with_every_trial(tmp_path):
    study = tiny_study(tmp_path)
    fig = visualization.plot_slice(study, path=tmp_path / "slice.png")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["op1", "op2", "width", "epochs"]
    for ax in panels:
        assert len(ax.collections[0].get_offsets()) == 20
        assert ax.collections[0].get_offsets()[:, 1].tolist() == [t.result.metrics["acc"] for t in study.trials]
    op1 = panels[0]
    assert [t.get_text() for t in op1.get_xticklabels()] == ["a", "b", "c"]  # the space's order
    assert (tmp_path / "slice.png").read_bytes().startswith(PNG)
    assert [ax.get_title() for ax in visualization.plot_slice(study, ["epochs"]).axes if ax.get_title()] == ["epochs"]
    with pytest.raises(ConfigError, match="no parameter"):
        visualization.plot_slice(study, ["depth"])


def test_intermediate_values_draw_each_learning_curve(tmp_path):
    study = nars_plugin.create_study(curve_bench(), Alternating, budget=16, seed=3, progress=False)
    study.optimize()
    ax = visualization.plot_intermediate_values(study)
    curves = [t.result.curve for t in study.trials if t.result.curve]
    lines = [line for line in ax.get_lines() if line.get_label().startswith("_")]  # one unlabelled line each
    assert [line.get_ydata().tolist() for line in lines] == curves
    assert ax.get_xlabel() == "epoch"
    with pytest.raises(ConfigError, match="no trial has a learning curve"):
        visualization.plot_intermediate_values(tiny_study(tmp_path))


def test_plots_without_matplotlib_or_of_something_else_are_clear_errors(tmp_path, monkeypatch):
    study = tiny_study(tmp_path, budget=3)
    with pytest.raises(ConfigError, match="cannot plot int"):
        visualization.plot_optimization_history(42)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ConfigError, match="needs matplotlib.pyplot") as info:
        visualization.plot_optimization_history(study)
    assert info.value.hint == "pip install 'nars-plugin[plot]'"


def test_nars_plot_writes_the_pngs_of_one_folder(tmp_path, cli):
    study = nars_plugin.create_study(curve_bench(), Alternating, budget=16, seed=3, storage=tmp_path / "run")
    study.optimize()
    code, stdout, stderr = cli(["plot", tmp_path / "run", "--out", tmp_path / "png"])  # pareto: measured latency
    assert code == 0, stderr
    names = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert names == ["history.png", "intermediate.png", "pareto.png", "slice.png"]
    assert stdout.split() == [str(tmp_path / "png" / n) for n in ("pareto.png", "history.png", "slice.png")] + [
        str(tmp_path / "png" / "intermediate.png")
    ]
    assert all((tmp_path / "png" / n).read_bytes().startswith(PNG) for n in names)
    code, _, stderr = cli(["plot", tmp_path / "run", "--metric", "bogus"])
    assert code == 2 and "neither the results nor the space give 'bogus'" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "run" / "history.png").exists()  # a bad metric fails before any file is written
    code, _, stderr = cli(["plot", tmp_path / "nothing"])
    assert code == 2 and "no search journal" in stderr
    tiny_study(tmp_path / "plain", budget=5)  # no curves, no resource metric: those two are said, not drawn
    code, stdout, stderr = cli(["plot", tmp_path / "plain" / "run"])
    assert code == 0, stderr
    assert "no intermediate.png: no trial has a learning curve" in stdout
    assert "no pareto.png: no resource metric" in stdout
    assert sorted(p.name for p in (tmp_path / "plain" / "run").glob("*.png")) == ["history.png", "slice.png"]
