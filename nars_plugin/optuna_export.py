"""Export a search to an Optuna storage, so Optuna's own tools read it (``optuna.load_study``,
optuna-dashboard, ``optuna.visualization``).

::

    import nars_plugin

    nars_plugin.export_optuna("runs/demo", storage="sqlite:///demo.db")   # or a Study / load_study record
    # optuna-dashboard sqlite:///demo.db      or      optuna.load_study(study_name="demo", storage=...)

Every journaled evaluation becomes one finished Optuna trial, in journal order:

* ``params``: the value of every parameter of the space, architecture then recipe (an NB201 search
  gives ``edge_1_0`` ... ``edge_3_2`` and ``training``), each with its parameter's distribution where
  the space is known (categorical, integer or float), else a categorical over the values evaluated:
  what an Optuna sampler would have drawn, so Optuna's slice and importance plots work per choice;
* ``value``: the objective (the study maximises it);
* ``state``: COMPLETE, FAIL, or PRUNED for an evaluation stopped early at a reduced fidelity;
* ``user_attrs``: ``arch`` (the architecture as its space writes it, the search's ``best_params["arch"]``),
  every metric, the cost (GPU-seconds), the fidelity, the candidate's JSON form (``candidate``) and,
  for a failed evaluation, the error; ``intermediate_values``: the learning curve (epoch -> objective)
  where the result has one.

So ``optuna.load_study(...).best_value`` equals the search's ``best_value``, its ``best_params`` are the
best candidate's architecture and recipe values and its best trial's ``user_attrs["arch"]`` the
search's ``best_arch``. (The architecture is not exported as one string parameter: an Optuna
categorical stores its choices with every trial, which grows with the square of the evaluations.)
Needs Optuna (extra ``optuna``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .api import StudyRecord, load_study
from .errors import ConfigError
from .optimizers.optuna_tpe import distribution
from .parameters import Categorical, Value
from .study import COMPLETE, FAIL, Study, Trial, require_extra, trial_value

__all__ = ["default_study_name", "export_optuna"]


def default_study_name(source: Study | StudyRecord) -> str:
    """``<optimizer>-<benchmark>-seed<k>``, the name an export gets unless one is given."""
    optimizer, bench, seed = source.describe()
    return f"{optimizer}-{Path(bench).name}-seed{seed}"


def export_optuna(
    source: Study | StudyRecord | str | os.PathLike[str],
    storage: Any,
    study_name: str | None = None,
    *,
    replace: bool = False,
) -> Any:
    """Write a search into an Optuna storage as one Optuna study (one trial per evaluation, see the
    module's docstring); returns that ``optuna.Study``.

    Args:
        source: a :class:`~nars_plugin.study.Study`, a search read back by
            :func:`~nars_plugin.load_study`, or the search's folder.
        storage: an Optuna storage URL (``"sqlite:///runs/demo.db"``) or storage object.
        study_name: the Optuna study's name (default :func:`default_study_name`).
        replace: delete a study of that name in the storage first (an export of the search so
            far, made again after it went on); without it an existing name is an error.
    """
    optuna = require_extra("optuna", "optuna", "export_optuna()")
    if isinstance(source, (str, os.PathLike)):
        source = load_study(source)
    name = study_name or default_study_name(source)
    url = storage
    if isinstance(storage, str):
        try:
            storage = optuna.storages.get_storage(storage)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors for a bad URL or an unwritable file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot open the Optuna storage {url!r}: {first}",
                "give a database URL such as sqlite:///runs/demo.db, in a folder that exists and is writable",
            ) from None
    known = {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    if name in known:
        if not replace:
            raise ConfigError(
                f"the Optuna storage {url!r} already has a study named {name!r}",
                "choose another study name, or replace it (replace=True / nars export-optuna --replace)",
            )
        optuna.delete_study(study_name=name, storage=storage)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line; restored below
    try:
        target = optuna.create_study(storage=storage, study_name=name, direction="maximize")
        target.set_user_attr("nars_objective", source.objective_name)
        target.add_trials(_frozen_trials(source, optuna))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return target


def _frozen_trials(source: Study | StudyRecord, optuna: Any) -> list[Any]:
    trials = source.trials
    distributions = _distributions(source, trials, optuna)
    objective = source.objective_name
    states = {COMPLETE: optuna.trial.TrialState.COMPLETE, FAIL: optuna.trial.TrialState.FAIL}
    frozen = []
    for trial in trials:
        result = trial.result
        if result is None:  # asked, never told: nothing to export
            continue
        state = source.trial_state(trial)
        value = trial_value(trial, objective)
        if state == COMPLETE and value != value:  # an ok result without the objective is no completed trial
            state = FAIL
        user_attrs: dict[str, Any] = {
            "arch": trial.candidate.arch_text,
            **result.metrics,
            "cost": result.cost,
            "fidelity": result.fidelity if result.fidelity is not None else trial.fidelity,
            "candidate": trial.candidate.to_dict(),
        }
        if result.error:
            user_attrs["error"] = result.error
        frozen.append(
            optuna.trial.create_trial(
                state=states.get(state, optuna.trial.TrialState.PRUNED),
                value=value if state == COMPLETE else None,
                params=values_of(trial),
                distributions=distributions,
                user_attrs=user_attrs,
                intermediate_values={epoch: v for epoch, v in enumerate(result.curve or [], start=1)},
            )
        )
    return frozen


def values_of(trial: Trial) -> dict[str, Value]:
    """Every parameter's value of a trial's candidate, architecture then recipe."""
    return {**trial.candidate.arch, **trial.candidate.recipe}


def _distributions(source: Study | StudyRecord, trials: list[Trial], optuna: Any) -> dict[str, Any]:
    """One distribution per parameter name, shared by every trial (Optuna requires that)."""
    seen: dict[str, dict[str, Value]] = {}
    for trial in trials:
        for name, value in values_of(trial).items():
            seen.setdefault(name, {}).setdefault(repr(value), value)
    space = source.space
    declared: Mapping[str, Any] = {p.name: p for p in space.params} if space is not None else {}
    out = {}
    for name, values in seen.items():
        param = declared.get(name)
        if param is None:
            out[name] = optuna.distributions.CategoricalDistribution(list(values.values()))
        elif isinstance(param, Categorical):  # Ordinal too: its values, not the positions optuna-tpe samples
            out[name] = optuna.distributions.CategoricalDistribution(list(param.choices))
        else:
            out[name] = distribution(param, optuna)
    return out
