"""Records read back through TensorBoard's data provider API.

The plugin passes ``context.data_provider`` (Rust data server or the Python
ingester, whichever TensorBoard runs); the CLI builds a provider over a logdir
with :func:`local_provider`. Both then call the same functions here, so the
Green tab and ``greenops-tb export`` cannot disagree.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from greenops_tb.format.schema import Record, RunMetadata
from greenops_tb.format.summary import MALFORMED as MALFORMED  # importable from here
from greenops_tb.format.summary import datum_text, parse_record
from greenops_tb.format.tags import (
    PLUGIN_NAME,
    RUN_METADATA_TAG,
    parse_plugin_content,
    split_rank_tag,
    stage_of_record_tag,
)
from greenops_tb.readers.shards import RankTotals, merge_shards

log = logging.getLogger(__name__)

#: ask the provider for every datum it kept (it caps at its own retention)
ALL = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RunData:
    """Everything green of one run: its metadata (if found) and records in emission order.

    A distributed job's rank shards are read as ONE run (:mod:`greenops_tb.readers.shards`): its records
    are the merged job stream and ``ranks`` holds each rank's own totals (empty for a single process).
    """

    run: str
    metadata: RunMetadata | None
    records: list[Record]
    #: records that were skipped because they are not green records (wrong JSON shape or field types)
    malformed: int = 0
    ranks: tuple[RankTotals, ...] = ()


def green_runs(provider: Any, ctx: Any, experiment_id: str) -> dict[str, list[str]]:
    """Run name -> green tags present, for runs that have any green data (see :func:`green_listing`)."""
    return {run: sorted(tags) for run, tags in green_listing(provider, ctx, experiment_id).items()}


def green_listing(provider: Any, ctx: Any, experiment_id: str) -> dict[str, dict[str, Any]]:
    """Run name -> {green tag: its time series metadata (``max_step``...)}, for runs with green data.

    Raises :class:`~greenops_tb.format.schema.NewerFormatError` for a tag written in a newer layout
    (:meth:`Record.from_json` does for a newer record schema).
    """
    listing = provider.list_tensors(ctx, experiment_id=experiment_id, plugin_name=PLUGIN_NAME)
    for tags in listing.values():
        for ts in tags.values():
            with contextlib.suppress(ValueError):  # not a version: foreign data, skipped datum by datum
                parse_plugin_content(ts.plugin_content)
    return {run: tags for run, tags in listing.items() if tags}


def read_runs(
    provider: Any,
    ctx: Any,
    experiment_id: str,
    runs: Iterable[str] | None = None,
    downsample: int = ALL,
    listing: Mapping[str, Any] | None = None,
) -> dict[str, RunData]:
    """Read the records and metadata of ``runs`` (default: all green runs), in one provider call.

    ``listing``: the green runs (names -> tags) if the caller already listed them, which saves a
    listing of the whole experiment per call (callers reading many runs read them in batches).

    Undecodable data (a corrupted or foreign summary under our plugin name, valid
    JSON of the wrong shape) is skipped and counted in ``RunData.malformed``, with
    a log message, never raised: one bad event must not hide a run.
    """
    from tensorboard.data import provider as tb_provider

    wanted = green_listing(provider, ctx, experiment_id) if listing is None else listing
    if runs is not None:
        keep = set(runs)
        wanted = {r: t for r, t in wanted.items() if r in keep}
    if not wanted:
        return {}
    data = provider.read_tensors(
        ctx,
        experiment_id=experiment_id,
        plugin_name=PLUGIN_NAME,
        downsample=downsample,
        run_tag_filter=tb_provider.RunTagFilter(runs=list(wanted)),
    )
    out: dict[str, RunData] = {}
    for run, tags in data.items():
        metas: dict[int | None, RunMetadata] = {}  # per rank (None: a single process or an old job log)
        records: dict[int | None, list[Record]] = {}
        malformed = 0
        for full_tag, datums in tags.items():
            tag, rank = split_rank_tag(full_tag)
            for datum in datums:
                try:
                    if tag == RUN_METADATA_TAG:  # one per opening of the run: the latest lists them all
                        m, meta = RunMetadata.from_json_str(datum_text(datum.numpy)), metas.get(rank)
                        metas[rank] = m if meta is None or m.resume >= meta.resume else meta
                    elif stage_of_record_tag(tag) is not None:
                        records.setdefault(rank, []).append(parse_record(datum.numpy))
                except MALFORMED as err:
                    malformed += tag != RUN_METADATA_TAG
                    log.warning("skipping undecodable green datum in run %r tag %r step %s: %s", run, full_tag,
                                datum.step, err)
        for recs in records.values():
            recs.sort(key=lambda r: r.seq)
        shards = {r: recs for r, recs in records.items() if r is not None}
        if shards or any(r is not None for r in metas):
            if records.get(None):
                log.warning("run %r holds rank shards and %d records of a single process: reading the shards only "
                            "(give each run its own log_dir)", run, len(records[None]))
            ranked = {r: m for r, m in metas.items() if r is not None}
            merged, job_meta, ranks = merge_shards(shards, ranked)
            out[run] = RunData(run, job_meta, merged, malformed, ranks)
        else:
            out[run] = RunData(run=run, metadata=metas.get(None), records=records.get(None, []), malformed=malformed)
    return out


def file_records(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Record], int]:
    """(every green record the event files at ``paths`` hold, how many were malformed), read from the files
    themselves: a data provider keeps one datum per tag and step, so it may show fewer records than were written."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    records: list[Record] = []
    malformed = 0
    for path in paths:
        for event in EventFileLoader(os.fspath(path)).Load():
            for value in event.summary.value:
                if stage_of_record_tag(value.tag) is None:
                    continue
                try:
                    records.append(parse_record(value.tensor.string_val[0]))
                except (*MALFORMED, IndexError) as err:
                    malformed += 1
                    log.warning("skipping undecodable green record in %s tag %r step %s: %s", path, value.tag,
                                event.step, err)
    return records, malformed


@dataclass(frozen=True, slots=True)
class Point:
    """One scalar sample: step, wall time (unix s) and value (float32 as TensorBoard keeps it)."""

    step: int
    wall_time: float
    value: float


def read_scalar_series(
    provider: Any,
    ctx: Any,
    experiment_id: str,
    run: str,
    downsample: int = 1000,
) -> dict[str, list[Point]]:
    """Every scalar series of ``run`` (green, watched and the user's own), in one provider call.

    ``downsample`` caps the points per tag; the provider picks them evenly and
    always keeps the latest.
    """
    from tensorboard.data import provider as tb_provider

    data = provider.read_scalars(
        ctx,
        experiment_id=experiment_id,
        plugin_name="scalars",
        downsample=downsample,
        run_tag_filter=tb_provider.RunTagFilter(runs=[run]),
    )
    return {
        tag: [Point(int(d.step), float(d.wall_time), float(d.value)) for d in datums]
        for tag, datums in data.get(run, {}).items()
    }


def local_provider(
    logdir: str, *, reload_multifile: bool = False, samples_per_plugin: dict[str, int] | None = None
) -> Any:
    """A TensorBoard data provider over ``logdir`` that keeps every green datum.

    Uses TensorBoard's own ingester (event file loading, run discovery) with
    unlimited retention for our plugin, and loads once, synchronously.
    ``samples_per_plugin`` overrides the retention (``{}``: TensorBoard's defaults).
    """
    import argparse

    from tensorboard.backend.event_processing import data_ingester

    flags = argparse.Namespace(
        logdir=logdir,
        logdir_spec="",
        reload_interval=0,  # load once, on this thread
        reload_task="blocking",
        samples_per_plugin={PLUGIN_NAME: 0, "scalars": 0} if samples_per_plugin is None else samples_per_plugin,
        max_reload_threads=1,
        reload_multifile=reload_multifile,
        reload_multifile_inactive_secs=86400,
        generic_data="true",
        purge_orphaned_data=True,
        detect_file_replacement=False,
    )
    ingester = data_ingester.LocalDataIngester(flags)
    ingester.start()
    return ingester.data_provider
