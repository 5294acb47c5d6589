"""``hub ingest --manifest``: each file's format and sender from one CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.domain.sectors import Sector
from hub.entrypoints.ingest_manifest import ManifestError, read_manifest


def written(tmp_path: Path, text: str) -> Path:
    manifest = tmp_path / "arkiv" / "manifest.csv"
    manifest.parent.mkdir()
    manifest.write_text(text, encoding="utf-8")
    return manifest


def test_each_row_names_its_file_format_and_sender(tmp_path: Path) -> None:
    manifest = written(
        tmp_path,
        "file,format,sector,org,sub,aliases\n"
        "a01.hl7,hl7v2,hospital,100000001,opus,hl7:RHR|hl7:SENDING FAC\n"
        '/data/brev.xml,oioxml,gp,100000002,,"gln:5790000503131"\n',
    )
    first, second = read_manifest(manifest)
    assert first.path == manifest.parent / "a01.hl7"  # relative to the manifest
    assert first.format == "hl7v2"
    assert first.sender.sector is Sector.HOSPITAL and first.sender.org == "100000001"
    assert first.sender.sub == "opus"
    assert first.sender.aliases == frozenset({"hl7:RHR", "hl7:SENDING FAC"})
    assert second.path == Path("/data/brev.xml")
    assert second.sender.sub == "hub-cli" and second.sender.aliases == {"gln:5790000503131"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("file,format,org\nx,hl7v2,1\n", "line 1: the header lacks sector"),
        ("file,format,sector,org\nx,hl7v2,,1\n", "line 2, column sector: empty"),
        ("file,format,sector,org\nx,hl7v2,politi,1\n", "line 2, column sector: 'politi'"),
        ("file,format,sector,org\nx,hl7v2,gp,1\n,fhir,gp,1\n", "line 3, column file: empty"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_line_and_column(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(ManifestError, match=reason):
        read_manifest(written(tmp_path, text))


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path / "none.csv")
