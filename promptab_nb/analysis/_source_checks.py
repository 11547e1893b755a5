"""Checks that an experiment's assignment source, prompt and versions match the workspace's
data before any analysis, each error naming what the workspace does hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..engines.base import Engine
    from ..experiments import Experiment


def _present(engine: Engine, query: str, params: Any = None) -> str:
    rows = engine.fetch(query, params)
    return ", ".join(str(r[0]) for r in rows) or "none"


def check_source(engine: Engine, exp: Experiment) -> None:
    """Raise :class:`NotFoundError` when the experiment's assignment source, prompt name or a
    variant's version (or arm) matches nothing, naming what the workspace does hold, and
    :class:`InvalidArgumentError` when, assigned by version or arm, two variants name the same
    one (their units could not be told apart: every unit went to the first)."""
    from ..experiments import check_distinct_arms

    # (create_experiment checks it too; an experiment stored before that is caught here)
    check_distinct_arms(exp.name, exp.variants, exp.assigned_by)
    if exp.assigned_by == "flag":
        _check_flag(engine, exp)
    if exp.prompt_name is not None and not engine.fetch_facts(
        "SELECT 1 FROM generations WHERE prompt_name = $prompt LIMIT 1",
        {"prompt": exp.prompt_name},
    ):
        # (the names listed are the 20 most used: a workspace may hold many more)
        prompts = [
            r[0]
            for r in engine.fetch_facts(
                "SELECT prompt_name FROM generations WHERE prompt_name IS NOT NULL "
                "GROUP BY prompt_name ORDER BY count(*) DESC LIMIT 20"
            )
        ]
        if prompts:
            raise NotFoundError(
                f"prompt {exp.prompt_name!r} of experiment {exp.name!r} matches no generation; "
                f"prompts in the workspace: {', '.join(map(repr, prompts))}"
            )
    if exp.assigned_by == "flag":
        return  # a flag assigns: versions are checked against each arm's generations (arm_versions)
    column = "variant" if exp.assigned_by == "arm" else "prompt_version"
    what = "arm" if exp.assigned_by == "arm" else "prompt version"
    of_prompt = "($prompt IS NULL OR prompt_name IS NULL OR prompt_name = $prompt)"
    found = {
        r[0]
        for r in engine.fetch_facts(
            f"SELECT DISTINCT {column} FROM generations "
            f"WHERE list_position($versions, {column}) IS NOT NULL AND {of_prompt}",
            {"prompt": exp.prompt_name, "versions": list(exp.variants.values())},
        )
    }
    missing = {k: v for k, v in exp.variants.items() if v not in found}
    if missing:
        # (the values listed are the 50 most used)
        held = [
            r[0]
            for r in engine.fetch_facts(
                f"""SELECT {column} FROM generations WHERE {column} IS NOT NULL AND {of_prompt}
                    GROUP BY {column} ORDER BY count(*) DESC LIMIT 50""",
                {"prompt": exp.prompt_name},
            )
        ]
        key, value = next(iter(missing.items()))
        scope = f" of prompt {exp.prompt_name!r}" if exp.prompt_name else ""
        raise NotFoundError(
            f"{what} {value!r} of variant {key!r} matches no generation{scope}; "
            f"{what}s present: {', '.join(map(repr, held)) or 'none'}. " + _holdings(engine)
        )


def check_arm_versions(engine: Engine, table: str, exp: Experiment) -> None:
    """With a flag, raise :class:`NotFoundError` when an arm's generations carry prompt versions
    and none is the version the experiment declares for it (e.g. ``test=v3`` where the test
    arm's users ran ``v2``): the analysis would silently describe another prompt.

    The per-unit rows keep each unit's smallest and largest version only, so an arm passes when
    any unit's range holds the declared version (a unit that ran v1, v2 and v3 has ``v2``
    between its bounds): the check never refuses an arm that ran its version."""
    rows = engine.fetch(
        f"""SELECT variant, list(DISTINCT v) FROM (
                SELECT variant, vmin AS v FROM {table} UNION ALL SELECT variant, vmax FROM {table}
            ) WHERE v IS NOT NULL GROUP BY variant"""
    )
    seen = {k: sorted(map(str, vs)) for k, vs in rows}
    for key, version in exp.variants.items():
        if seen.get(key) and version not in seen[key]:
            inside = engine.fetch(
                f"SELECT 1 FROM {table} WHERE variant = ? AND vmin < ? AND ? < vmax LIMIT 1",
                [key, version, version],
            )
            if inside:
                continue
            raise NotFoundError(
                f"variant {key!r} of experiment {exp.name!r} is declared as prompt version "
                f"{version!r}, but its units' generations use {', '.join(map(repr, seen[key]))}. "
                "Declare the versions the arms really ran, e.g. "
                + ", ".join(f"{k}={(seen.get(k) or [v])[0]}" for k, v in exp.variants.items())
            )


def _holdings(engine: Engine) -> str:
    """What the workspace holds that could assign arms: flags, arms and versions per prompt."""
    flags = _present(
        engine, "SELECT flag_key FROM exposures GROUP BY flag_key ORDER BY count(*) DESC LIMIT 10"
    )
    per_prompt = engine.fetch(
        """SELECT coalesce(prompt_name, '(no prompt name)'),
                  list(DISTINCT prompt_version) FILTER (WHERE prompt_version IS NOT NULL),
                  list(DISTINCT variant) FILTER (WHERE variant IS NOT NULL)
           FROM generations GROUP BY 1 ORDER BY count(*) DESC LIMIT 10"""
    )
    parts = [f"flags: {flags}"]
    for prompt, versions, arms in per_prompt:
        parts.append(
            f"prompt {prompt!r}: versions {sorted(map(str, versions or [])) or 'none'}, "
            f"arms {sorted(map(str, arms or [])) or 'none'}"
        )
    return "The workspace holds " + "; ".join(parts) + "."


def _check_flag(engine: Engine, exp: Experiment) -> None:
    if engine.fetch_facts("SELECT 1 FROM exposures WHERE flag_key = ? LIMIT 1", [exp.flag_key]):
        return
    raise NotFoundError(
        f"no exposures for flag {exp.flag_key!r} of experiment {exp.name!r}"
        + (
            ". "
            + _holdings(engine)
            + " Create the experiment with assigned_by='version' or 'arm' when the data has "
            "no flag."
            if engine.fetch("SELECT 1 FROM exposures UNION ALL SELECT 1 FROM generations LIMIT 1")
            else "; the workspace has no $feature_flag_called events: load an export first"
        )
    )
