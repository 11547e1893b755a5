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


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["aa", "--sims", "0"], "--sims: n_sims == 0"),
        (["aa", "--sims", "200", "--n-per-arm", "1"], "--n-per-arm: n_per_arm == 1"),
        (["aa", "--sims", "200", "--alpha", "2"], "--alpha: alpha == 2.0"),
        (["aa", "--sims", "200", "--metric", "error_rate", "--baseline", "1.5"],
         "--baseline: baseline == 1.5"),
        (["aa", "--sims", "200", "--seed", "-1"], "--seed: seed == -1"),
        (["power", "--effect", "nan", "--sims", "100"], "--effect: effect is NaN"),
        (["power", "--effect", "0.05", "--n-per-arm", "", "--sims", "100"], "--n-per-arm: empty"),
        (["peeking", "--sims", "100", "--looks", "0"], "--looks: looks == 0"),
        (["traffic", "--users", "0", "--out", "OUT"], "--users: users == 0"),
        (["traffic", "--users", "50", "--days", "0", "--out", "OUT"], "--days: days == 0"),
        (["traffic", "--users", "50", "--formats", "xls", "--out", "OUT"],
         "--formats: formats == 'xls'"),
        (["traffic", "--users", "50", "--variants", "control=v1", "--out", "OUT"],
         "--variants: variants == {'control': 'v1'}"),
    ],
)  # fmt: skip
def test_errors_name_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], start: str
) -> None:
    # they named the Python arguments of pab.simulate ('n_sims == 0, must be >= 10' for --sims 0)
    # and '--n-per-arm ""' said only "empty list ''; give comma-separated names"
    argv = [str(tmp_path / "sim") if a == "OUT" else a for a in argv]
    code, _, err = run(capsys, "simulate", *argv)
    assert_one_line_error(code, err, f"promptab: error: {start}")


def test_an_output_under_a_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # --out a-file/sim said "File exists: a-file" (mkdir's error), not what is wrong
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = run(capsys, "simulate", "traffic", "--users", "50", "--out", blocker / "sim")
    assert_one_line_error(code, err, f"{blocker} is a file, not a folder", "--out")
