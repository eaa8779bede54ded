"""Helpers shared by the training test modules (imagenet adapter, training faults): a tiny candidate.

Not a test module: test modules import from here, never from each other.
"""

from __future__ import annotations

import importlib.util

import pytest
from nars_imagenet.space import fbnetv3_tiny_space

from nars_plugin.space import Candidate

MISSING = [m for m in ("timm", "torchvision", "sklearn") if importlib.util.find_spec(m) is None]
needs_extra = pytest.mark.skipif(
    bool(MISSING), reason=f"needs the imagenet extra ({', '.join(MISSING)} missing): pip install -e '.[imagenet]'"
)

#: A quiet recipe (no mixup, dropout, drop-path or EMA): runs with different process counts must agree.
QUIET = {"optimizer": "sgd", "lr": 0.1, "weight_decay": 1e-4, "mixup": 0.0, "dropout": 0.0, "drop_path": 0.0,
         "ema": False, "epochs": 4}  # fmt: skip
SMALL_ARCH = {"resolution": 12, "stem_channels": 8, "s1_kernel": 3, "s1_channels": 8, "s1_repeats": 1,
              "s2_kernel": 3, "s2_expansion": 2, "s2_channels": 16, "s2_repeats": 1, "s3_kernel": 3,
              "s3_expansion": 2, "s3_channels": 24, "s3_repeats": 1}  # fmt: skip


def small_candidate(**recipe: object) -> Candidate:
    return fbnetv3_tiny_space().candidate(SMALL_ARCH, {**QUIET, **recipe})
