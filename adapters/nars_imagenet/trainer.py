"""Carry out a training recipe on one candidate network, on one device or under ``torchrun``.

The recipe (a candidate's recipe part) gives optimizer (RMSProp as in TF/EfficientNet, or SGD with
Nesterov momentum; timm's implementations, no weight decay on biases and norms), learning rate per
256 images (scaled linearly with the global batch), weight decay, mixup, dropout, stochastic depth,
model EMA and epochs. The schedule is a linear warm-up followed by a per-step cosine decay (timm's
``CosineLRScheduler``); the loss is cross-entropy with label smoothing (soft-target cross-entropy
under mixup). On CUDA the trainer uses AMP (bfloat16 where supported, else float16 with gradient
scaling), channels-last memory and, in multi-process runs, synchronised batch norm.

Distributed runs: launched by ``torchrun`` (one process per GPU, any number of nodes), each process
initialises ``torch.distributed`` from the environment (NCCL on GPU, gloo on CPU), trains its slice
of every global batch under ``DistributedDataParallel`` and evaluates its slice of the validation
set (counts are summed over processes). Without synchronised batch norm (CPU) a W-process run
equals a 1-process run with ``micro_batches=W`` (gradient accumulation over the same slices).

Each epoch ends with a validation top-1 (the EMA weights when EMA is on): the learning curve. A data
set with a held-out test split gets the test top-1 of the model at the last epoch run (``test_top1``). With a
checkpoint folder, rank 0 saves model, optimizer, EMA and curve after every epoch and a new run
resumes from it (``torch.load(..., weights_only=True)``); all randomness is reseeded per epoch, so a
resumed run continues exactly. A run whose loss becomes NaN/inf, or that runs out of memory, ends as
a failed :class:`TrainOutcome` with the reason instead of raising.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from nars_plugin._isolation import die_with_parent
from nars_plugin.errors import ConfigError
from nars_plugin.evaluation import Result
from nars_plugin.settings import setting

from .arch import NetworkSpec
from .data import DataBundle, GlobalBatchSampler
from .model import build_model
from .nb201 import NB201NetSpec

CHECKPOINT_NAME = "checkpoint.pt"
OPTIMIZERS = {"rmsprop": "rmsproptf", "sgd": "sgd"}


@dataclass(frozen=True)
class TrainSettings:
    """How to train, beyond the recipe (these do not change what is searched); ``nars_plugin.settings``
    parses them from ``--eval-opt KEY=VALUE`` text and lists them."""

    batch_size: int = setting(256, "global batch (all processes together)", low=1)
    micro_batches: int = setting(1, "gradient-accumulation steps per optimizer step, per process", low=1)
    label_smoothing: float = setting(0.1, "label smoothing of the cross-entropy", low=0, high=1)
    warmup_epochs: float = setting(5.0, "linear warm-up length in epochs (a fraction of an epoch allowed)", low=0)
    ema_decay: float = setting(0.9998, "model-EMA decay (timm's ModelEmaV3, with its warm-up)", low=0, high=1)
    device: str = setting("auto", "auto (CUDA when available), cpu or cuda")
    amp: bool | None = setting(None, "mixed precision (auto: on for CUDA)", none="auto")
    channels_last: bool | None = setting(None, "channels-last memory format (auto: on for CUDA)", none="auto")
    sync_bn: bool | None = setting(None, "synchronised batch norm across processes (auto: on for CUDA)", none="auto")
    num_workers: int = setting(4, "data-loader worker processes", low=0)
    eval_batch_size: int = setting(256, "per-process validation batch", low=1)
    max_steps_per_epoch: int | None = setting(
        None, "cap on optimizer steps per epoch (quick runs and tests; none: no cap)", low=1
    )
    nan_check_every: int = setting(50, "steps between divergence checks (each check synchronises)", low=1)
    seed: int = setting(0, "seeds weights, data order, dropout and mixup", low=0)
    threads: int | None = setting(None, "torch CPU threads (none: leave torch's default)", low=1)
    collective_timeout: float = setting(
        300.0,
        "seconds a distributed collective waits for the other ranks before it fails (a rank that hung or died "
        "ends the others within this bound at the latest)",
        low=0,
    )
    fault: str | None = setting(
        None,
        "test only: make training fail at its first step, raise, oom (an impossible allocation) or hang, "
        "optionally @RANK (only that DDP rank) and :LR (only candidates with that learning rate), e.g. oom@1",
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (journal identity, job files)."""
        return asdict(self)


@dataclass
class TrainOutcome:
    """What one training run produced (rank 0's view)."""

    status: str = "ok"
    error: str | None = None
    curve: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    epochs_run: int = 0
    epochs_planned: int = 0
    seconds: float = 0.0
    devices: int = 1
    resumed_from: int = 0
    test_top1: float | None = None

    def to_result(self, fidelity: int | None, max_fidelity: int | None) -> Result:
        """A :class:`Result`: ``val_top1`` at the last epoch run, the curve padded to the fidelity.

        A schedule that finished before the fidelity keeps its final accuracy for the remaining
        epochs, so curves of candidates with different epoch counts line up for early stopping.
        """
        cost = self.seconds * self.devices
        if self.status != "ok":
            return Result(status="failed", error=self.error, cost=cost, curve=self.curve or None, fidelity=fidelity)
        length = fidelity or max_fidelity or len(self.curve)
        curve = list(self.curve) + [self.curve[-1]] * max(0, length - len(self.curve))
        metrics = {
            "val_top1": self.curve[-1],
            "best_val_top1": max(self.curve),
            "train_loss": self.train_loss[-1],
            "epochs": float(self.epochs_run),
            "seconds": self.seconds,
        }
        if self.test_top1 is not None:
            metrics["test_top1"] = self.test_top1
        return Result(metrics=metrics, cost=cost, curve=curve, fidelity=fidelity)


class Diverged(RuntimeError):
    """The training loss stopped being finite."""


@dataclass
class DistributedContext:
    """Rank, world size and device of this process."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """True on rank 0."""
        return self.rank == 0


def setup_distributed(device: str = "auto", timeout: float | None = None) -> DistributedContext:
    """Read torchrun's environment, pick the device and initialise the process group if needed.

    ``timeout``: seconds a collective may wait for the other ranks (None: torch's default). A rank
    started by torchrun is also tied to it: it is killed when torchrun dies (e.g. killed at a time
    limit), instead of waiting in a collective for ranks that are gone.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but CUDA is not available", "use --device cpu or auto")
    dev = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        if "TORCHELASTIC_RUN_ID" in os.environ:  # started by torchrun: end with it
            die_with_parent(os.getppid())
        options: dict[str, Any] = {"timeout": timedelta(seconds=timeout)} if timeout else {}
        dist.init_process_group("nccl" if use_cuda else "gloo", **options)
    return DistributedContext(rank, world, local_rank, dev)


def teardown_distributed() -> None:
    """Wait until every rank is done, then release the process group (call it on every rank).

    Without the barrier, a rank that finished first could exit while another still talks to it;
    without the release, the process group is torn down by interpreter exit, in no defined order.
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class InjectedFault(RuntimeError):
    """A failure asked for by the test-only ``fault`` setting."""


def _inject_fault(fault: str | None, rank: int, recipe: Mapping[str, Any]) -> None:
    """Fail as the ``fault`` setting asks (see :class:`TrainSettings`), if it applies to this rank and recipe."""
    if not fault:
        return
    kind, _, lr = fault.partition(":")
    kind, _, on_rank = kind.partition("@")
    if (on_rank and int(on_rank) != rank) or (lr and float(lr) != float(recipe["lr"])):
        return
    if kind == "raise":
        raise InjectedFault(f"injected fault on rank {rank}")
    if kind == "oom":
        torch.empty(2**50, dtype=torch.uint8)  # a petabyte: refused at once, as a real OOM would be
    elif kind == "hang":
        while True:
            time.sleep(60)
    else:
        raise ConfigError(f"unknown fault {fault!r}", "use raise, oom or hang, optionally @RANK and :LR")


def _reseed(seed: int, epoch: int, rank: int) -> None:
    value = (seed * 1_000_003 + epoch * 7919 + rank) % (2**31)
    torch.manual_seed(value)
    np.random.seed(value)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def train(
    spec: NetworkSpec | NB201NetSpec,
    recipe: Mapping[str, Any],
    data: DataBundle,
    settings: TrainSettings | None = None,
    stop_after: int | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    ctx: DistributedContext | None = None,
) -> TrainOutcome:
    """Train ``spec`` with ``recipe`` on ``data``; stop after ``stop_after`` epochs of the schedule.

    Never raises for divergence or out-of-memory: those end as a failed outcome.
    """
    settings = settings or TrainSettings()
    ctx = ctx or setup_distributed(settings.device)
    epochs = int(recipe["epochs"])
    outcome = TrainOutcome(epochs_planned=epochs, devices=ctx.world)
    started = time.time()
    try:
        _run(spec, recipe, data, settings, min(stop_after or epochs, epochs), checkpoint_dir, ctx, outcome)
    except Diverged as exc:
        outcome.status, outcome.error = "failed", f"diverged: {exc}"
    except (RuntimeError, MemoryError) as exc:
        if not (isinstance(exc, MemoryError) or _is_oom(exc)):
            raise
        outcome.status, outcome.error = "failed", f"out of memory: {str(exc).splitlines()[0][:200]}"
        if ctx.device.type == "cuda":
            torch.cuda.empty_cache()
    outcome.seconds = time.time() - started
    return outcome


def _run(
    spec: NetworkSpec | NB201NetSpec,
    recipe: Mapping[str, Any],
    data: DataBundle,
    settings: TrainSettings,
    last_epoch: int,
    checkpoint_dir: str | os.PathLike[str] | None,
    ctx: DistributedContext,
    outcome: TrainOutcome,
) -> None:
    from timm.data import Mixup
    from timm.loss import SoftTargetCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm.scheduler import CosineLRScheduler
    from timm.utils import ModelEmaV3

    if settings.threads:
        torch.set_num_threads(settings.threads)
    cuda = ctx.device.type == "cuda"
    amp = cuda if settings.amp is None else settings.amp and cuda
    channels_last = cuda if settings.channels_last is None else settings.channels_last
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    epochs = int(recipe["epochs"])

    torch.manual_seed(settings.seed)
    model: nn.Module
    if isinstance(spec, NB201NetSpec):
        model = spec.build()
    else:
        model = build_model(spec, float(recipe["dropout"]), float(recipe["drop_path"]))
    model.to(ctx.device, memory_format=memory_format)
    if ctx.distributed and (settings.sync_bn if settings.sync_bn is not None else cuda):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ema = ModelEmaV3(model, decay=settings.ema_decay, use_warmup=True) if recipe["ema"] else None
    optimizer_name = OPTIMIZERS[str(recipe["optimizer"])]
    extra = {"eps": 1e-3, "alpha": 0.9} if optimizer_name == "rmsproptf" else {}
    lr = float(recipe["lr"]) * settings.batch_size / 256
    optimizer = create_optimizer_v2(
        model, opt=optimizer_name, lr=lr, weight_decay=float(recipe["weight_decay"]), momentum=0.9, **extra
    )
    train_model = model
    if ctx.distributed:
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=[ctx.local_rank] if cuda else None)

    sampler = GlobalBatchSampler(
        len(data.train), settings.batch_size, settings.seed, ctx.rank, ctx.world, settings.micro_batches
    )
    steps = min(sampler.steps, settings.max_steps_per_epoch or sampler.steps)
    loader = DataLoader(
        data.train,
        batch_sampler=sampler,
        num_workers=settings.num_workers,
        pin_memory=cuda,
        persistent_workers=settings.num_workers > 0,
    )
    scheduler = CosineLRScheduler(
        optimizer,
        t_initial=epochs * steps,
        warmup_t=int(round(settings.warmup_epochs * steps)),
        warmup_lr_init=lr * 0.01,
        lr_min=lr * 1e-3,
        t_in_epochs=False,
    )
    mixup_alpha = float(recipe["mixup"])
    mixup = None
    if mixup_alpha > 0:
        mixup = Mixup(mixup_alpha=mixup_alpha, label_smoothing=settings.label_smoothing, num_classes=spec.num_classes)
        criterion: nn.Module = SoftTargetCrossEntropy()
    else:
        criterion = nn.CrossEntropyLoss(label_smoothing=settings.label_smoothing)
    amp_dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    start_epoch = 0
    if ckpt_path is not None and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=ctx.device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and "ema" in state:
            ema.module.load_state_dict(state["ema"])
        start_epoch = int(state["epoch"])
        outcome.curve, outcome.train_loss = list(state["curve"]), list(state["train_loss"])
        outcome.resumed_from = start_epoch
        if start_epoch > last_epoch:  # asked for fewer epochs than the checkpoint holds: report those
            outcome.curve, outcome.train_loss = outcome.curve[:last_epoch], outcome.train_loss[:last_epoch]

    for epoch in range(start_epoch, last_epoch):
        _reseed(settings.seed, epoch, ctx.rank)
        sampler.set_epoch(epoch)
        train_model.train()
        loss_sum = torch.zeros((), device=ctx.device)
        bad = torch.zeros((), device=ctx.device)
        batches = iter(loader)
        for step in range(steps):
            update = epoch * steps + step
            if update == 0:
                _inject_fault(settings.fault, ctx.rank, recipe)
            for micro in range(settings.micro_batches):
                images, labels = next(batches)
                images = images.to(ctx.device, non_blocking=True, memory_format=memory_format)
                labels = labels.to(ctx.device, non_blocking=True)
                if mixup is not None:
                    images, labels = mixup(images, labels)
                last_micro = micro == settings.micro_batches - 1
                sync = contextlib.nullcontext() if last_micro or not ctx.distributed else train_model.no_sync()
                with sync, torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp):
                    loss = criterion(train_model(images), labels) / settings.micro_batches
                    scaler.scale(loss).backward()
                loss_sum += loss.detach().float()
                bad += (~torch.isfinite(loss.detach())).float()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step_update(update + 1)
            if ema is not None:
                ema.update(model, step=update)
            if (step + 1) % settings.nan_check_every == 0 or step == steps - 1:
                _check_finite(bad, ctx, epoch, step)
        mean_loss = _all_mean(loss_sum / steps, ctx)
        top1 = evaluate(ema.module if ema is not None else model, data, settings, ctx, memory_format, amp, amp_dtype)
        outcome.curve.append(top1)
        outcome.train_loss.append(mean_loss)
        outcome.epochs_run = epoch + 1
        if ckpt_path is not None and ctx.main:
            _save(ckpt_path, model, optimizer, ema, epoch + 1, outcome)
    outcome.epochs_run = max(outcome.epochs_run, len(outcome.curve))
    if data.test is not None:
        final = ema.module if ema is not None else model
        outcome.test_top1 = evaluate(final, data, settings, ctx, memory_format, amp, amp_dtype, split=data.test)


def _check_finite(bad: torch.Tensor, ctx: DistributedContext, epoch: int, step: int) -> None:
    flag = bad.clone()
    if ctx.distributed:
        dist.all_reduce(flag)
    if flag.item() > 0:
        raise Diverged(f"training loss became NaN or infinite in epoch {epoch + 1} (by step {step + 1})")


def _all_mean(value: torch.Tensor, ctx: DistributedContext) -> float:
    value = value.detach().clone()
    if ctx.distributed:
        dist.all_reduce(value)
        value /= ctx.world
    return float(value.item())


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: DataBundle,
    settings: TrainSettings,
    ctx: DistributedContext,
    memory_format: torch.memory_format = torch.contiguous_format,
    amp: bool = False,
    amp_dtype: torch.dtype = torch.float16,
    split: Any = None,
) -> float:
    """Validation top-1 in percent (of ``split`` instead, e.g. the test set, where given); each process
    scores its strided share, counts are summed."""
    model.eval()
    images_of = data.val if split is None else split
    indices = list(range(ctx.rank, len(images_of), ctx.world))
    subset = torch.utils.data.Subset(images_of, indices)
    loader = DataLoader(subset, batch_size=settings.eval_batch_size, num_workers=settings.num_workers)
    counts = torch.zeros(2, device=ctx.device, dtype=torch.float64)
    for images, labels in loader:
        images = images.to(ctx.device, non_blocking=True, memory_format=memory_format)
        labels = labels.to(ctx.device, non_blocking=True)
        with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp):
            logits = model(images)
        counts[0] += (logits.argmax(1) == labels).sum()
        counts[1] += labels.numel()
    if ctx.distributed:
        dist.all_reduce(counts)
    if counts[1] == 0:
        return math.nan
    return float(100.0 * counts[0] / counts[1])


def _save(path: Path, model: nn.Module, optimizer: Any, ema: Any, epoch: int, outcome: TrainOutcome) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "curve": list(outcome.curve),
        "train_loss": list(outcome.train_loss),
    }
    if ema is not None:
        state["ema"] = ema.module.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
