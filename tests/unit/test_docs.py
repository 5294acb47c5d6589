"""The documentation keeps up with the code: the tables that mirror code, the folder map,
and the links between the pages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from hub.domain.indicators import DEFINITIONS
from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 260
FOLDER_MAP = "The folders"
SETTING = re.compile(r"\bHUB_[A-Z0-9_]*[A-Z0-9]\b")


def settings_read_by_the_code() -> set[str]:
    # As tests/unit/test_layout.py reads them, digits included (HUB_HL7V2_PROCESSING_IDS).
    source = (REPO / "hub" / "config.py").read_text()
    return set(re.findall(r"\"(HUB_[A-Z0-9_]+)\"", source))


def without_code(markdown: str) -> str:
    """The text outside fenced code blocks and inline code spans."""
    prose = re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", prose)


def headings(markdown: str) -> list[tuple[int, str]]:
    """Every heading outside fenced code: its level and its text."""
    found: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a page."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, text in headings(markdown):
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def section(markdown: str, title: str) -> str:
    """A level-2 section's text, down to the next heading of level 2 or above."""
    lines = markdown.splitlines()
    start = lines.index(f"## {title}")
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^#{1,2} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end])


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of each row of the table whose header row starts with ``header``."""
    lines = markdown.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith(header)]
    rows: list[list[str]] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


# --- configuration ------------------------------------------------------------------------


def test_every_setting_the_code_reads_has_a_row_in_the_configuration_table() -> None:
    page = (DOCS / "configuration.md").read_text()
    in_table = {
        name
        for row in table_rows(page, "| variable | default | meaning |")
        for name in SETTING.findall(row[0])
    }
    undocumented = settings_read_by_the_code() - in_table
    assert not undocumented, f"add to docs/configuration.md: {sorted(undocumented)}"


def test_every_setting_the_configuration_page_names_is_read_by_the_code() -> None:
    named = set(SETTING.findall((DOCS / "configuration.md").read_text()))
    unknown = named - settings_read_by_the_code()
    assert not unknown, f"docs/configuration.md names settings hub/config.py reads not: {unknown}"


def test_every_setting_any_page_names_is_read_by_the_code() -> None:
    for page in PAGES:
        unknown = set(SETTING.findall(page.read_text())) - settings_read_by_the_code()
        assert not unknown, f"{page.relative_to(REPO)} names unknown settings: {unknown}"


# --- indicators ---------------------------------------------------------------------------


def test_the_indicator_table_lists_exactly_the_indicators_the_code_defines() -> None:
    rows = table_rows((DOCS / "indicators.md").read_text(), "| indicator | unit | what counts |")
    documented = [(row[0].strip("`"), row[1], row[2]) for row in rows]
    names = [name for name, _, _ in documented]
    assert len(names) == len(set(names)), "an indicator is listed twice"
    defined = [(d.name, d.unit, d.definition) for d in DEFINITIONS]
    assert set(names) == {name for name, _, _ in defined}
    assert sorted(documented) == sorted(defined), "a unit or definition differs from the code"


# --- links --------------------------------------------------------------------------------


def relative_links(page: Path) -> list[str]:
    prose = without_code(page.read_text())
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose)
    return [t for t in targets if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_points_at_something_that_exists(page: Path) -> None:
    broken: list[str] = []
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and (target.suffix != ".md" or anchor not in anchors(target.read_text())):
            broken.append(f"{link}: no such heading")
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_path_a_page_names_exists(page: Path) -> None:
    named = re.findall(
        r"`((?:hub|schema|web|adapters|consumers|bench|docs|tests)/[\w./-]*)`", page.read_text()
    )
    missing = sorted({path for path in named if not (REPO / path).exists()})
    assert not missing, f"{page.relative_to(REPO)} names paths that do not exist: {missing}"


def test_every_page_under_docs_is_listed_in_the_readme() -> None:
    readme = README.read_text()
    unlisted = [p.name for p in DOCS.glob("*.md") if f"](docs/{p.name})" not in readme]
    assert not unlisted


# --- the README ---------------------------------------------------------------------------


def test_the_readme_stays_a_front_door() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference to docs/"


def test_the_folder_map_names_every_package_and_every_part_of_the_core() -> None:
    folder_map = section(README.read_text(), FOLDER_MAP)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = pyproject["tool"]["importlinter"]["root_packages"]
    assert {"hub", "schema", "web", "adapters", "consumers"} <= set(packages)
    missing = [f"{package}/" for package in packages if f"`{package}/" not in folder_map]
    for part in sorted((REPO / "hub").iterdir()):
        if part.name.startswith(("__", ".")):
            continue
        if part.is_dir() and f"`hub/{part.name}/`" not in folder_map:
            missing.append(f"hub/{part.name}/")
        if part.suffix == ".py" and f"`hub/{part.name}`" not in folder_map:
            missing.append(f"hub/{part.name}")
    assert not missing, f"the README's folder map does not name {missing}"


# Where the map lists a folder's modules one by one: every module and package in it.
LISTED_WHOLE = ("hub/entrypoints/", "schema/", "consumers/", "hub/runtime/", "hub/services/")


def folder_rows() -> dict[str, str]:
    """The folder map's rows: the folder (its first backticked cell) → what it holds."""
    rows: dict[str, str] = {}
    for line in section(README.read_text(), FOLDER_MAP).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`") and cells[1].endswith("/`"):
            rows[cells[1].strip("`")] = cells[2]
    return rows


def test_every_module_the_folder_map_names_is_in_its_folder() -> None:
    rows = folder_rows()
    assert set(LISTED_WHOLE) <= set(rows)
    stale = []
    for folder, held in rows.items():
        present = {p.name for p in (REPO / folder).rglob("*")}
        for name in re.findall(r"`(\w+)(\.py|/)`", held):
            if name[0] + name[1].rstrip("/") not in present:
                stale.append(f"{folder}{''.join(name)}")
    assert not stale, f"the README's folder map names what is not there: {stale}"


@pytest.mark.parametrize("folder", LISTED_WHOLE)
def test_the_folder_map_names_every_module_of_the_folders_it_lists_whole(folder: str) -> None:
    held = folder_rows()[folder]
    unnamed = [
        part.name
        for part in sorted((REPO / folder).iterdir())
        if not part.name.startswith(("__", "."))
        and (part.suffix == ".py" or (part / "__init__.py").exists())
        and f"`{part.name}{'/' if part.is_dir() else ''}`" not in held
    ]
    assert not unnamed, f"the README's folder map does not name {folder}{unnamed}"
