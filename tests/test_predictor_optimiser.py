"""The predictor's own AdamW step and cosine schedule equal torch.optim's, bit for bit.

The predictor calls torch's fused AdamW kernel itself (torch.optim imports torch._dynamo, about 2 s of
every search process); search results must not move, so each step must give exactly the parameters
``torch.optim.AdamW(fused=True)`` under ``CosineAnnealingLR`` gives.
"""

from __future__ import annotations

import torch

from nars_plugin.predictors.fbnetv3 import _AdamW, _cosine_annealing


def _params(seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(3, 7, 5, generator=gen).requires_grad_(True),
        torch.randn(3, 1, 5, generator=gen).requires_grad_(True),
    ]


def _loss(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.huber_loss(torch.baddbmm(params[1], x, params[0]), torch.zeros(3, 4, 5))


def test_the_adamw_step_and_cosine_schedule_equal_torch_optims_bit_for_bit() -> None:
    ours, theirs = _params(0), _params(0)
    mine = _AdamW(ours, 1e-2, 1e-4)
    reference = torch.optim.AdamW(theirs, lr=1e-2, weight_decay=1e-4, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=6)
    gen = torch.Generator().manual_seed(1)
    for mine.lr in _cosine_annealing(1e-2, 6):
        assert mine.lr == reference.param_groups[0]["lr"]
        for _ in range(4):
            x = torch.randn(3, 4, 7, generator=gen)
            for params, opt in ((ours, mine), (theirs, reference)):
                opt.zero_grad()
                _loss(params, x).backward()
                opt.step()
            assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
        schedule.step()
    assert [int(mine.state[p]["step"]) for p in ours] == [int(reference.state[p]["step"]) for p in theirs] == [24, 24]
    assert all(p.grad is not None for p in ours)
    mine.zero_grad()
    assert all(p.grad is None for p in ours)


def test_a_parameter_without_a_gradient_is_left_alone() -> None:
    params = _params(2)
    before = params[0].detach().clone()
    opt = _AdamW(params, 1e-2, 1e-4)
    params[1].sum().backward()  # only the bias gets a gradient
    opt.step()
    assert torch.equal(params[0], before)
    assert not torch.equal(params[1], _params(2)[1])
