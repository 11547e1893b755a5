"""promptfoo ``--output results.json`` → offline_runs, offline_results, offline_scores.

Accepts ``EvaluateSummaryV3`` (``results.results[]``), the version-2 ``results.table`` shape
(``body[testIdx].outputs[promptIdx]``) and the docs' minimal ``results.outputs[]``. A version is
``prompt label @ provider id`` (``label [promptIdx N] @ provider`` when prompts share a label,
``label @ provider [provider label]`` when providers share an id), in ``promptIdx`` order, the
first being the baseline; the item is ``testIdx`` (the first one of a test case: ``--repeat N``
gives each repeat its own ``testIdx``, with the same ``testCase``, a v2 table body row's
``test``); the repeat index is the order
of a (version, item) pair's rows by ``testIdx``, then in the file. ``latencyMs`` → seconds;
``response.cached`` is kept in ``cached`` and a cache hit's latency is null (its ~0 ms is not
the model's). Scores: ``pass``
(``success`` as 1/0), ``score`` (only when it differs from pass) and each named score; errored
results have none (a failed call: ``failureReason`` 2 or a ``response.error``; a failed
assertion, whose reason promptfoo also writes into ``error``, is a fail with its scores). The
run id is ``promptfoo-<evalId>`` (else the file's sha256). A result whose
(run, version, item, repeat) is already stored is a duplicate (the first one loaded is kept, as
the event loaders keep the first row of a uuid), so reloading a file adds nothing and a later,
fuller export of the same eval adds only its new results; the run's row then describes all its
stored results. ``pab.offline.from_promptfoo`` opens it as an ``OfflineRun``.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataError, MissingColumnError
from . import _files
from ._context import Con, Input, LoadContext, sql_str
from ._load import load_all, loader_call, prepare_paths
from ._read import count, key, nested, pre_from_rec, read_docs, record_source
from ._report import LoadReport
from ._shape import not_object, not_scalar
from ._stage import Field, Staged, typed_stage

# Result rows as JSON objects, whatever the shape of the file.
_RESULTS = """
CREATE OR REPLACE TEMP TABLE {rec} AS
WITH d AS (SELECT doc FROM {docs}),
rows AS (
    SELECT generate_subscripts(l, 1) AS idx, CAST(unnest(l) AS VARCHAR) AS rec
    FROM (SELECT CASE
              WHEN json_type(doc, '$.results.results') = 'ARRAY'
                THEN from_json(json_extract(doc, '$.results.results'), '["JSON"]')
              WHEN json_type(doc, '$.results.outputs') = 'ARRAY'
                THEN from_json(json_extract(doc, '$.results.outputs'), '["JSON"]')
              WHEN json_type(doc, '$.results') = 'ARRAY'
                THEN from_json(json_extract(doc, '$.results'), '["JSON"]') END AS l FROM d)
    WHERE l IS NOT NULL
    UNION ALL
    -- version 2: body[testIdx].outputs[promptIdx], prompt labels in head.prompts; a row's
    -- `test` is its testCase (`--repeat N` gives each repeat a row with the same test)
    SELECT t * 100000 + o, CASE WHEN json_type(out) = 'OBJECT' THEN json_merge_patch(out,
               json_object('testIdx', t - 1, 'promptIdx', o - 1,
                           'prompt', json_extract(doc, '$.results.table.head.prompts[' || (o - 1) || ']'),
                           'provider', json_extract(doc, '$.results.table.head.prompts['
                                                         || (o - 1) || '].provider'),
                           'testCase', test))
           ELSE out END::VARCHAR
    FROM (SELECT doc, t, test, generate_subscripts(outs, 1) AS o, unnest(outs) AS out
          FROM (SELECT doc, t, json_extract(row, '$.test') AS test,
                       from_json(json_extract(row, '$.outputs'), '["JSON"]') AS outs
                FROM (SELECT doc, generate_subscripts(body, 1) AS t, unnest(body) AS row
                      FROM (SELECT doc, from_json(json_extract(doc, '$.results.table.body'),
                                                  '["JSON"]') AS body FROM d
                            WHERE json_type(doc, '$.results.results') IS DISTINCT FROM 'ARRAY'
                              AND json_type(doc, '$.results.table.body') = 'ARRAY'))))
)
SELECT row_number() OVER (ORDER BY idx) AS source_row, rec,
       CASE WHEN json_type(rec) <> 'OBJECT' THEN '(row)' END AS bad_col,
       CASE WHEN json_type(rec) <> 'OBJECT' THEN 'result is not a JSON object' END AS bad_reason,
       rec AS raw
FROM rows
"""

_KEYS = (
    "promptIdx", "testIdx", "prompt", "provider", "response", "error", "failureReason",
    "success", "pass", "score", "latencyMs", "cost", "namedScores", "vars", "text", "output",
    "tokenUsage", "gradingResult", "testCase",
)  # fmt: skip

_RESP = key("response")
_FIELDS = [
    Field("prompt_idx", key("promptIdx"), "int", "promptIdx"),
    Field("test_idx", key("testIdx"), "int", "testIdx"),
    Field(
        "label",
        f"coalesce({nested(key('prompt'), '$.label')}, "
        f"CASE WHEN NOT json_valid({key('prompt')}) THEN {key('prompt')} END)",
        "text", "prompt.label",
    ),
    Field("prompt_raw", f"coalesce({nested(key('prompt'), '$.raw')}, {key('prompt')})", "text"),
    Field(
        "provider",
        f"coalesce({nested(key('provider'), '$.id')}, CASE WHEN NOT json_valid({key('provider')}) "
        f"THEN {key('provider')} END)",
        "text", "provider.id",
    ),
    Field("provider_label", nested(key("provider"), "$.label"), "text", "provider.label"),
    Field(
        "output",
        f"coalesce({nested(_RESP, '$.output')}, {key('output')}, {key('text')})", "text", "output",
    ),
    Field("result_error", key("error"), "text", "error"),
    Field("response_error", nested(_RESP, "$.error"), "text", "response.error"),
    Field("failure", key("failureReason"), "int", "failureReason"),
    Field("success", f"coalesce({key('success')}, {key('pass')})", "bool", "success"),
    Field("score", key("score"), "double", "score", nonneg=False),
    Field("latency_s", key("latencyMs"), "double", "latencyMs", scale=0.001),
    Field("cost_usd", f"coalesce({key('cost')}, {nested(_RESP, '$.cost')})", "double", "cost"),
    Field(
        "input_tokens",
        f"coalesce({nested(_RESP, '$.tokenUsage.prompt')}, {nested(key('tokenUsage'), '$.prompt')})",
        "bigint", "response.tokenUsage.prompt",
    ),
    Field(
        "output_tokens",
        f"coalesce({nested(_RESP, '$.tokenUsage.completion')}, "
        f"{nested(key('tokenUsage'), '$.completion')})",
        "bigint", "response.tokenUsage.completion",
    ),
    Field("cached", nested(_RESP, "$.cached"), "bool", "response.cached"),
    Field("named", key("namedScores"), "json", "namedScores"),
    Field("vars", key("vars"), "text", "vars"),
    Field("test_case", key("testCase"), "text", "testCase"),
]  # fmt: skip

# A failed call: a provider error, failureReason 2 (ERROR), or, in files without failureReason
# (older promptfoo), an ``error`` beside no output. promptfoo also writes a failed assertion's
# reason into ``error`` (failureReason 1, ASSERT): that result is a fail, scored, not an error.
_ERROR = """coalesce(response_error,
                     CASE WHEN failure = 2 THEN coalesce(result_error, 'error')
                          WHEN failure IS NULL AND output IS NULL THEN result_error END)"""

_SELECT = [
    "coalesce(label, 'prompt ' || prompt_idx) || coalesce(' @ ' || provider, '') AS version",
    "coalesce(label, 'prompt ' || prompt_idx) AS base_label", "prompt_idx",
    "coalesce(CAST(test_idx AS VARCHAR), 'vars:' || md5(vars)) AS item_id", "prompt_raw AS prompt",
    "output", f"{_ERROR} AS error", "latency_s",
    "input_tokens", "output_tokens", "cost_usd", "coalesce(cached, false) AS cached", "success",
    "score", "named", "provider", "provider_label", "test_idx", "test_case",
]  # fmt: skip

_CHECKS = [
    # (a JSON object or list read as text named a version of its own; see _shape)
    *[c for f, k in (("label", "prompt.label"), ("provider", "provider.id"),
                     ("provider_label", "provider.label"))
      for c in not_scalar(f, k, sql_str("$." + k))],
    ("provider IS NULL AND TRY(json_type(raw, '$.provider')) = 'ARRAY'", "provider",
     "provider is a JSON list, not an object"),
    not_object("named", "namedScores"),
    ("label IS NULL AND prompt_idx IS NULL", "promptIdx", "promptIdx and prompt.label are missing"),
    ("test_idx IS NULL AND vars IS NULL", "testIdx", "testIdx and vars are missing"),
]  # fmt: skip

_INSERT_RESULTS = """
INSERT INTO offline_results (run_id, version, item_id, repeat_idx, prompt, output, error,
                             latency_s, input_tokens, output_tokens, cost_usd, cached, attempts)
SELECT $run, version, item_id, repeat_idx, prompt, output, error,
       -- a cache hit's latencyMs (~0) is not the model's latency: unknown, not zero
       CASE WHEN cached THEN NULL ELSE latency_s END, input_tokens,
       output_tokens, cost_usd, cached, CASE WHEN cached THEN 0 ELSE 1 END
FROM {res} WHERE is_new
"""

# Scores of the new results that have an output (as run_offline: a failed call has no scores):
# 'pass' (promptfoo's success as 1/0, a pass/fail scorer), 'score' (its graded score, only when
# some score in the file is not just the pass as 1/0), then each named score (a number; a
# boolean is a pass/fail as 1/0; a null is no score; anything else is a scorer error saying so,
# not a silent "not applicable").
_INSERT_SCORES = """
INSERT INTO offline_scores (run_id, version, item_id, repeat_idx, scorer, value, passed, error)
WITH ok AS (SELECT * FROM {res} WHERE error IS NULL)
SELECT $run, version, item_id, repeat_idx, 'pass', CAST(success AS DOUBLE), success, NULL
FROM ok WHERE is_new AND success IS NOT NULL
UNION ALL
SELECT $run, version, item_id, repeat_idx, 'score', score, NULL, NULL
FROM ok WHERE is_new AND score IS NOT NULL
  AND EXISTS (SELECT 1 FROM ok WHERE score IS DISTINCT FROM CAST(success AS DOUBLE))
UNION ALL
SELECT $run, version, item_id, repeat_idx, k, v, b,
       CASE WHEN v IS NULL AND t <> 'NULL'
            THEN 'namedScores value is not a number: ' || CAST(named -> k AS VARCHAR) END
FROM (SELECT *, CASE WHEN t = 'BOOLEAN' THEN named ->> k = 'true' END AS b,
             CASE WHEN t = 'BOOLEAN' THEN CASE WHEN named ->> k = 'true' THEN 1.0 ELSE 0.0 END
                  WHEN isfinite(TRY_CAST(named ->> k AS DOUBLE))
                  THEN TRY_CAST(named ->> k AS DOUBLE) END AS v
      FROM (SELECT *, json_type(named -> k) AS t
            FROM (SELECT *, unnest(json_keys(named)) AS k FROM ok
                  WHERE is_new AND json_type(named) = 'OBJECT')))
WHERE k NOT IN ('pass', 'score')
"""

# The file's good results, numbered into repeats; `is_new`: its (version, item, repeat) is not
# stored for the run yet (a result already stored is a duplicate: the first one loaded is kept).
# Prompts that share a label (and provider) but not a promptIdx are different versions: their
# label names the promptIdx, so their results are not read as repeats of one version. So are
# providers that share an id but not a label (one model at two temperatures): the label is
# added after the id.
_RESULT_ROWS = """
CREATE OR REPLACE TEMP TABLE {res} AS
WITH by_prompt AS (
    SELECT * REPLACE (
        CASE WHEN count(DISTINCT prompt_idx) OVER (PARTITION BY version) > 1
             THEN base_label || ' [promptIdx ' || prompt_idx || ']'
                  || coalesce(' @ ' || provider, '')
             ELSE version END AS version)
    FROM {off} WHERE bad_col IS NULL
),
by_provider AS (
    SELECT * REPLACE (
        CASE WHEN count(DISTINCT coalesce(provider_label, '')) OVER (PARTITION BY version) > 1
             THEN version || coalesce(' [' || provider_label || ']', '')
             ELSE version END AS version)
    FROM by_prompt
),
-- `--repeat N` runs a test case N times under N testIdx (testIdx counts every repeat of every
-- case) with the same testCase: its repeats are one item, named by its first testIdx.
good AS (
    SELECT * REPLACE (
        CASE WHEN test_case IS NOT NULL AND test_idx IS NOT NULL
             THEN CAST(min(test_idx) OVER (PARTITION BY md5(test_case)) AS VARCHAR)
             ELSE item_id END AS item_id)
    FROM by_provider
)
SELECT *, NOT EXISTS (SELECT 1 FROM offline_results o
                      WHERE o.run_id = $run AND o.version = f.version AND o.item_id = f.item_id
                        AND o.repeat_idx = f.repeat_idx) AS is_new
FROM (SELECT *, CAST(row_number() OVER (PARTITION BY version, item_id
                                        ORDER BY test_idx, source_row) - 1
                     AS INTEGER) AS repeat_idx
      FROM good) f
"""

# The run's versions in order, the first being the baseline: those of a run loaded before keep
# their places, then this file's by promptIdx (a prompt × provider column), then file order.
_VERSION_ORDER = """
SELECT to_json(list(s.version ORDER BY
    list_position((SELECT from_json(versions, '["VARCHAR"]') FROM offline_runs
                   WHERE run_id = $run), s.version) NULLS LAST,
    f.pidx NULLS LAST, f.first_row NULLS LAST, s.version))
FROM (SELECT DISTINCT version FROM offline_results WHERE run_id = $run) s
LEFT JOIN (SELECT version, min(prompt_idx) AS pidx, min(source_row) AS first_row
           FROM {res} GROUP BY version) f USING (version)
"""

# The run's row, over all its stored results (a fuller export of the same eval adds results to a
# run loaded before: its row is replaced, keeping the providers, start time and duration it had
# where this file has none).
_INSERT_RUN = """
INSERT OR REPLACE INTO offline_runs (run_id, name, dataset, versions, model_id, scorers, repeats,
                                     params, created_at, seconds, model_calls, cache_hits)
WITH old AS (SELECT * FROM offline_runs WHERE run_id = $run)
SELECT $run, $name, json_object('source', 'promptfoo', 'file', $file, 'items',
                                count(DISTINCT item_id)),
       CAST($versions AS JSON),
       (SELECT string_agg(DISTINCT p, ', ' ORDER BY p)
        FROM (SELECT provider AS p FROM {res}
              UNION ALL SELECT unnest(string_split(model_id, ', ')) FROM old)),
       (SELECT coalesce(to_json(list(scorer ORDER BY scorer <> 'pass', scorer)), '[]')
        FROM (SELECT DISTINCT scorer FROM offline_scores WHERE run_id = $run)),
       max(repeat_idx) + 1,
       json_object('evalId', $eval_id, 'format_version', $fmt_version, 'sha256', $sha,
                   'n_items', count(DISTINCT item_id)),
       coalesce(TRY_CAST($created AS TIMESTAMPTZ), (SELECT created_at FROM old), now()),
       coalesce($seconds, (SELECT seconds FROM old)),
       count(*) FILTER (WHERE NOT cached), count(*) FILTER (WHERE cached)
FROM offline_results WHERE run_id = $run
"""


def _meta(con: Con, ctx: LoadContext) -> dict[str, Any]:
    row = con.execute(
        f"""
        SELECT doc ->> '$.evalId', coalesce(doc ->> '$.results.version', doc ->> '$.version'),
               coalesce(doc ->> '$.results.timestamp', doc ->> '$.timestamp'),
               doc ->> '$.config.description',
               TRY_CAST(doc ->> '$.results.stats.durationMs' AS DOUBLE) / 1000,
               json_type(doc, '$.results')
        FROM {ctx.t("docs")}
        """
    ).fetchall()[0]
    return dict(
        zip(("eval_id", "version", "created", "name", "seconds", "results"), row, strict=True)
    )


def _stage(con: Con, ctx: LoadContext, item: Input) -> Staged:
    assert item.path is not None
    read_docs(con, ctx, item.path, item.fmt, item.compression)
    # (a compact file over the longest line read fails in read_docs, naming the line)
    n_docs = count(con, ctx.t("docs"))
    bad = count(con, ctx.t("docs"), "bad_col IS NOT NULL")
    if n_docs != 1 or bad:
        raise MissingColumnError(
            f"{item.name} is not one promptfoo results document ({n_docs} JSON documents, {bad} "
            "invalid). Write it with `promptfoo eval --output results.json`."
        )
    meta = _meta(con, ctx)
    if meta["results"] is None:
        raise MissingColumnError(
            f"{item.name} has no 'results' (not a promptfoo --output results.json file)."
        )
    con.execute(ctx.sql(_RESULTS))
    rec, off = ctx.t("rec"), ctx.name("off")
    rows_read = pre_from_rec(con, ctx) + count(con, rec)
    if not rows_read:
        # (it loaded as 0 rows, without a word)
        raise DataError(
            f"{item.name}: holds no promptfoo results (its results.results, results.table.body "
            "and results.outputs lists are empty or missing). Run the eval again with "
            "`promptfoo eval --output results.json` (check its test filters), or leave this "
            "file out."
        )
    con.execute(typed_stage(off, record_source(ctx, _KEYS), _FIELDS, _SELECT, _CHECKS))
    run_id = "promptfoo-" + (meta["eval_id"] or item.sha256[:16])
    con.execute(ctx.sql(_RESULT_ROWS), {"run": run_id})
    good = count(con, ctx.t("res"))
    also: dict[str, int] = {}
    loaded = con.execute(ctx.sql(_INSERT_RESULTS), {"run": run_id}).fetchall()[0][0]
    also["offline_scores"] = con.execute(ctx.sql(_INSERT_SCORES), {"run": run_id}).fetchall()[0][0]
    if loaded:
        params = {
            "run": run_id,
            "name": meta["name"] or meta["eval_id"] or item.path.name,
            "file": item.name,
            "eval_id": meta["eval_id"],
            "fmt_version": meta["version"],
            "created": meta["created"],
            "seconds": meta["seconds"],
            "sha": item.sha256,
            "versions": con.execute(ctx.sql(_VERSION_ORDER), {"run": run_id}).fetchall()[0][0],
        }
        also["offline_runs"] = con.execute(ctx.sql(_INSERT_RUN), params).fetchall()[0][0]
    con.execute(ctx.sql("DROP TABLE {res}"))
    return Staged(rows_read, rejects_from=(off,), loaded={"offline_results": loaded},
                  duplicates=good - loaded, also=also)  # fmt: skip


def load_promptfoo(ws: Any, path: _files.Paths, *, progress: bool = True) -> LoadReport:
    """Load promptfoo results files into the offline tables, atomically and idempotently.

    Parameters
    ----------
    ws
        The workspace.
    path
        ``results.json`` written by ``promptfoo eval --output`` (v3, v2 ``table``, or the
        minimal ``results.outputs[]`` shape); a list, directory or glob.
    progress
        Show a progress bar when loading several files.

    Returns
    -------
    LoadReport
        ``loaded`` counts ``offline_results`` rows (one per result read); ``also`` counts the
        ``offline_scores`` (overall pass/score plus each named score) and ``offline_runs`` rows.
        Latency is in seconds, cost in USD; cached responses have ``cached = true``. A prompt
        label, provider id or label that is a JSON object or list, a provider or namedScores
        that is a list, rejects the result.

    Raises
    ------
    MissingColumnError
        The file is not a promptfoo results document.
    DataError
        A file is empty or holds no results, is not UTF-8, truncated or unreadable (nothing is
        loaded).
    """
    rows = prepare_paths(path, source="promptfoo", formats=("json",))
    call = loader_call("load_promptfoo", path)
    return load_all(ws, rows, source="promptfoo", stage=_stage, progress=progress, call=call)
