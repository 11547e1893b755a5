"""``promptab simulate traffic|aa|power|peeking``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ._helpers import assert_one_line_error, run


def test_simulate_traffic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys,
        "simulate",
        "traffic",
        "--users",
        "200",
        "--effect",
        "test.latency=0.9",
        "--seed",
        "1",
        "--formats",
        "parquet,csv",
        "--out",
        tmp_path / "sim",
        "--json",
    )
    assert code == 0, err
    truth = json.loads(out)
    assert truth["seed"] == 1 and truth["users"] == 200
    assert (tmp_path / "sim.parquet").is_file() and (tmp_path / "sim.csv").is_file()
    code, _, err = run(capsys, "simulate", "traffic", "--effect", "latency", "--out", tmp_path)
    assert_one_line_error(code, err, "VARIANT.METRIC=NUMBER")
    code, _, err = run(capsys, "simulate", "traffic", "--users", "-3", "--out", tmp_path / "x")
    assert_one_line_error(code, err, "users")


def test_simulate_studies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "simulate", "aa", "--sims", "300", "--n-per-arm", "200", "--seed", "1"
    )
    assert code == 0 and "false-positive rate" in out
    code, out, _ = run(
        capsys,
        "simulate",
        "power",
        "--effect",
        "0.1",
        "--n-per-arm",
        "100,400",
        "--sims",
        "200",
        "--seed",
        "1",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["n_per_arm"] for r in rows] == [100, 400]
    assert rows[0]["power"] < rows[1]["power"]
    code, out, _ = run(
        capsys, "simulate", "peeking", "--sims", "200", "--n-per-arm", "200", "--seed", "1"
    )
    assert code == 0 and "looks" in out
    code, _, err = run(capsys, "simulate", "power", "--effect", "0.1", "--n-per-arm", "many")
    assert_one_line_error(code, err, "--n-per-arm")


def test_an_effect_given_twice_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    code, _, err = run(capsys, "simulate", "traffic", "--users", "100", "--out", tmp_path,
                       "--effect", "test.latency=0.9", "--effect", "test.latency=0.5")  # fmt: skip
    assert_one_line_error(code, err, "--effect gives test.latency twice")
