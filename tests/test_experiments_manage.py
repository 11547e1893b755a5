"""Renaming and deleting experiments: validation, the change log, atomicity, stale objects."""

from __future__ import annotations

import json

import duckdb
import pytest
from _events import FLAG

import promptab_nb as pab
from promptab_nb import _experiment_registry as registry

V = {"control": "1", "test": "2"}
EVENT_TABLES = ("exposures", "generations", "evaluations", "imports", "rejects")


@pytest.fixture()
def ws():
    w = pab.Workspace()
    yield w
    w.close()


def _changes(ws, exp_id):
    return ws.engine.fetch(
        "SELECT field, old, new FROM experiment_changes WHERE experiment_id = ? ORDER BY changed_at",
        [exp_id],
    )


def _events(ws):
    counts = ws.counts()
    return {t: counts[t] for t in EVENT_TABLES}


# -- rename ---------------------------------------------------------------------------------------
def test_rename_updates_the_held_object_the_store_and_the_change_log(ws) -> None:
    exp = ws.create_experiment("old", "p", V)
    assert exp.rename("new") is exp and exp.name == "new"
    assert ws.experiment("new") == exp and exp.flag_key == "old"  # the flag keeps its key
    with pytest.raises(pab.NotFoundError, match="no experiment 'old'.*experiments: new"):
        ws.experiment("old")
    assert _changes(ws, exp.id) == [("name", '"old"', '"new"')]
    (change,) = exp.design_changes()
    assert (change.field, json.loads(change.old), json.loads(change.new)) == ("name", "old", "new")


def test_rename_to_its_own_name_is_a_no_op(ws) -> None:
    exp = ws.create_experiment("same", "p", V)
    assert exp.rename("same") is exp and exp.name == "same"
    assert _changes(ws, exp.id) == []
    # another case of its own name is a real change (no other experiment has it)
    exp.rename("SAME")
    assert ws.experiment("SAME").id == exp.id and _changes(ws, exp.id) == [
        ("name", '"same"', '"SAME"')
    ]


def test_rename_to_another_experiments_name_is_refused_as_create_refuses_it(ws) -> None:
    a = ws.create_experiment("a", "p1", V)
    ws.create_experiment("Taken", "p2", V)
    with pytest.raises(
        pab.InvalidArgumentError, match="an experiment named 'Taken' already exists"
    ):
        a.rename("Taken")
    with pytest.raises(
        pab.InvalidArgumentError,
        match="named 'Taken' already exists, and 'taken' differs only in case or Unicode form",
    ):
        a.rename("taken")
    # the same words as create_experiment, whose rule this is
    with pytest.raises(pab.InvalidArgumentError, match="'taken' differs only in case"):
        ws.create_experiment("taken", "p3", V)
    assert a.name == "a" and ws.experiment("a") == a and _changes(ws, a.id) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", r"new_name == '', must be a non-empty string"),
        ("   ", r"new_name == '   ', must be a non-empty string"),
        (3, r"new_name == 3, must be a non-empty string"),
        (None, r"new_name == None, must be a non-empty string"),
        (" padded ", r"new_name == ' padded ' begins or ends with a space.*pass 'padded'"),
    ],
)
def test_rename_checks_the_name_as_create_does(ws, bad, message) -> None:
    exp = ws.create_experiment("keep", "p", V)
    with pytest.raises(pab.InvalidArgumentError, match=message):
        exp.rename(bad)
    assert ws.experiment("keep") == exp and _changes(ws, exp.id) == []


def test_a_concluded_experiment_can_be_renamed_and_keeps_its_verdict(ws) -> None:
    exp = ws.create_experiment("done", "p", V)
    exp.declare_winner("test")
    exp.rename("done (v2 won)")
    again = ws.experiment("done (v2 won)")
    assert (again.status, again.winner, again.concluded_at) == (
        "concluded",
        "test",
        exp.concluded_at,
    )


def test_rename_through_a_stale_object_uses_the_stored_name(ws) -> None:
    exp = ws.create_experiment("first", "p", V)
    ws.experiment("first").rename("second")
    exp.rename("third")  # the held object still says 'first'
    assert _changes(ws, exp.id)[-1] == ("name", '"second"', '"third"')
    assert exp.name == "third" and ws.experiment("third").id == exp.id


def test_names_with_sql_characters_are_parameters(ws) -> None:
    exp = ws.create_experiment("plain", "p", V)
    odd = 'it\'s "x"; DROP TABLE experiments; --'
    exp.rename(odd)
    assert ws.experiment(odd).id == exp.id
    ws.delete_experiment(odd)
    assert len(ws.experiments()) == 0


def test_the_report_history_shows_a_rename(loaded) -> None:
    ws, exp = loaded
    exp.set_design(goal="cost")
    exp.rename("support v2")
    html = pab.report.render(exp, over_time=False)
    # (under the title, not as a design change: tests/report/test_history.py)
    assert "Renamed from &#x27;exp&#x27; to &#x27;support v2&#x27; on " in html
    assert "name changed" not in html


def test_a_renamed_experiment_still_reads_its_flag(ws, export_paths) -> None:
    ws.load_posthog(export_paths["parquet"], progress=False)
    exp = ws.create_experiment(FLAG, "support", V)  # flag_key defaults to the name
    before = exp.analyze(["cost"]).health.exposed
    exp.rename("support: v2 vs v1")
    assert exp.flag_key == FLAG and exp.analyze(["cost"]).health.exposed == before


# -- delete ---------------------------------------------------------------------------------------
def test_delete_a_running_experiment_with_its_changes_only(ws) -> None:
    keep = ws.create_experiment("keep", "p1", V, goal="cost")
    gone = ws.create_experiment("gone", "p2", V, goal="cost")
    keep.set_design(mde="-5%")
    gone.set_design(mde="-5%")
    gone.rename("gone-2")
    assert ws.delete_experiment("gone-2") is None
    assert [e.name for e in ws.experiments()] == ["keep"]
    assert _changes(ws, gone.id) == [] and len(_changes(ws, keep.id)) == 1


def test_delete_by_id(ws) -> None:
    exp = ws.create_experiment("by-id", "p", V)
    ws.delete_experiment(exp.id)
    assert len(ws.experiments()) == 0


@pytest.mark.parametrize("end", ["concluded", "stopped"])
def test_deleting_a_finished_experiment_needs_force(ws, end) -> None:
    exp = ws.create_experiment("verdict", "p", V)
    exp.declare_winner("test") if end == "concluded" else exp.stop()
    with pytest.raises(pab.ExperimentStateError, match=f"'verdict' is {end}.*force=True") as info:
        ws.delete_experiment("verdict")
    if end == "concluded":
        assert "winner 'test'" in str(info.value)
    assert ws.experiment("verdict").status == end  # nothing deleted
    ws.delete_experiment("verdict", force=True)
    assert len(ws.experiments()) == 0


def test_force_is_keyword_only_and_a_bool(ws) -> None:
    ws.create_experiment("k", "p", V).stop()
    with pytest.raises(TypeError):
        ws.delete_experiment("k", True)  # type: ignore[misc]
    with pytest.raises(pab.InvalidArgumentError, match="force == 'yes'"):
        ws.delete_experiment("k", force="yes")  # type: ignore[arg-type]
    assert ws.experiment("k").status == "stopped"


def test_delete_unknown_names_it_and_lists_the_known_ones(ws) -> None:
    with pytest.raises(pab.NotFoundError, match="no experiment 'ghost'.*create one"):
        ws.delete_experiment("ghost")
    ws.create_experiment("alpha", "p1", V)
    ws.create_experiment("beta", "p2", V)
    with pytest.raises(pab.NotFoundError, match="no experiment 'ghost'.*experiments: alpha, beta"):
        ws.delete_experiment("ghost")
    with pytest.raises(pab.NotFoundError, match="no experiment 99.*experiments: alpha, beta"):
        ws.delete_experiment(99)
    with pytest.raises(pab.NotFoundError, match="did you mean 'alpha'"):
        ws.delete_experiment("ALPHA")  # a case variant is suggested, never deleted
    with pytest.raises(pab.InvalidArgumentError, match="an experiment's name .* or its id"):
        ws.delete_experiment(True)  # type: ignore[arg-type]
    assert [e.name for e in ws.experiments()] == ["beta", "alpha"]


def test_delete_is_atomic(ws, monkeypatch) -> None:
    exp = ws.create_experiment("atomic", "p", V, goal="cost")
    exp.set_design(mde="-5%")
    before = _changes(ws, exp.id)
    # the last statement fails: the changes deleted before it come back
    monkeypatch.setattr(registry, "_DELETE_EXPERIMENT", "DELETE FROM no_such_table WHERE id = ?")
    with pytest.raises(duckdb.Error):
        ws.delete_experiment("atomic")
    assert ws.experiment("atomic") == exp and _changes(ws, exp.id) == before


def test_a_held_experiment_after_deletion_says_so(ws) -> None:
    exp = ws.create_experiment("held", "p", V, goal="cost")
    ws.create_experiment("other", "p2", V)
    ws.delete_experiment("held")
    calls = {
        "stop": lambda e: e.stop(),
        "declare_winner": lambda e: e.declare_winner("test"),
        "rename": lambda e: e.rename("x"),
        "refresh": lambda e: e.refresh(),
        "set_design": lambda e: e.set_design(mde="-5%"),
        "design_changes": lambda e: e.design_changes(),
        "analyze": lambda e: e.analyze(["cost"]),
    }
    for what, call in calls.items():
        with pytest.raises(pab.NotFoundError) as info:
            call(exp)
        assert type(info.value) is pab.NotFoundError, what
        assert "experiment 'held' (id 1) was deleted from this workspace" in str(info.value), what
        assert "experiments: other" in str(info.value), what
    assert [e.name for e in ws.experiments()] == ["other"]
    assert ws.engine.fetch("SELECT count(*) FROM experiment_changes")[0][0] == 0


def test_a_deleted_id_is_never_given_again(ws) -> None:
    first = ws.create_experiment("first", "p1", V)
    last = ws.create_experiment("last", "p2", V)
    ws.delete_experiment("last")
    new = ws.create_experiment("new", "p3", V)
    assert new.id > last.id > first.id
    # the stale object cannot reach the new experiment through a reused id
    with pytest.raises(pab.NotFoundError, match="'last' .* was deleted"):
        last.stop()
    assert ws.experiment("new").status == "running"


def test_rename_and_delete_leave_the_event_tables_alone(loaded) -> None:
    ws, exp = loaded
    before = _events(ws)
    assert before["exposures"] and before["generations"]
    exp.rename("renamed")
    ws.create_experiment("second", "other", V)
    ws.delete_experiment("second")
    exp.declare_winner("test")
    ws.delete_experiment("renamed", force=True)
    assert _events(ws) == before


def test_a_file_workspace_reopened_after_rename_and_delete(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    with pab.Workspace(path) as w:
        w.create_experiment("a", "p1", V).rename("a2")
        w.create_experiment("b", "p2", V)
        w.create_experiment("c", "p3", V)
        w.delete_experiment("c")
    with pab.Workspace(path) as w:
        assert [e.name for e in w.experiments()] == ["b", "a2"]
        assert _changes(w, w.experiment("a2").id) == [("name", '"a"', '"a2"')]
        assert w.create_experiment("d", "p4", V).id == 4  # the deleted 3 is not reused
        w.delete_experiment("b")
    with pab.Workspace(path) as w:
        assert [e.name for e in w.experiments()] == ["d", "a2"]


def test_a_closed_workspace_says_so(tmp_path) -> None:
    w = pab.Workspace()
    w.create_experiment("x", "p", V)
    w.close()
    with pytest.raises(pab.InvalidArgumentError, match="is closed"):
        w.delete_experiment("x")
