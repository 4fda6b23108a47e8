"""[executor.dask] as users write it: checked with the file's other problems."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path

import pytest
from dask_support import BIN
from hybrid_core import ConfigError

import hybrid_core_dask
from hybrid_core_dask import DaskSettings, read_settings


def test_the_distribution_declares_the_dask_entry_point() -> None:
    dist = importlib.metadata.distribution("hybrid-core-dask")
    (entry,) = [e for e in dist.entry_points if e.group == "hybrid_core"]
    assert (entry.name, entry.value) == ("dask", "hybrid_core_dask")
    assert dist.version == hybrid_core_dask.__version__
    assert "distributed" in " ".join(dist.requires or ())


def test_defaults_and_every_problem_at_once() -> None:
    assert read_settings(None) == DaskSettings()
    assert read_settings({"address": ""}).address is None
    with pytest.raises(ConfigError) as caught:
        read_settings({"adress": "x", "n_workers": 0, "resources": {"cpu": 1}})
    keys = {p.key: p.message for p in caught.value.problems}
    assert "did you mean 'address'?" in keys["executor.dask.adress"]
    assert set(keys) == {"executor.dask.adress", "executor.dask.n_workers",
                         "executor.dask.resources.cpu"}  # fmt: skip


def test_validate_reports_a_bad_key_with_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "hybrid.toml"
    config.write_text('[executor]\nname = "dask"\n[executor.dask]\nn_worker = 2\n'
                      "[executor.dsak]\nx = 1\n")  # fmt: skip
    done = subprocess.run([str(BIN / "hybrid"), "validate", "--config", str(config)],
                          capture_output=True, text=True, cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "executor.dask.n_worker: unknown setting (did you mean 'n_workers'?)" in done.stderr
    assert "hybrid.toml" in done.stderr
