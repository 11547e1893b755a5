"""The workspace: one DuckDB connection (in memory or a file) holding the canonical tables."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from . import schema
from ._checks import check, one_of
from ._sql import ident, used_params
from .engines.duckdb import DuckDBEngine
from .errors import DataError, InvalidArgumentError, NotFoundError, WorkspaceInUseError

if TYPE_CHECKING:
    import pandas as pd

    from .experiments import Experiment
    from .loaders.posthog import LoadReport
    from .metrics import Metric
    from .queries import BaselineEstimates, DailyUnits
    from .queries_load import RejectCount

Frame = Literal["pandas", "polars", "arrow"]

#: A DuckDB size: a number above 0 and a unit DuckDB reads (``2GB``, ``512MiB``, ``50%``).
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z%]+)\s*")
_SIZE_HINT = "give a size with its unit, e.g. '2GB', '512MiB' or '50%' (of the machine's memory)"


def _check_memory_limit(value: Any) -> str | None:
    """``memory_limit`` as DuckDB takes it; a number without a unit, 0 or a negative size is
    refused (DuckDB reads '-1GB' as no limit at all: 80 % of the machine)."""
    if value is None:
        return None
    size = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if size is None or float(size.group(1)) <= 0:
        raise InvalidArgumentError(f"memory_limit == {value!r}: {_SIZE_HINT}")
    return value


class Workspace:
    """An embedded DuckDB database with promptab_nb's canonical tables.

    Parameters
    ----------
    path
        ``None`` or ``":memory:"`` for an in-memory workspace; a file path for a persistent
        workspace that a later notebook reopens.
    memory_limit
        DuckDB memory limit, e.g. ``"2GB"``; DuckDB spills to disk beyond it. Default: a
        quarter of the machine's memory, at most 512 MiB (at least 128 MiB), so a first
        analysis of a 200 k-user export stays under 1 GiB with Python around it. Raise it on a
        big machine for speed.
    temp_directory
        Where DuckDB spills beyond ``memory_limit``. Default: a fresh folder
        ``promptab_<pid>_<hex>`` in the system temp folder (``TMPDIR``), created on the first
        spill and removed on :meth:`close` (or by the next load if the process was killed).
    threads
        DuckDB worker threads (default: all cores).

    Raises
    ------
    InvalidArgumentError
        ``memory_limit`` is not a size above 0 with its unit, or ``threads`` not an integer >= 1.
    WorkspaceInUseError
        Another process has the workspace file open for writing.
    DataError
        The file is not a DuckDB database or was written by a newer schema version.

    Examples
    --------
    >>> import promptab_nb as pab
    >>> ws = pab.Workspace()
    >>> ws.table("generations").shape[1] > 10
    True
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        memory_limit: str | None = None,
        temp_directory: str | Path | None = None,
        threads: int | None = None,
    ) -> None:
        from .loaders import default_memory_limit, duckdb_temp_dir
        from .loaders._context import ALLOCATOR_FLUSH

        memory_limit = _check_memory_limit(memory_limit)
        if threads is not None:
            check(threads, "threads", ge=1, integer=True)
        self.path = None if path in (None, ":memory:") else str(Path(path).expanduser())
        config: dict[str, Any] = {
            "memory_limit": memory_limit or default_memory_limit(),
            "temp_directory": str(temp_directory or duckdb_temp_dir()),
            "allocator_bulk_deallocation_flush_threshold": ALLOCATOR_FLUSH,
        }
        if threads is not None:
            config["threads"] = int(threads)
        try:
            self.con = duckdb.connect(self.path or ":memory:", config=config)
        except duckdb.IOException as err:
            msg = str(err)
            if "lock" in msg.lower():
                raise WorkspaceInUseError(
                    f"workspace {self.path} is in use by another process ({msg.splitlines()[0]}). "
                    "Close the other notebook or process, or open a copy of the file."
                ) from err
            raise DataError(f"cannot open workspace {self.path}: {msg}") from err
        except duckdb.Error as err:
            if memory_limit is not None and "memory" in str(err).lower():
                # (a unit DuckDB does not know, or a limit too small to open the database in)
                raise InvalidArgumentError(
                    f"memory_limit == {memory_limit!r}: {_SIZE_HINT}; DuckDB said: "
                    f"{str(err).splitlines()[0]}"
                ) from err
            if "same database file with a different configuration" in str(err):
                # (each Workspace has its own spill folder, so DuckDB refuses a second one)
                raise WorkspaceInUseError(
                    f"workspace {self.path} is already open in this process (a Workspace not "
                    "closed yet, e.g. from a cell run before). Use that one, or call its "
                    ".close() first; `with pab.Workspace(path) as ws:` closes it for you."
                ) from err
            raise DataError(
                f"cannot open workspace {self.path}: {err}. Is it a promptab_nb DuckDB file?"
            ) from err
        #: The analysis engine over this connection (queries, per-unit cache, provenance).
        self.engine = DuckDBEngine(self.con)
        self._lock = self.engine.lock
        self._in_transaction = False
        # Naive timestamps in exports are UTC (PostHog writes UTC); make DuckDB read them so.
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self._create_schema()
        except duckdb.OutOfMemoryException as err:
            self.con.close()
            raise InvalidArgumentError(
                f"memory_limit == {memory_limit!r} is too small to open the workspace in; "
                "give more, e.g. '512MiB' (or leave it out for the default)"
            ) from err

    # -- schema ---------------------------------------------------------------------------
    def _create_schema(self) -> None:
        with self.transaction():
            for table in schema.TABLES:
                self.con.execute(schema.ddl(table))
            for table, column, type_ in schema.ADDED_COLUMNS:
                self.con.execute(
                    f"ALTER TABLE {ident(table)} ADD COLUMN IF NOT EXISTS {ident(column)} {type_}"
                )
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.con.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", [str(schema.SCHEMA_VERSION)]
                )
            elif int(row[0]) < schema.SCHEMA_VERSION:
                self.con.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    [str(schema.SCHEMA_VERSION)],
                )
            elif int(row[0]) > schema.SCHEMA_VERSION:
                raise DataError(
                    f"workspace {self.path} has schema version {row[0]}, newer than this "
                    f"promptab_nb ({schema.SCHEMA_VERSION}). Upgrade promptab_nb to open it."
                )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block in one transaction: everything or nothing is written.

        Raises
        ------
        InvalidArgumentError
            The block is already inside a transaction of this workspace: DuckDB has no nested
            transactions, and every call that writes (``create_experiment``, a load, an
            offline run) runs its own.
        """
        with self._lock:
            if self._in_transaction:
                raise InvalidArgumentError(
                    "already inside ws.transaction(): DuckDB cannot nest transactions, and "
                    "create_experiment, the loads and offline runs each run their own; call "
                    "them outside the with-block"
                )
            self.con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            else:
                self.con.execute("COMMIT")
            finally:
                self._in_transaction = False

    # -- frames out -----------------------------------------------------------------------
    def table(self, name: str, *, as_: Frame = "pandas") -> Any:
        """Return a canonical table as a pandas, polars or Arrow frame.

        Raises
        ------
        NotFoundError
            ``name`` is not a canonical table.
        """
        if name not in schema.PUBLIC_TABLES:
            raise NotFoundError(
                f"no table {name!r} in the workspace; tables: {', '.join(schema.PUBLIC_TABLES)}"
            )
        return self.sql(f"SELECT * FROM {ident(name)}", as_=as_)

    def sql(
        self,
        query: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        as_: Frame = "pandas",
    ) -> Any:
        """Run a read query with DuckDB parameters (``?`` or ``$name``); return a frame.

        Raises
        ------
        InvalidArgumentError
            The query fails to parse or bind (the DuckDB message is included).
        """
        one_of(as_, "as_", ("pandas", "polars", "arrow"))
        if isinstance(params, Mapping):
            params = used_params(query, dict(params))
        with self._lock:
            try:
                rel = self.con.sql(query, params=params or None)
                if rel is None:  # a statement without a result
                    return None
                if as_ == "pandas":
                    return rel.df()
                if as_ == "polars":
                    return rel.pl()
                return rel.to_arrow_table()
            except duckdb.Error as err:
                raise InvalidArgumentError(f"query failed: {err}") from err

    # -- loading --------------------------------------------------------------------------
    def load_posthog(
        self, path: str | Path, *, keep_properties: bool = False, progress: bool = True
    ) -> LoadReport:
        """Load a PostHog export (Parquet, JSON lines, CSV; a path or a glob).

        ``$feature_flag_called`` → ``exposures``, ``$ai_generation`` → ``generations``,
        ``$ai_evaluation`` → ``evaluations``. Atomic (all files or nothing) and idempotent
        (events already loaded, by ``uuid``, are counted as duplicates and skipped).
        ``keep_properties=True`` also stores each generation's properties JSON (slower; see
        :func:`promptab_nb.loaders.posthog.load_posthog`).

        Returns
        -------
        LoadReport
            Files, sha256, rows read / loaded per table / rejected with reasons.
        """
        from .loaders.posthog import load_posthog

        return load_posthog(self, path, keep_properties=keep_properties, progress=progress)

    def load_spanlens(self, path: Any, **kwargs: Any) -> LoadReport:
        """Load Spanlens request exports; see :func:`promptab_nb.loaders.spanlens.load_spanlens`.

        Example: ``ws.load_spanlens("requests.csv", arm_column="variant")`` or
        ``ws.load_spanlens("requests.jsonl", arms=df_with_trace_id_and_variant)``.
        """
        from .loaders.spanlens import load_spanlens

        return load_spanlens(self, path, **kwargs)

    def load_langfuse(self, observations: Any = None, **kwargs: Any) -> LoadReport:
        """Load Langfuse observations / scores; see :func:`promptab_nb.loaders.langfuse.load_langfuse`.

        Example: ``ws.load_langfuse("observations.json", scores="scores.jsonl")``.
        """
        from .loaders.langfuse import load_langfuse

        return load_langfuse(self, observations, **kwargs)

    def load_otel(self, path: Any, **kwargs: Any) -> LoadReport:
        """Load OTLP JSON GenAI spans; see :func:`promptab_nb.loaders.otel.load_otel`.

        Example: ``ws.load_otel("traces.json", attribute_map={"cost_usd": "spanlens.cost_usd"})``.
        """
        from .loaders.otel import load_otel

        return load_otel(self, path, **kwargs)

    def load_promptfoo(self, path: Any, **kwargs: Any) -> LoadReport:
        """Load promptfoo results into the offline tables; see :mod:`promptab_nb.loaders.promptfoo`.

        Open the results as an offline run with ``pab.offline.from_promptfoo(ws, path)`` (or
        ``ws.offline_run("promptfoo-<evalId>")``) and compare prompts paired by test case.
        """
        from .loaders.promptfoo import load_promptfoo

        return load_promptfoo(self, path, **kwargs)

    def load_frame(self, df: Any, **kwargs: Any) -> LoadReport:
        """Load a pandas/polars/Arrow frame; see :func:`promptab_nb.loaders.frames.load_frame`.

        Example: ``ws.load_frame(df, kind="generations", columns={"ts": "time", "distinct_id": "user"})``.
        """
        from .loaders.frames import load_frame

        return load_frame(self, df, **kwargs)

    def imports(self) -> pd.DataFrame:
        """The load history: one row per loaded file, newest last."""
        return self.sql("SELECT * FROM imports ORDER BY import_id")

    def rejects(self, import_id: int | None = None) -> pd.DataFrame:
        """Rows that could not be used, with the column at fault and the reason."""
        if import_id is None:
            return self.sql("SELECT * FROM rejects ORDER BY import_id, source_row")
        return self.sql(
            "SELECT * FROM rejects WHERE import_id = ? ORDER BY source_row", [import_id]
        )

    def rejects_summary(self, *, limit: int = 20) -> list[RejectCount]:
        """Rejected rows counted per loaded file and reason, most frequent first; see
        :func:`promptab_nb.queries_load.rejects_summary`."""
        from .queries_load import rejects_summary

        return rejects_summary(self.engine, limit=limit)

    def flag_variants(self, flag: str, prompt: str | None = None) -> dict[str, str]:
        """Variant key → prompt version of ``flag`` in the loaded exposures, ``"control"`` first;
        see :func:`promptab_nb.queries_load.flag_variants`.

        Example: ``ws.flag_variants("support-bot-prompt")`` → ``{"control": "v1", "test": "v2"}``.
        """
        from .queries_load import flag_variants

        return flag_variants(self.engine, flag, prompt)

    # -- experiments ----------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        prompt_name: str | None = None,
        variants: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> Experiment:
        """Create a running experiment; see :func:`promptab_nb.experiments.create_experiment`.

        Example: ``ws.create_experiment("support-v2", "support-bot", {"control": "1", "test": "2"},
        flag_key="support-bot-prompt")``.
        """
        from ._experiment_registry import create_experiment

        return create_experiment(self, name, prompt_name, variants, **kwargs)

    def experiment(self, name_or_id: str | int) -> Experiment:
        """Reopen an experiment by name or id."""
        from ._experiment_registry import get_experiment

        return get_experiment(self, name_or_id)

    def delete_experiment(self, name_or_id: str | int, *, force: bool = False) -> None:
        """Delete an experiment (by name or id) and its change history, in one transaction:
        on any failure nothing is deleted. The event tables (exposures, generations,
        evaluations, imports) are never touched, so the data stays for other experiments.

        A running experiment is deleted as asked. A concluded or stopped one needs
        ``force=True``: deleting it loses its verdict (winner, end time) and its history. An
        :class:`Experiment` object still held raises :class:`NotFoundError` when used, and
        its id is never given to a new experiment.

        Raises
        ------
        NotFoundError
            No experiment has that name or id (the message lists the names).
        ExperimentStateError
            The experiment is concluded or stopped and ``force`` is not ``True``.
        InvalidArgumentError
            ``name_or_id`` is neither text nor an integer, or ``force`` is not a bool.
        """
        from ._experiment_registry import delete_experiment

        delete_experiment(self, name_or_id, force=force)

    def experiments(self, prompt_name: str | None = None, status: str | None = None) -> Any:
        """List experiments, newest first (an :class:`ExperimentList` that renders as a table)."""
        from ._experiment_registry import list_experiments

        return list_experiments(self, prompt_name=prompt_name, status=status)

    # -- what the data holds (promptab_nb.queries; widgets use these instead of SQL) ------
    def prompt_names(self) -> list[str]:
        """Prompt names in the generations and the registry, most generations first."""
        from .queries import prompt_names

        return prompt_names(self)

    def prompt_versions(self, prompt_name: str) -> list[str]:
        """Versions of ``prompt_name`` (generations and registry), ``v2`` before ``v10``."""
        from .queries import prompt_versions

        return prompt_versions(self, prompt_name)

    def flags_for_prompt(self, prompt_name: str) -> list[str]:
        """Flags the users of ``prompt_name`` were exposed to, the most shared first."""
        from .queries import flags_for_prompt

        return flags_for_prompt(self, prompt_name)

    def daily_exposed_units(
        self, *, flag_key: str | None = None, prompt_name: str | None = None
    ) -> DailyUnits | None:
        """Units per day exposed to ``flag_key``, else calling ``prompt_name``; ``None`` when
        neither has rows. See :func:`promptab_nb.queries.daily_exposed_units`."""
        from .queries import daily_exposed_units

        return daily_exposed_units(self, flag_key=flag_key, prompt_name=prompt_name)

    def baseline_estimates(
        self,
        prompt_name: str,
        version: str,
        metrics: Sequence[str | Metric] | None = None,
    ) -> BaselineEstimates:
        """Observed per-user mean and sd (or rate) of ``metrics`` for one prompt version, the
        inputs of ``pab.stats.power.plan``. See :func:`promptab_nb.queries.baseline_estimates`."""
        from .queries import baseline_estimates

        return baseline_estimates(self, prompt_name, version, metrics)

    # -- offline experiments --------------------------------------------------------------
    @property
    def prompts(self) -> Any:
        """The prompt registry (immutable versions of prompt templates)."""
        from .offline.prompts import PromptRegistry

        return PromptRegistry(self)

    def run_offline(self, dataset: Any, versions: Sequence[Any], model: Any, **kwargs: Any) -> Any:
        """Run prompt versions over a dataset; see :func:`promptab_nb.offline.runner.run_offline`."""
        from .offline.runner import run_offline

        return run_offline(self, dataset, versions, model, **kwargs)

    def run_pairwise(
        self, dataset: Any, versions: Any = None, judge: Any = None, **kwargs: Any
    ) -> Any:
        """Judge pairs of versions' outputs and rank them; see
        :func:`promptab_nb.offline.pairwise.run_pairwise`."""
        from .offline.pairwise import run_pairwise

        return run_pairwise(self, dataset, versions, judge, **kwargs)

    def offline_runs(self) -> Any:
        """Offline runs stored in this workspace, newest first."""
        from .offline.runner import list_runs

        return list_runs(self)

    def offline_run(self, run_id: str) -> Any:
        """Reopen a stored offline run by id."""
        from .offline.runner import get_run

        return get_run(self, run_id)

    # -- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the DuckDB connection (a file workspace can then be opened elsewhere). Any
        later use of this workspace, or of an experiment on it, raises an InvalidArgumentError
        saying it is closed (not DuckDB's "Connection already closed")."""
        with contextlib.suppress(duckdb.Error):
            self.con.close()
        closed = _Closed(self.path)
        self.con = closed  # type: ignore[assignment]
        self.engine.con = closed  # type: ignore[assignment]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self) -> dict[str, int]:
        """Number of rows in each canonical table."""
        return {
            t: self.engine.fetch(f"SELECT count(*) FROM {ident(t)}")[0][0]
            for t in schema.PUBLIC_TABLES
        }

    def __repr__(self) -> str:
        where = self.path or ":memory:"
        try:
            c = self.counts()
            body = ", ".join(
                f"{k}={v:,}"
                for k, v in c.items()
                if k in ("exposures", "generations", "evaluations", "experiments")
            )
        except (duckdb.Error, InvalidArgumentError):
            body = "closed"
        return f"Workspace({where}: {body})"


class _Closed:
    """The connection of a closed workspace: any use names the cause and the fix."""

    def __init__(self, path: str | None) -> None:
        self._path = path

    def __getattr__(self, name: str) -> Any:
        where = self._path or "in memory"
        how = f"pab.Workspace({self._path!r})" if self._path else "a new pab.Workspace()"
        raise InvalidArgumentError(
            f"this workspace ({where}) is closed (ws.close(), or the end of its with-block); "
            f"open it again with {how}"
        )

    def close(self) -> None:
        """Closing again does nothing."""
