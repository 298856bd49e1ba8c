"""The TensorBoard layout of green data: the one owner of tag names and plugin metadata.

Written by :mod:`greenops_tb.sinks.events`, read by :mod:`greenops_tb.readers.events`
and the plugin; nothing else spells a tag (as ``tensorboard/plugins/scalar/metadata.py``
does for the Scalars tab)::

  green/<stage>/record       plugin "green", JSON string tensor of one Record, data class TENSOR;
                             one tag per stage, so TensorBoard's reservoir always keeps each
                             stage's latest record (which carries the stage and run running totals)
  green/<stage>/<scalar>     float scalars for the Scalars tab (:data:`EVENT_SCALARS`)
  watch/<stage>/<name>       watched values, float scalars
  green/run_metadata         plugin "green", JSON string tensor of RunMetadata, written once at start

A rank of a distributed job writes the same tags with ``@r<rank>`` appended (``green/train/record@r3``,
:func:`rank_tag_suffix`), into its own event file in the job's run directory: TensorBoard then keeps
every rank's series apart within ONE run, and readers merge them (:func:`split_rank_tag`;
``docs/distributed.md``). Stage and watch names cannot hold ``@``.

All values of one record are written in ONE event (one Summary) at step = record.step.
The plugin summaries carry :data:`PLUGIN_CONTENT` (the layout's :data:`CONTENT_VERSION`)
as their ``PluginData.content`` (in the first event of each tag in a file, where TensorBoard
reads a tag's metadata); readers check it with :func:`parse_plugin_content`. Scalars are
``simple_value`` floats, as ``SummaryWriter.add_scalar`` writes them.
"""
from __future__ import annotations

import re
from typing import Iterable

from greenops_tb.errors import UsageError
from greenops_tb.format.schema import NewerFormatError

PLUGIN_NAME = "green"
#: Version of this layout, stored as ``PluginData.content`` (ASCII digits) of every green summary.
CONTENT_VERSION = 1
PLUGIN_CONTENT = str(CONTENT_VERSION).encode("ascii")

GREEN_PREFIX = PLUGIN_NAME + "/"
WATCH_TAG_PREFIX = "watch/"
RECORD_TAG_SUFFIX = "/record"
RUN_METADATA_TAG = GREEN_PREFIX + "run_metadata"
#: scalar tag suffix -> Record attribute. Totals are running (cumulative) values.
EVENT_SCALARS: dict[str, str] = {
    "energy_kwh": "stage_energy_kwh",
    "co2_kg": "stage_co2_kg",
    "cost": "stage_cost",
    "duration_s": "stage_duration_s",
    "power_w": "avg_power_w",
    # work units (written only once the stage has counted some): running J and gCO2e per unit
    "j_per_sample": "stage_j_per_sample",
    "g_per_sample": "stage_g_per_sample",
    "j_per_token": "stage_j_per_token",
    "g_per_token": "stage_g_per_token",
}
#: the scalar every stage writes with every event: its tags name the run's stages
STAGE_SCALAR = "energy_kwh"

_RANK_SUFFIX = re.compile(r"@r(\d+)\Z")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*\Z")


def check_name(name: object, what: str = "stage name") -> str:
    """``name`` if it is safe as a TensorBoard tag part, else ValueError saying what is allowed."""
    if not isinstance(name, str) or not _NAME.match(name) or not {".", ".."}.isdisjoint(name.split("/")):
        raise UsageError(
            f"bad {what} {name!r}: use letters, digits, '_', '-', '.', and '/' between parts "
            "(not empty, no spaces, no leading, trailing or double '/', no part '.' or '..'), e.g. 'train' or 'eval/val'"
        )
    return name


# -- builders --------------------------------------------------------------------------
def record_tag(stage: str) -> str:
    return f"{GREEN_PREFIX}{stage}{RECORD_TAG_SUFFIX}"


def scalar_tag(stage: str, suffix: str) -> str:
    return f"{GREEN_PREFIX}{stage}/{suffix}"


def watch_tag(stage: str, name: str) -> str:
    return f"{WATCH_TAG_PREFIX}{stage}/{name}"


def rank_tag_suffix(rank: int) -> str:
    """What a rank of a distributed job appends to each of its green tags."""
    return f"@r{rank}"


# -- parsers ---------------------------------------------------------------------------
def parse_plugin_content(content: bytes) -> int:
    """The layout version in a green summary's ``PluginData.content``.

    ValueError when it is not a version number; :class:`~greenops_tb.format.schema.NewerFormatError`
    when a newer greenops_tb wrote it.
    """
    text = bytes(content).decode("ascii", "replace")
    if not text.isdigit():
        raise ValueError(f"green plugin content {bytes(content)!r} is not a layout version")
    version = int(text)
    if version > CONTENT_VERSION:
        raise NewerFormatError("TensorBoard layout", version)
    return version


def split_rank_tag(tag: str) -> tuple[str, int | None]:
    """``green/train/record@r3`` -> (``green/train/record``, 3); a tag without a rank -> (tag, None)."""
    m = _RANK_SUFFIX.search(tag)
    return (tag[:m.start()], int(m.group(1))) if m else (tag, None)


def stage_of_record_tag(tag: str) -> str | None:
    """``green/<stage>/record`` -> ``<stage>``; None for other tags (e.g. run metadata)."""
    if tag.startswith(GREEN_PREFIX) and tag.endswith(RECORD_TAG_SUFFIX):
        return tag[len(GREEN_PREFIX): -len(RECORD_TAG_SUFFIX)]
    return None


def stages_of_scalar_tags(tags: Iterable[str]) -> list[str]:
    """The stages named by ``green/<stage>/energy_kwh`` tags among ``tags``, in their order."""
    suffix = "/" + STAGE_SCALAR
    return [t[len(GREEN_PREFIX): -len(suffix)] for t in tags if t.startswith(GREEN_PREFIX) and t.endswith(suffix)]


def _split(rest: str, stages: Iterable[str]) -> tuple[str, str]:
    """``<stage>/<name>`` -> (stage, name), matching the longest known stage first."""
    for stage in sorted(stages, key=len, reverse=True):
        if rest.startswith(stage + "/"):
            return stage, rest[len(stage) + 1:]
    stage, _, name = rest.rpartition("/")
    return stage, name


def parse_scalar_tag(tag: str, stages: Iterable[str]) -> tuple[str, str] | None:
    """``green/<stage>/<scalar>`` -> (stage, scalar) for one of ``stages`` (a stage may hold '/'); else None."""
    return _split(tag[len(GREEN_PREFIX):], stages) if tag.startswith(GREEN_PREFIX) else None


def parse_watch_tag(tag: str, stages: Iterable[str]) -> tuple[str, str] | None:
    """``watch/<stage>/<name>`` -> (stage, name) for one of ``stages``; None for other tags."""
    return _split(tag[len(WATCH_TAG_PREFIX):], stages) if tag.startswith(WATCH_TAG_PREFIX) else None
