"""Hardware-aware one-shot search on the FBNetV3 spaces: ProxylessNAS and Single-Path NAS.

Both search the per-stage architecture choices of ``fbnetv3`` / ``fbnetv3-tiny`` (depthwise kernel,
expansion and depth of every stage) in a supernet whose macro (input resolution, stem and stage
widths) is held fixed (the setting ``macro``; by default each parameter's default value). Both are
written here from the papers:

* **ProxylessNAS** (Cai, Zhu and Han, ICLR 2019): every stage has one architecture parameter per
  *path* (a kernel, expansion and depth); each path has weights of its own. A weight step samples
  one path per stage from ``softmax(alpha)`` (binarized path: only it runs) and trains its weights
  on the weight split; an architecture step samples two paths per stage, runs both, and estimates
  the gradient of ``alpha`` from the gradients of the binary gates (the paper's two-path
  approximation; afterwards the two sampled entries are shifted so the other paths' probabilities
  stay as they were). The loss is ``CE + latency_weight * E[latency] / target`` with the expected
  latency ``sum_s softmax(alpha_s) . latency_s`` from the per-device model (paper eq. 4, the
  latency made unitless by the constraint's bound).
* **Single-Path NAS** (Stamoulis et al., ECML-PKDD 2019): every block is one superkernel (the
  largest kernel, whose centre is the smaller kernel; the largest expansion, whose first channels
  are the smaller expansions). Whether the outer kernel ring, each further channel group and each
  optional block are used is decided by comparing the mean squared weight of that part (over the
  stage's blocks: the choices are per stage) with a trainable threshold; the indicator is hard in
  the forward pass and its sigmoid relaxation gives the gradient. Weights and thresholds train
  together on one loss ``CE + latency_weight * log(latency)``, the latency a differentiable function
  of the indicators (the paper's form). Without a separate architecture split, all the training
  images train the supernet.

The supernet trains on the ``train`` evaluator's training images (never its validation or test
images), whole epochs until ``supernet_share`` of the comparison's seconds budget is spent (at most
``epochs``). The derived architecture (argmax of ``alpha``; the indicators) is then *projected* onto
the comparison's constraints: while it breaks one, the stage whose next cheaper path loses the least
score (log-probability; for Single-Path NAS the log-likelihood of the indicators) per millisecond
saved is switched. It is trained from scratch by the evaluator with the run's fixed recipe (the
space's defaults for recipe values not fixed), like every other candidate; the run's cost is the
supernet's seconds plus that training.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from nars_plugin._keyvalue import parse_key_values
from nars_plugin.comparison.tasks import derived_answer
from nars_plugin.constraints import parse_constraints
from nars_plugin.errors import ConfigError
from nars_plugin.settings import parse
from nars_plugin.space import Candidate

from .latency import DEVICE_COEFFICIENTS, layers_latency, network_latency, network_layers
from .model import ACT, build_model
from .oneshot_settings import METHODS, OneShotSettings, ProxylessSettings, SinglePathSettings
from .space import FBNetV3Space

if TYPE_CHECKING:
    from nars_plugin.comparison.tasks import RunTask

#: A path of one stage: (kernel, expansion, repeats).
Path_ = tuple[int, int, int]
RESULT_NAME = "oneshot_run.json"
#: Single-Path NAS thresholds start this far (in log mean-squared weight) below each part's initial
#: statistic: every part starts on (the whole superkernel), as in the paper, and can turn off within
#: a few epochs of a seconds budget.
THRESHOLD_MARGIN = 0.25


# --------------------------------------------------------------------------- #
# The searched part of the space
# --------------------------------------------------------------------------- #


def _values(space: FBNetV3Space, name: str, fixed: Any) -> list[int]:
    """The values of an Integer architecture parameter, or ``[fixed]`` where the stage fixes it."""
    if isinstance(fixed, int):
        return [fixed]
    param = space.param(name)
    return list(range(int(param.low), int(param.high) + 1, int(param.step)))  # type: ignore[attr-defined]


class StageChoices:
    """The per-stage choices of a space around a fixed macro, with per-block latencies."""

    def __init__(self, space: FBNetV3Space, macro: Mapping[str, Any], device: str | None) -> None:
        self.space, self.device = space, device
        searched = {"kernel", "expansion", "repeats"}
        self.macro = {
            p.name: macro.get(p.name, p.default) for p in space.arch_params if p.name.rpartition("_")[2] not in searched
        }
        unknown = sorted(set(macro) - set(self.macro))
        if unknown:
            raise ConfigError(
                f"macro sets {unknown}, which are not fixed macro values of {space.name!r}",
                f"macro values: {', '.join(self.macro)}",
            )
        self.kernels, self.expansions, self.repeats = [], [], []
        for i, stage in enumerate(space.stages, start=1):
            self.kernels.append([int(k) for k in stage.kernels])
            self.expansions.append(_values(space, f"s{i}_expansion", stage.expansion))
            self.repeats.append(_values(space, f"s{i}_repeats", stage.repeats))
        self.paths: list[list[Path_]] = [
            list(itertools.product(k, e, r)) for k, e, r in zip(self.kernels, self.expansions, self.repeats)
        ]
        self._block_latency: dict[tuple[int, int, int, int], float] = {}
        self.fixed_latency = 0.0
        if device is not None:
            self._tabulate(device)

    def candidate(self, choice: Sequence[Path_], recipe: Mapping[str, Any] | None = None) -> Candidate:
        """The candidate of one path per stage."""
        arch: dict[str, Any] = dict(self.macro)
        for i, (kernel, expansion, repeats) in enumerate(choice, start=1):
            arch[f"s{i}_kernel"] = kernel
            for name, values, value in (("expansion", self.expansions, expansion), ("repeats", self.repeats, repeats)):
                if len(values[i - 1]) > 1:
                    arch[f"s{i}_{name}"] = value
        return self.space.candidate(arch, dict(recipe or {}))

    def _tabulate(self, device: str) -> None:
        """Latency of block ``j`` of stage ``s`` under (kernel, expansion), and of the rest of the network."""
        deepest = [(k[0], e[0], r[-1]) for k, e, r in zip(self.kernels, self.expansions, self.repeats)]
        for s in range(len(self.paths)):
            for kernel, expansion in itertools.product(self.kernels[s], self.expansions[s]):
                choice = list(deepest)
                choice[s] = (kernel, expansion, self.repeats[s][-1])
                _, blocks, _ = network_layers(self.space.network(self.candidate(choice)))
                first = sum(c[2] for c in choice[:s])
                for j in range(self.repeats[s][-1]):
                    self._block_latency[s, j, kernel, expansion] = layers_latency(blocks[first + j], device)
        total = network_latency(self.space.network(self.candidate(deepest)), device)
        self.fixed_latency = total - sum(self.path_latency(s, p) for s, p in enumerate(deepest))

    def block_latency(self, stage: int, block: int, kernel: int, expansion: int) -> float:
        """Modelled latency (ms) of one block of a stage."""
        return self._block_latency[stage, block, kernel, expansion]

    def path_latency(self, stage: int, path: Path_) -> float:
        """Modelled latency (ms) of one stage run with ``path``."""
        kernel, expansion, repeats = path
        return sum(self.block_latency(stage, j, kernel, expansion) for j in range(repeats))

    def latency(self, choice: Sequence[Path_]) -> float:
        """Modelled latency (ms) of the network of one path per stage."""
        return self.fixed_latency + sum(self.path_latency(s, p) for s, p in enumerate(choice))


def project(
    choices: StageChoices, scores: Sequence[Mapping[Path_, float]], start: Sequence[Path_], feasible: Any
) -> tuple[list[Path_], bool]:
    """``start`` changed, stage by stage, until ``feasible(choice)``: each switch goes to a cheaper path
    of one stage and loses the least score per millisecond saved. ``(choice, feasible)``."""
    choice = list(start)
    while not feasible(choice):
        best: tuple[float, int, Path_] | None = None
        for s, path in enumerate(choice):
            now = choices.path_latency(s, path)
            for other in choices.paths[s]:
                saved = now - choices.path_latency(s, other)
                if saved > 1e-12:
                    loss = (scores[s][path] - scores[s][other]) / saved
                    if best is None or loss < best[0]:
                        best = (loss, s, other)
        if best is None:
            return choice, False
        choice[best[1]] = best[2]
    return choice, True


# --------------------------------------------------------------------------- #
# Supernets
# --------------------------------------------------------------------------- #


def _macro_network(choices: StageChoices) -> nn.Module:
    """The FBNetV3 network of the macro (stem and head are the supernet's; its blocks are replaced)."""
    widest = [(k[-1], e[-1], r[-1]) for k, e, r in zip(choices.kernels, choices.expansions, choices.repeats)]
    return build_model(choices.space.network(choices.candidate(widest)))


class ProxylessSupernet(nn.Module):
    """One MBConv block per (stage, block position, kernel, expansion); one ``alpha`` per stage path."""

    def __init__(self, choices: StageChoices) -> None:
        super().__init__()
        self.choices = choices
        self.net = _macro_network(choices)
        widest = [(k[-1], e[-1], r[-1]) for k, e, r in zip(choices.kernels, choices.expansions, choices.repeats)]
        self.ops = nn.ModuleDict()
        for s in range(len(choices.paths)):
            for kernel, expansion in itertools.product(choices.kernels[s], choices.expansions[s]):
                choice = list(widest)
                choice[s] = (kernel, expansion, choices.repeats[s][-1])
                blocks = build_model(choices.space.network(choices.candidate(choice))).blocks
                first = sum(c[2] for c in choice[:s])
                for j in range(choices.repeats[s][-1]):
                    self.ops[f"{s}_{j}_{kernel}_{expansion}"] = blocks[first + j]
        self.alphas = nn.ParameterList([nn.Parameter(torch.zeros(len(p))) for p in choices.paths])
        self.net.blocks = nn.Identity()

    def weights(self) -> list[nn.Parameter]:
        """The supernet's weights (everything but ``alpha``)."""
        return [p for n, p in self.named_parameters() if not n.startswith("alphas")]

    def stage(self, s: int, path: Path_, x: torch.Tensor) -> torch.Tensor:
        """Stage ``s`` run along ``path``."""
        kernel, expansion, repeats = path
        for j in range(repeats):
            x = self.ops[f"{s}_{j}_{kernel}_{expansion}"](x)
        return x

    def forward(
        self, x: torch.Tensor, paths: Sequence[Sequence[int]], gates: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Run the sampled paths (one per stage; two per stage, mixed by binary ``gates``)."""
        x = self.net.stem(x)
        for s, sampled in enumerate(paths):
            outs = [self.stage(s, self.choices.paths[s][i], x) for i in sampled]
            x = outs[0] if gates is None else sum(g * o for g, o in zip(gates[s], outs))  # type: ignore[assignment]
        return self.net.forward_head(x)

    def expected_latency(self, table: Sequence[torch.Tensor]) -> torch.Tensor:
        """``fixed + sum_s softmax(alpha_s) . latency_s``."""
        terms = [torch.softmax(a, 0) @ t for a, t in zip(self.alphas, table)]
        return self.choices.fixed_latency + torch.stack(terms).sum()


def _indicator(stat: torch.Tensor, theta: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gate, probability)``: the hard indicator ``stat > exp(theta)`` in the forward pass with the
    gradient of its sigmoid relaxation (straight-through), and that sigmoid."""
    soft = torch.sigmoid((torch.log(stat + 1e-12) - theta) / temperature)
    hard = (soft > 0.5).to(soft.dtype)
    return hard + soft - soft.detach(), soft


def _nested(gates: Sequence[torch.Tensor], like: torch.Tensor) -> list[torch.Tensor]:
    """Weights of choices ``0..n`` selected by nested gates (choice ``i`` needs gates ``1..i`` on);
    ``like``: a tensor on the gates' device."""
    one = like.new_ones(())
    weights, on = [], one
    for gate in [*gates, like.new_zeros(())]:
        weights.append(on * (one - gate))
        on = on * gate
    return weights


class SuperBlock(nn.Module):
    """One Single-Path superkernel block: the largest kernel and expansion, smaller ones nested in them."""

    def __init__(
        self, cin: int, cout: int, stride: int, hidden: Sequence[int], kernels: Sequence[int], se: int
    ) -> None:
        super().__init__()
        from timm.models._efficientnet_blocks import SqueezeExcite

        width, kmax = hidden[-1], kernels[-1]
        self.stride, self.residual = stride, stride == 1 and cin == cout
        self.expand = (
            nn.Sequential(nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), ACT())
            if width != cin
            else nn.Identity()
        )
        self.dw = nn.Parameter(torch.empty(width, 1, kmax, kmax))
        nn.init.kaiming_normal_(self.dw, mode="fan_out")
        self.bn_dw, self.act = nn.BatchNorm2d(width), ACT()
        self.se = SqueezeExcite(width, rd_channels=se, gate_layer="hard_sigmoid") if se else nn.Identity()
        self.project = nn.Sequential(nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        rings = torch.zeros(len(kernels), kmax, kmax)  # ring i: the cells of kernel i outside kernel i - 1
        for i, k in enumerate(kernels):
            lo = (kmax - k) // 2
            rings[i, lo : lo + k, lo : lo + k] = 1.0
        rings[1:] -= rings[:-1].clone()
        groups = torch.zeros(len(hidden), width)  # channel group i: the channels of expansion i beyond i - 1
        for i, (lo, hi) in enumerate(zip([0, *hidden[:-1]], hidden)):
            groups[i, lo:hi] = 1.0
        self.register_buffer("rings", rings)
        self.register_buffer("groups", groups)

    def part_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sum of squares, count)`` of the depthwise weights per (ring, channel group)."""
        squares = torch.einsum("cab,rab,gc->rg", self.dw.squeeze(1) ** 2, self.rings, self.groups)
        count = torch.einsum("rab,gc->rg", self.rings, self.groups)
        return squares, count

    def forward(self, x: torch.Tensor, ring_w: torch.Tensor, channel_w: torch.Tensor) -> torch.Tensor:
        """``ring_w``: weight of each kernel ring (nested gates); ``channel_w``: of each channel group."""
        kernel = self.dw * torch.einsum("r,rab->ab", torch.cumprod(ring_w, 0), self.rings)
        h = self.expand(x)
        h = nn.functional.conv2d(h, kernel, stride=self.stride, padding=self.dw.shape[-1] // 2, groups=h.shape[1])
        mask = torch.einsum("g,gc->c", torch.cumprod(channel_w, 0), self.groups)
        h = self.se(self.act(self.bn_dw(h)) * mask.view(1, -1, 1, 1))
        out = self.project(h)
        return x + out if self.residual else out


class SinglePathSupernet(nn.Module):
    """Superkernel blocks per stage, thresholds per stage for the outer kernel rings, the further channel
    groups and the optional blocks."""

    def __init__(self, choices: StageChoices, temperature: float) -> None:
        super().__init__()
        self.choices, self.temperature = choices, temperature
        self.net = _macro_network(choices)
        layout = choices.space.network(
            choices.candidate(
                [(k[-1], e[-1], r[-1]) for k, e, r in zip(choices.kernels, choices.expansions, choices.repeats)]
            )
        ).layout()
        self.stages = nn.ModuleList()
        index = 0
        for s in range(len(choices.space.stages)):
            blocks = nn.ModuleList()
            for _ in range(choices.repeats[s][-1]):
                cin, _, se, block = layout[index]
                hidden = [
                    choices.space.network(choices.candidate(self._with(s, e))).layout()[index][1]
                    for e in choices.expansions[s]
                ]
                blocks.append(SuperBlock(cin, block.out_channels, block.stride, hidden, choices.kernels[s], se))
                index += 1
            self.stages.append(blocks)
        self.net.blocks = nn.Identity()
        self.thetas = nn.ParameterList()
        with torch.no_grad():
            for s in range(len(self.stages)):
                stats = self._stage_stats(s)
                self.thetas.append(nn.Parameter(torch.log(stats + 1e-12) - THRESHOLD_MARGIN))  # every part starts on

    def _with(self, stage: int, expansion: int) -> list[Path_]:
        c = self.choices
        choice = [(k[-1], e[-1], r[-1]) for k, e, r in zip(c.kernels, c.expansions, c.repeats)]
        choice[stage] = (c.kernels[stage][-1], expansion, c.repeats[stage][-1])
        return choice

    def weights(self) -> list[nn.Parameter]:
        """The supernet's weights (everything but the thresholds)."""
        return [p for n, p in self.named_parameters() if not n.startswith("thetas")]

    def _stage_stats(self, s: int) -> torch.Tensor:
        """Mean squared weight of each decided part of stage ``s``: the outer rings (all channels), the
        further channel groups (smallest kernel), then each optional block (its first group, smallest kernel)."""
        parts = [b.part_stats() for b in self.stages[s]]
        squares = torch.stack([p[0] for p in parts]).sum(0)
        count = torch.stack([p[1] for p in parts]).sum(0)
        rings = squares[1:].sum(1) / count[1:].sum(1)
        groups = squares[0, 1:] / count[0, 1:]
        low = self.choices.repeats[s][0]
        blocks = [p[0][0, 0] / p[1][0, 0] for p in parts[low:]]
        return torch.cat([rings, groups, torch.stack(blocks) if blocks else squares.new_zeros(0)])

    def gates(self, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(gates, probabilities)`` of stage ``s``'s parts (order of :meth:`_stage_stats`)."""
        return _indicator(self._stage_stats(s), self.thetas[s], self.temperature)

    def split(self, s: int, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``values`` of stage ``s``'s parts as (ring, channel group, optional block) parts."""
        nk, ne = len(self.choices.kernels[s]) - 1, len(self.choices.expansions[s]) - 1
        return values[:nk], values[nk : nk + ne], values[nk + ne :]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, modelled latency)`` of the network the indicators select."""
        x = self.net.stem(x)
        latency = x.new_tensor(self.choices.fixed_latency)
        one = x.new_ones(1)
        for s, blocks in enumerate(self.stages):
            rings, groups, depth = self.split(s, self.gates(s)[0])
            kernel_w, expansion_w = _nested(list(rings), x), _nested(list(groups), x)
            low, keep = self.choices.repeats[s][0], x.new_ones(())
            for j, block in enumerate(blocks):
                if j >= low:
                    keep = keep * depth[j - low]
                out = block(x, torch.cat([one, rings]), torch.cat([one, groups]))
                x = out if j < low else x + keep * (out - x)
                table = [
                    [self.choices.block_latency(s, j, k, e) for e in self.choices.expansions[s]]
                    for k in self.choices.kernels[s]
                ]
                block_latency = sum(
                    wk * we * table[a][b] for a, wk in enumerate(kernel_w) for b, we in enumerate(expansion_w)
                )
                latency = latency + keep * block_latency
        return self.net.forward_head(x), latency

    def scores(self) -> tuple[list[Path_], list[dict[Path_, float]]]:
        """The selected path of each stage and every path's log-likelihood under the indicators."""
        chosen, scores = [], []
        with torch.no_grad():
            for s in range(len(self.stages)):
                gates, probs = self.gates(s)
                rings, groups, depth = (g.tolist() for g in self.split(s, gates))
                kernels, expansions, repeats = (
                    self.choices.kernels[s],
                    self.choices.expansions[s],
                    self.choices.repeats[s],
                )
                chosen.append((kernels[_count_on(rings)], expansions[_count_on(groups)], repeats[_count_on(depth)]))
                p_rings, p_groups, p_depth = (p.tolist() for p in self.split(s, probs))
                scores.append(
                    {
                        (k, e, r): _nested_log(p_rings, kernels.index(k))
                        + _nested_log(p_groups, expansions.index(e))
                        + _nested_log(p_depth, repeats.index(r))
                        for k, e, r in self.choices.paths[s]
                    }
                )
        return chosen, scores


def _count_on(gates: Sequence[float]) -> int:
    """How many nested gates are on before the first off."""
    n = 0
    while n < len(gates) and gates[n] > 0.5:
        n += 1
    return n


def _nested_log(probs: Sequence[float], index: int) -> float:
    """Log-likelihood of choice ``index`` under nested gate probabilities (gates ``1..index`` on, the next off)."""
    total = sum(math.log(max(p, 1e-12)) for p in probs[:index])
    return total + (math.log(max(1 - probs[index], 1e-12)) if index < len(probs) else 0.0)


# --------------------------------------------------------------------------- #
# Training the supernets
# --------------------------------------------------------------------------- #


class _Clock:
    """Whole epochs until ``cap`` seconds (at the mean pace, the next epoch must fit) or ``epochs``."""

    def __init__(self, epochs: int, cap: float | None) -> None:
        self.epochs, self.cap, self.started = epochs, cap, time.perf_counter()

    def planned(self, epoch_seconds: float) -> int:
        """The epochs that fit, judged after the first one."""
        if self.cap is None:
            return self.epochs
        return max(1, min(self.epochs, int(self.cap // max(epoch_seconds, 1e-9))))

    def another(self, done: int) -> bool:
        """Whether another epoch runs after ``done`` of them."""
        if done >= self.epochs:
            return False
        spent = time.perf_counter() - self.started
        return self.cap is None or spent * (done + 1) / done <= self.cap

    def seconds(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.started


def _loader(data: Any, indices: Sequence[int], batch_size: int, seed: int) -> Any:
    from torch.utils.data import DataLoader, Subset

    gen = torch.Generator().manual_seed(seed)
    return DataLoader(Subset(data, list(indices)), batch_size=batch_size, shuffle=True, generator=gen, drop_last=True)


def _train_supernet(
    net: nn.Module,
    settings: OneShotSettings,
    batches: Any,
    step: Any,
    cap: float | None,
    arch_params: list[nn.Parameter],
) -> tuple[int, float]:
    """Whole epochs of ``step(batch, weight_opt, arch_opt)`` over ``batches()``; ``(epochs, seconds)``."""
    weight_opt = torch.optim.SGD(
        net.weights(), lr=settings.learning_rate, momentum=0.9, nesterov=True, weight_decay=4e-5
    )  # type: ignore[operator]
    arch_opt = torch.optim.Adam(arch_params, lr=settings.arch_learning_rate, betas=(0.0, 0.999))
    clock, planned, done = _Clock(settings.epochs, cap), settings.epochs, 0
    while done == 0 or clock.another(done):
        net.train()
        for i, batch in enumerate(batches()):
            if settings.max_steps_per_epoch is not None and i >= settings.max_steps_per_epoch:
                break
            lr = 0.5 * settings.learning_rate * (1 + math.cos(math.pi * min(done / planned, 1.0)))
            for group in weight_opt.param_groups:
                group["lr"] = lr
            step(batch, weight_opt, arch_opt)
        done += 1
        if done == 1:
            planned = clock.planned(clock.seconds())
    return done, clock.seconds()


def train_proxyless(
    choices: StageChoices,
    data: Any,
    settings: ProxylessSettings,
    seed: int,
    target: float,
    cap: float | None,
    device: torch.device,
) -> dict[str, Any]:
    """Train a ProxylessNAS supernet on ``device``; the argmax paths, every path's log-probability,
    epochs and seconds. Paths are drawn on the CPU from one seeded generator."""
    torch.manual_seed(seed)
    net = ProxylessSupernet(choices).to(device)
    gen = torch.Generator().manual_seed(seed + 3)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).tolist()
    cut = int(len(order) * settings.train_portion)
    if cut < settings.batch_size or len(order) - cut < settings.batch_size:
        raise ConfigError(
            f"the training split of {len(order)} images cannot fill two batches of {settings.batch_size}",
            "lower batch_size or change train_portion",
        )
    weights_loader = _loader(data, order[:cut], settings.batch_size, seed + 1)
    arch_loader = _loader(data, order[cut:], settings.batch_size, seed + 2)
    table = [torch.tensor([choices.path_latency(s, p) for p in paths], device=device)
             for s, paths in enumerate(choices.paths)]  # fmt: skip
    loss_fn = nn.CrossEntropyLoss()
    arch_batches = iter(())  # type: ignore[var-annotated]

    def next_arch_batch() -> Any:
        nonlocal arch_batches
        try:
            return next(arch_batches)
        except StopIteration:
            arch_batches = iter(arch_loader)
            return next(arch_batches)

    def step(batch: Any, weight_opt: Any, arch_opt: Any) -> None:
        x, y = (t.to(device) for t in batch)
        with torch.no_grad():
            paths = [[int(torch.multinomial(torch.softmax(a.cpu(), 0), 1, generator=gen))] for a in net.alphas]
        weight_opt.zero_grad()
        loss_fn(net(x, paths), y).backward()
        weight_opt.step()
        x, y = (t.to(device) for t in next_arch_batch())
        pairs, gates, probs = [], [], []
        with torch.no_grad():
            for a in net.alphas:
                pair = torch.multinomial(torch.softmax(a.cpu(), 0), min(2, len(a)), generator=gen).tolist()
                p = torch.softmax(a.cpu()[pair], 0)
                active = int(torch.multinomial(p, 1, generator=gen))
                pairs.append(pair)
                probs.append(p.to(device))
                gate = nn.functional.one_hot(torch.tensor(active), len(pair)).float()
                gates.append(gate.to(device).requires_grad_())
        ce = loss_fn(net(x, pairs, gates), y)
        gate_grads = torch.autograd.grad(ce, gates)
        arch_opt.zero_grad()
        (settings.latency_weight * net.expected_latency(table) / target).backward()
        old = [a.detach()[pair].clone() for a, pair in zip(net.alphas, pairs)]
        for a, pair, p, g in zip(net.alphas, pairs, probs, gate_grads):
            a.grad[pair] += g @ (torch.diag(p) - torch.outer(p, p))  # dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i)
        arch_opt.step()
        with torch.no_grad():  # the two sampled paths keep their joint probability
            for a, pair, before in zip(net.alphas, pairs, old):
                a[pair] -= torch.logsumexp(a[pair], 0) - torch.logsumexp(before, 0)

    epochs, seconds = _train_supernet(net, settings, lambda: iter(weights_loader), step, cap, list(net.alphas))
    with torch.no_grad():
        logp = [torch.log_softmax(a, 0).tolist() for a in net.alphas]
    chosen = [paths[max(range(len(lp)), key=lp.__getitem__)] for paths, lp in zip(choices.paths, logp)]
    scores = [dict(zip(paths, lp)) for paths, lp in zip(choices.paths, logp)]
    return {"chosen": chosen, "scores": scores, "epochs": epochs, "seconds": seconds}


def train_single_path(
    choices: StageChoices, data: Any, settings: SinglePathSettings, seed: int, cap: float | None, device: torch.device
) -> dict[str, Any]:
    """Train a Single-Path NAS supernet on ``device``; the selected paths, every path's score, epochs and seconds."""
    torch.manual_seed(seed)
    net = SinglePathSupernet(choices, settings.temperature).to(device)
    loader = _loader(data, range(len(data)), settings.batch_size, seed + 1)
    loss_fn = nn.CrossEntropyLoss()

    def step(batch: Any, weight_opt: Any, arch_opt: Any) -> None:
        x, y = (t.to(device) for t in batch)
        logits, latency = net(x)
        loss = loss_fn(logits, y) + settings.latency_weight * torch.log(latency)
        weight_opt.zero_grad()
        arch_opt.zero_grad()
        loss.backward()
        weight_opt.step()
        arch_opt.step()

    epochs, seconds = _train_supernet(net, settings, lambda: iter(loader), step, cap, list(net.thetas))
    chosen, scores = net.scores()
    return {"chosen": chosen, "scores": scores, "epochs": epochs, "seconds": seconds}


# --------------------------------------------------------------------------- #
# The runner of ``nars compare``
# --------------------------------------------------------------------------- #


def unavailable(target: Any = None) -> str | None:
    """Why a one-shot method cannot run on ``target``: it trains a supernet of an FBNetV3 space."""
    space = getattr(target, "space", None)
    if target is None or not isinstance(space, FBNetV3Space) or not hasattr(target, "dataset"):
        return "it trains a supernet: compare with --evaluator train on --space fbnetv3-tiny (or fbnetv3)"
    return None


def latency_target(settings: OneShotSettings, constraints: Sequence[str]) -> tuple[str, float]:
    """The device and target (ms) of the latency term: the settings', else the run's latency constraint's."""
    bounds = [
        c for c in parse_constraints(list(constraints)) if c.metric.startswith("latency[") and c.op in ("<", "<=")
    ]
    device = settings.device or (bounds[0].metric[len("latency[") : -1] if bounds else None)
    target = settings.target or next((c.bound for c in bounds if c.metric == f"latency[{device}]"), None)
    if device is None or target is None:
        raise ConfigError(
            "a hardware-aware one-shot search needs a latency device and target",
            "add a constraint such as -c 'latency[pixel3] <= 4.5' (with --space-option latency=pixel3) "
            "or set device=... and target=...",
        )
    if device not in DEVICE_COEFFICIENTS:
        raise ConfigError(f"unknown latency device {device!r}", f"devices: {', '.join(DEVICE_COEFFICIENTS)}")
    return device, float(target)


def search(method: str, evaluator: Any, task: RunTask) -> dict[str, Any]:
    """Train the supernet of ``method`` and derive, then project, one architecture (no final training)."""
    from .data import load_data

    cls = METHODS[method][0]
    settings = parse(cls, dict(task.settings), f"optimizer {task.optimizer!r}", f"nars optimizers {task.optimizer}")
    device, target = latency_target(settings, task.constraints)
    space: FBNetV3Space = evaluator.space
    choices = StageChoices(space, parse_key_values(settings.macro or {}, "macro", separator=","), device)
    cheapest = [min(paths, key=lambda p, s=s: choices.path_latency(s, p)) for s, paths in enumerate(choices.paths)]
    if task.constraints and not space.feasible([choices.candidate(cheapest)], list(task.constraints))[0]:
        raise ConfigError(  # checked before the supernet trains (a space without the statistic fails here too)
            f"no architecture of the supernet meets {list(task.constraints)} at the macro {choices.macro}",
            "loosen the constraint or choose a smaller macro (setting macro=resolution=...,s3_channels=...)",
        )
    resolution = int(choices.macro["resolution"])
    data = load_data(evaluator.dataset, resolution, evaluator.test).train
    cap = settings.supernet_share * task.budget_seconds if task.budget_seconds else None
    wanted = evaluator.settings.device
    device = torch.device("cuda" if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()) else "cpu")
    if isinstance(settings, ProxylessSettings):
        found = train_proxyless(choices, data, settings, task.seed, target, cap, device)
    else:
        found = train_single_path(choices, data, settings, task.seed, cap, device)  # type: ignore[arg-type]
    constraints = list(task.constraints)

    def feasible(choice: Sequence[Path_]) -> bool:
        return bool(space.feasible([choices.candidate(choice)], constraints)[0]) if constraints else True

    choice, ok = project(choices, found["scores"], found["chosen"], feasible)
    cand = choices.candidate(choice, task.fixed_recipe)
    return {
        "candidate": cand.to_dict(),
        "derived": space.format_arch(choices.candidate(found["chosen"])),
        "projected": choice != found["chosen"],
        "feasible": ok,
        "latency_ms": choices.latency(choice),
        "device": device,
        "target_ms": target,
        "supernet_epochs": found["epochs"],
        "supernet_seconds": found["seconds"],
    }


def run(method: str, evaluator: Any, task: RunTask) -> dict[str, Any]:
    """One ``proxylessnas`` / ``single-path-nas`` run of ``nars compare`` on the ``train`` evaluator.

    Journaled in ``task.out``: ``derived.json`` once the supernet has trained (a rerun then skips it),
    ``oneshot_run.json`` once the derived architecture has trained (a rerun returns it).
    """
    reason = unavailable(evaluator)
    if reason:
        raise ConfigError(f"{task.optimizer} cannot run here: {reason}", "use the train evaluator")
    out = Path(task.out)
    identity = {
        "optimizer": task.optimizer,
        "seed": task.seed,
        "budget": task.budget,
        "settings": dict(task.settings),
        "budget_seconds": task.budget_seconds,
        "constraints": list(task.constraints),
        "fixed_recipe": dict(task.fixed_recipe),
        "evaluator": evaluator.config(),
        "space": evaluator.space.options(),
    }
    identity = json.loads(json.dumps(identity, default=str))
    saved = _read(out / RESULT_NAME, identity)
    if saved is not None:
        return {**saved, "evaluated_now": 0}
    found = _read(out / "derived.json", identity)
    if found is None:
        found = search(method, evaluator, task)
        out.mkdir(parents=True, exist_ok=True)
        _write(out / "derived.json", identity, found)
    space = evaluator.space
    cand = space.validate(Candidate.from_dict(found["candidate"]))
    result = derived_answer(evaluator, space, cand, float(found["supernet_seconds"]), evaluator.evaluate(cand))
    result["best"]["metrics"][f"latency[{found['device']}]"] = found["latency_ms"]
    result["oneshot"] = {k: v for k, v in found.items() if k != "candidate"}
    _write(out / RESULT_NAME, identity, result)
    return result


def _read(path: Path, identity: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return dict(saved["result"]) if saved.get("identity") == identity else None


def _write(path: Path, identity: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"identity": identity, "result": result}, indent=2, default=str))
    tmp.replace(path)
