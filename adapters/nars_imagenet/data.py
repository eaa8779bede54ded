"""Data sets for the trainer: ImageNet-style image folders and scikit-learn's handwritten digits.

* An **image folder** ``DIR`` holds ``DIR/train/<class>/*.jpg|png`` and ``DIR/val/<class>/...``
  (torchvision's ``ImageFolder`` layout). Training images get the standard augmentation
  (random-resized crop, horizontal flip, normalisation with the ImageNet mean and std);
  validation images are resized to ``resolution / 0.875`` and centre-cropped.
* ``digits`` is scikit-learn's 1,797 8x8 handwritten digits (shipped inside scikit-learn, no
  download): a fixed, stratified-by-shuffle 80/20 split, one channel, upsampled to the candidate's
  resolution once.

A held-out **test** split, where asked for (``test=True``), is ``DIR/test/<class>/...`` of an image
folder, or for digits a further 20% of the images taken from the training part (60/20/20): the
validation images stay the same ones either way.

:class:`GlobalBatchSampler` gives every process of a distributed run its share of each global
batch, in an order that depends only on the seed and the epoch (so runs resume exactly and a
2-process run sees the same global batches as a 1-process run).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, TensorDataset

from nars_plugin.errors import ConfigError, DataFileError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DIGITS = "digits"


@dataclass
class DataBundle:
    """Training, validation and (where asked for) test sets of one data set at one resolution."""

    train: Dataset[Any]
    val: Dataset[Any]
    num_classes: int
    in_channels: int
    test: Dataset[Any] | None = None


def load_digits_bundle(resolution: int, val_fraction: float = 0.2, test_fraction: float = 0.0) -> DataBundle:
    """scikit-learn's digits, split 80/20 with a fixed seed, upsampled to ``resolution``; with
    ``test_fraction`` that share of all images leaves the training part for a test set (the
    validation images do not change)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "the digits data set needs scikit-learn", 'install it with pip install "nars-plugin[imagenet]"'
        ) from None
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = (images - images.mean()) / images.std()
    if resolution != images.shape[-1]:
        images = torch.nn.functional.interpolate(images, size=resolution, mode="bilinear", align_corners=False)
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = np.random.default_rng(0).permutation(len(labels))
    n_val, n_test = int(round(val_fraction * len(labels))), int(round(test_fraction * len(labels)))
    val, test, train = order[:n_val], order[n_val : n_val + n_test], order[n_val + n_test :]
    bundle = DataBundle(TensorDataset(images[train], labels[train]), TensorDataset(images[val], labels[val]), 10, 1)
    if n_test:
        bundle.test = TensorDataset(images[test], labels[test])
    return bundle


def load_image_folder(root: str | Path, resolution: int, test: bool = False) -> DataBundle:
    """An ImageNet-style folder with ``train/`` and ``val/`` class subfolders (and ``test/`` with ``test``)."""
    from torchvision import datasets, transforms

    root = Path(root)
    check_dataset(str(root), test)
    normalize = transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train_tf = transforms.Compose(
        [
            transforms.RandomResizedCrop(resolution),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            normalize,
        ]
    )
    val_tf = transforms.Compose(
        [
            transforms.Resize(int(round(resolution / 0.875))),
            transforms.CenterCrop(resolution),
            transforms.ToTensor(),
            normalize,
        ]
    )
    try:
        train = datasets.ImageFolder(str(root / "train"), transform=train_tf)
        val = datasets.ImageFolder(str(root / "val"), transform=val_tf)
        held_out = datasets.ImageFolder(str(root / "test"), transform=val_tf) if test else None
    except (FileNotFoundError, OSError) as exc:
        raise DataFileError(f"cannot read image folder {root}: {exc}", "check the folder holds images") from None
    if train.classes != val.classes:
        raise DataFileError(
            f"train/ and val/ of {root} have different classes", "give both splits the same class subfolders"
        )
    if held_out is not None and held_out.classes != train.classes:
        raise DataFileError(
            f"train/ and test/ of {root} have different classes", "give both splits the same class subfolders"
        )
    return DataBundle(train, val, len(train.classes), 3, held_out)


def check_dataset(dataset: str, test: bool = False) -> None:
    """Raise a clear error unless ``dataset`` is ``"digits"`` or a folder with ``train/`` and ``val/``
    (and ``test/`` with ``test``)."""
    if dataset == DIGITS:
        return
    if not Path(dataset).is_dir():
        raise DataFileError(
            f"data set {dataset!r} is neither 'digits' nor a folder",
            "pass --dataset digits or --data DIR with DIR/train and DIR/val image folders",
        )
    for split in ("train", "val", "test") if test else ("train", "val"):
        if not (Path(dataset) / split).is_dir():
            raise DataFileError(
                f"image folder {dataset} has no {split}/ subfolder",
                "lay the data out as DIR/train/<class>/<image> and DIR/val/<class>/<image>",
            )


#: The share of the digits that becomes the test set where one is asked for.
DIGITS_TEST_FRACTION = 0.2


def load_data(dataset: str, resolution: int, test: bool = False) -> DataBundle:
    """``"digits"`` or the path of an image folder; ``test``: with the held-out test split."""
    check_dataset(dataset, test)
    if dataset == DIGITS:
        return load_digits_bundle(resolution, test_fraction=DIGITS_TEST_FRACTION if test else 0.0)
    return load_image_folder(dataset, resolution, test)


class GlobalBatchSampler(Sampler[list[int]]):
    """This process's micro-batches of each global batch, for one epoch at a time.

    Each epoch shuffles the indices with ``seed + epoch``, cuts them into global batches of
    ``global_batch`` (the last incomplete one is dropped), gives rank ``r`` the ``r``-th of
    ``world`` equal slices, and cuts that slice into ``micro_batches`` micro-batches.
    """

    def __init__(
        self, n: int, global_batch: int, seed: int, rank: int = 0, world: int = 1, micro_batches: int = 1
    ) -> None:
        if global_batch % (world * micro_batches):
            raise ConfigError(
                f"global batch {global_batch} is not divisible by {world} processes x {micro_batches} micro-batches",
                "choose a batch size that splits evenly",
            )
        if n < global_batch:
            raise ConfigError(f"the training set has {n} images, fewer than one batch of {global_batch}",
                              "lower --batch-size")  # fmt: skip
        self.n, self.global_batch, self.seed = n, global_batch, seed
        self.rank, self.world, self.micro_batches = rank, world, micro_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order to produce."""
        self.epoch = epoch

    @property
    def steps(self) -> int:
        """Optimizer steps (global batches) per epoch."""
        return self.n // self.global_batch

    def __len__(self) -> int:
        return self.steps * self.micro_batches

    def __iter__(self) -> Iterator[list[int]]:
        order = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        share = self.global_batch // self.world
        micro = share // self.micro_batches
        for step in range(self.steps):
            start = step * self.global_batch + self.rank * share
            for m in range(self.micro_batches):
                yield order[start + m * micro : start + (m + 1) * micro].tolist()
