"""Executors: same seeds, same numbers, failures isolated."""

from __future__ import annotations

import concurrent.futures as cf

import numpy as np
import pytest

from workbench.errors import ConfigError
from workbench.executors import JobFailure, describe_executor, map_jobs, spawn_seeds


def draw(seed: int) -> float:
    if seed < 0:
        raise ValueError("negative seed")
    return float(np.random.default_rng(seed).normal())


def test_spawn_seeds_reproducible_and_distinct():
    a, b = spawn_seeds(42, 100), spawn_seeds(42, 100)
    assert a == b and len(set(a)) == 100
    assert spawn_seeds(43, 3) != a[:3]


def test_serial_equals_process_pool():
    seeds = spawn_seeds(7, 12)
    serial = map_jobs(draw, seeds)
    with cf.ProcessPoolExecutor(2) as pool:
        pooled = map_jobs(draw, seeds, executor=pool)
    assert serial == pooled == map_jobs(draw, seeds, executor=2)


def test_failure_is_isolated():
    out = map_jobs(draw, [1, -1, 2])
    assert isinstance(out[1], JobFailure) and not out[1]
    assert out[1].index == 1 and out[1].error == "ValueError: negative seed"
    assert out[0] == draw(1) and out[2] == draw(2)
    with pytest.raises(ValueError):
        map_jobs(draw, [1, -1], isolate=False)


def test_bad_executor_spelling():
    with pytest.raises(ConfigError, match="not known"):
        map_jobs(draw, [1], executor="threads")
    assert describe_executor(None) == "serial" and describe_executor(3) == "processes:3"
