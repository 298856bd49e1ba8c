"""``greenops-tb report --format model-card --update CARD`` edits the card in place, safely.

The card stays the same file (mode, hard links, a symlink's target), a byte-order mark and an unclosed front
matter never lead to a second front matter, and malformed YAML, a read-only card or a read-only file system
give a clean error with the card left unchanged. A read-only file system is faked at the os boundary.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import stat
from pathlib import Path

import pytest
from cli_runs import cli
from decision_runs import constant_run
from huggingface_hub import ModelCard

DATA = Path(__file__).parent / "data"
KEY = "co2_eq_emissions"


@pytest.fixture(scope="module")
def run_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return constant_run(tmp_path_factory.mktemp("card_run") / "run", pue=1.2)


@pytest.fixture
def card(tmp_path: Path) -> Path:
    path = tmp_path / "cards" / "README.md"
    path.parent.mkdir()
    path.write_bytes((DATA / "model_card_no_co2_README.md").read_bytes())
    return path


def _update(capsys: pytest.CaptureFixture[str], run_csv: Path, card: Path) -> tuple[int, str]:
    code, _out, err = cli(capsys, "report", str(run_csv), "--format", "model-card", "--update", str(card))
    return code, err


def _metadata(path: Path) -> dict:
    return ModelCard(path.read_text(encoding="utf-8-sig")).data.to_dict()


def _only(path: Path) -> list[str]:
    """What the card's directory holds (no temporary copy left behind)."""
    return sorted(p.name for p in path.parent.iterdir())


def test_update_edits_the_same_file_keeping_mode_and_hard_links(capsys, run_csv: Path, card: Path) -> None:
    card.chmod(0o600)
    twin = card.with_name("TWIN.md")
    os.link(card, twin)
    inode = card.stat().st_ino
    before = _metadata(card)
    code, err = _update(capsys, run_csv, card)
    assert code == 0, err
    assert card.stat().st_ino == inode and stat.S_IMODE(card.stat().st_mode) == 0o600
    assert twin.read_bytes() == card.read_bytes() and card.stat().st_nlink == 2
    after = _metadata(card)
    assert after[KEY]["emissions"] > 0
    assert {k: v for k, v in after.items() if k != KEY} == before
    assert _only(card) == ["README.md", "TWIN.md"]


def test_update_through_a_symlink_edits_its_target(capsys, run_csv: Path, card: Path) -> None:
    link = card.with_name("LINK.md")
    link.symlink_to(card.name)
    code, err = _update(capsys, run_csv, link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == card.name
    assert KEY in _metadata(card)
    assert _only(card) == ["LINK.md", "README.md"]


def test_a_byte_order_mark_keeps_one_front_matter(capsys, run_csv: Path, card: Path) -> None:
    original = card.read_bytes()
    card.write_bytes(b"\xef\xbb\xbf" + original)
    code, err = _update(capsys, run_csv, card)
    assert code == 0, err
    new = card.read_bytes()
    assert new.startswith(b"\xef\xbb\xbf---") and new.count(b"\n---") == original.count(b"\n---")
    assert new.count(KEY.encode()) == 1 and KEY in _metadata(card)


@pytest.mark.parametrize(("edit", "says"), [
    (lambda t: t.replace("\n---\n", "\n"), "front matter (the metadata block that starts with --- on line 1) "
                                              "is never closed"),
    (lambda t: t.replace("license: apache-2.0", "license: [apache-2.0"), "front matter is not valid YAML"),
    (lambda t: "---\n- a list\n- not fields\n---\n" + t.split("\n---\n", 1)[1], "not a mapping of fields"),
])
def test_bad_front_matter_is_a_clean_error(capsys, run_csv: Path, card: Path, edit, says: str) -> None:  # noqa: ANN001
    card.write_text(edit(card.read_text(encoding="utf-8")), encoding="utf-8")
    before = card.read_bytes()
    code, err = _update(capsys, run_csv, card)
    assert code == 2 and says in err and "nothing was written" in err, err
    assert "Traceback" not in err and card.read_bytes() == before


def test_a_read_only_card_is_refused(capsys, run_csv: Path, card: Path) -> None:
    card.chmod(0o444)
    before = card.read_bytes()
    code, err = _update(capsys, run_csv, card)
    assert code == 2 and "read-only" in err and "chmod u+w" in err, err
    assert card.read_bytes() == before and _only(card) == ["README.md"]


@pytest.fixture
def read_only_fs(monkeypatch: pytest.MonkeyPatch, card: Path) -> Path:
    """The card's directory as on a read-only mount: every write, create or unlink there fails with EROFS."""
    root = str(card.parent)

    def inside(path: object) -> bool:
        return os.path.abspath(os.fspath(path)).startswith(root)  # type: ignore[arg-type]

    def erofs(path: object) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))  # type: ignore[arg-type]

    real_os_open, real_open = os.open, builtins.open
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def fake_os_open(path, flags, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if flags & writes and inside(path):
            raise erofs(path)
        return real_os_open(path, flags, *a, **kw)

    def fake_open(file, mode="r", *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and inside(file):
            raise erofs(file)
        return real_open(file, mode, *a, **kw)

    def refuse(path, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise erofs(path)

    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    for name in ("unlink", "remove", "replace", "rename"):
        monkeypatch.setattr(os, name, refuse)
    return card


def test_a_read_only_file_system_is_a_clean_error(capsys, run_csv: Path, read_only_fs: Path) -> None:
    card = read_only_fs
    before = card.read_bytes()
    code, err = _update(capsys, run_csv, card)
    assert code == 2 and "Read-only file system" in err and "nothing was written" in err, err
    assert card.read_bytes() == before
    out = card.with_name("statement.md")
    code, _out, err = cli(capsys, "report", str(run_csv), "-o", str(out))
    assert code == 2 and f"cannot write {out}: Read-only file system" in err, err
    assert not out.exists()
