"""``greenops-tb report RUN``: a paper-ready statement, a model-card block or a CodeCarbon ``emissions.csv``.

RUN is a run directory (or a logdir holding one green run) or a live CSV. Formats:

* ``markdown`` / ``latex``: hardware, hours, energy, location and how it was chosen, intensity source,
  year and basis, PUE, CO2e with its range, cost, each device's provenance, tool version, data citations
  (``--standalone`` makes the LaTeX a full document);
* ``json``: the same facts as numbers, ranges as ``{value, low, high}``;
* ``model-card``: the Hugging Face ``co2_eq_emissions`` block (emissions in grams); ``--update README.md``
  merges it into that model card's front matter, leaving every other byte as it was;
* ``codecarbon``: one ``emissions.csv`` row in CodeCarbon's columns and units.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from greenops_tb.readers.runs import LOADERS, InputError, load_run
from greenops_tb.reports import FORMATS, facts, model_card, render
from greenops_tb.sinks.appends import append_all
from greenops_tb.sinks.atomic import write_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="statement (markdown/latex/json), model-card block, CodeCarbon CSV",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run directory or a live CSV")
    p.add_argument("--format", choices=FORMATS, default="markdown", help="default: markdown")
    p.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    p.add_argument("--update", metavar="README", help="model-card: merge the block into this model card's front matter")
    p.add_argument("--training-type", help="model-card training_type (default: from stage names)")
    p.add_argument("--source", help="model-card source text (default: greenops_tb, its version and provenance)")
    p.add_argument("--standalone", action="store_true", help="latex: a complete document")
    p.add_argument("--loader", choices=LOADERS, default="auto", help="TensorBoard loader (default: auto)")
    p.set_defaults(func=run)


def edit_in_place(path: Path, text: str) -> None:
    """Make the file at ``path`` hold ``text`` by editing it in place, so it stays the same file (inode: mode,
    owner, hard links; through a symlink its target is edited). ``text`` first goes to a checked copy beside
    the file, removed once the file holds it and kept (and named) if editing fails half-way."""
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR)  # follows symlinks; fails on a read-only file or file system
    except OSError as err:
        raise InputError(_cannot(path, err)) from err
    try:
        mode = os.fstat(fd).st_mode
        if not mode & 0o222:  # even for root: a read-only card is not to be changed
            raise InputError(f"cannot update {path}: it is read-only ({stat.filemode(mode)}); make it writable "
                             "(chmod u+w), then run again; nothing was written")
        copy = _checked_copy(Path(os.path.realpath(path)), data)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            append_all(fd, [data])
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except OSError as err:
            raise InputError(f"cannot write {path}: {err.strerror or err}; its updated text is in {copy}") from err
        with contextlib.suppress(OSError):
            os.unlink(copy)
    finally:
        os.close(fd)


def _checked_copy(real: Path, data: bytes) -> Path:
    """``data`` in a new file beside ``real``, synced and read back; InputError (and no copy left) if it fails."""
    name = ""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".update", dir=real.parent)
        with os.fdopen(fd, "w+b") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            f.seek(0)
            if f.read() != data:
                raise OSError(errno.EIO, "the copy does not read back as written")
    except OSError as err:
        if name:
            with contextlib.suppress(OSError):  # e.g. EROFS: the error above is the one to tell
                os.unlink(name)
        raise InputError(_cannot(real, err)) from err
    return Path(name)


def _cannot(path: Path, err: OSError) -> str:
    """The message for an OSError while updating ``path``, with what to do about it."""
    hint = {errno.EROFS: "the file system is read-only: copy the card somewhere writable and update that copy",
            errno.EACCES: "make the card and its directory writable", errno.EPERM: "make the card writable"}
    return (f"cannot update {path}: {err.strerror or err}; "
            f"{hint.get(err.errno or 0, 'check the path')}; nothing was written")


def _update(data, args: argparse.Namespace) -> str:
    path = Path(args.update)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the model card {path}: {err}") from err
    block = model_card.block(facts(data, training=args.training_type), source=args.source)
    edit_in_place(path, model_card.update(text, block))
    return f"updated {model_card.KEY} in {path} (emissions {block['emissions']} g)"


def run(args: argparse.Namespace) -> int:
    if args.update and args.format != "model-card":
        print("greenops-tb report: --update needs --format model-card", file=sys.stderr)
        return 2
    try:
        data = load_run(args.run, args.loader)
        if args.update:
            print(_update(data, args), file=sys.stderr)
            return 0
        text = render(data, args.format, training_type=args.training_type, standalone=args.standalone,
                      source=args.source)
        if args.output:
            write_atomic(Path(args.output), text)
            print(f"wrote the {args.format} report of {data.run} to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except (InputError, ValueError) as err:
        print(f"greenops-tb report: {err}", file=sys.stderr)
        return 2
    return 0
