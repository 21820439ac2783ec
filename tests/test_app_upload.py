"""Scenario uploads in the app: malformed files are refused with a message; paths stay
confined to the upload root; a good file runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from corridors.app.catalog import Catalog, CatalogError
from corridors.app.limits import MAX_UPLOAD_BYTES as MAX_FILE_BYTES
from corridors.app.session import Session
from corridors.app.uploads import safe_name, save_upload
from corridors.scenarios import ScenarioError

TEMPLATE = (
    Path(__file__).resolve().parents[1] / "corridors" / "scenarios" / "library" / "template.yaml"
)


def upload(data: bytes, name: str, root: Path) -> Path:
    return save_upload(name, len(data), io.BytesIO(data).read, root=root)


def test_a_good_upload_is_stored_under_the_root_and_runs(tmp_path: Path) -> None:
    path = upload(TEMPLATE.read_bytes(), "../../etc/my island.yaml", tmp_path)
    assert path.is_relative_to(tmp_path) and path.name == "my_island.yaml"
    catalog = Catalog(root=tmp_path)
    data = TEMPLATE.read_bytes()
    upload_id = catalog.add_upload("../../etc/my island.yaml", len(data), io.BytesIO(data).read)
    assert upload_id == "my_island (upload 1)"
    session = Session(scenario=upload_id, seed=1, catalog=catalog)
    session.step(5)
    assert session.model.steps == 5
    # the server's path is never an id, not even for the session that uploaded the file
    with pytest.raises(CatalogError, match="choose a built-in scenario"):
        session.configure(str(path))


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"meta: {title: x}\n", "notes.txt", "ending in .yaml"),
        (b"\x00\x01\x02garbage", "bin.yaml", "binary data"),
        (b"meta: {title: [unclosed\n", "broken.yaml", "YAML syntax error"),
        (b"meta: !!python/object/apply:os.system [ls]\n", "tag.yaml", "is not allowed"),
        (b"extends: ../../secret.yaml\n", "escape.yaml", "only a built-in scenario"),
        (
            b"extends: lachin-2023\nlinks: [{name: lachin, capacity_t_per_day: -1}]\n",
            "bad.yaml",
            "must be at least 0",
        ),
        (b"", "empty.yaml", "file is empty"),
    ],
)
def test_malformed_uploads_are_refused_with_a_message(
    data: bytes, name: str, fragment: str, tmp_path: Path
) -> None:
    with pytest.raises(ScenarioError) as info:
        upload(data, name, tmp_path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "nothing kept"


def test_oversized_upload_is_refused_before_reading(tmp_path: Path) -> None:
    def never(_: int) -> bytes:
        raise AssertionError("read although too big")

    with pytest.raises(ScenarioError, match="the limit is"):
        save_upload("big.yaml", MAX_FILE_BYTES + 1, never, root=tmp_path)


def test_safe_name_strips_paths_and_odd_characters() -> None:
    assert safe_name("C:\\\\Users\\x\\..\\a b.yaml") == "a_b.yaml"
    assert safe_name("/etc/passwd") == "passwd"
    assert safe_name("...") == "scenario.yaml"
