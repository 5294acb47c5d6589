"""The whole corpus through ``hub ingest``, the command line an operator loads files with.

One run over a manifest naming each file's format and sender, in the corpus's stream
order (``hub ingest --manifest``); its own module, apart from the HTTP run
(test_corpus_intake.py), so that the two can run side by side. The plain form
(``hub ingest FORMAT FILE… --sector --org``) is used by test_restart.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conformance.corpus import corpus_files, stream_outcomes
from tests.e2e.test_corpus_intake import sender_of
from tests.support.hub_process import hub_env, run_hub

pytestmark = pytest.mark.corpus


def test_every_corpus_file_is_accepted_or_refused_by_hub_ingest(tmp_path: Path) -> None:
    env = hub_env(tmp_path / "var")
    outcomes = stream_outcomes(corpus_files())
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "format", "sector", "org", "aliases"])
        for file in outcomes:
            sender = sender_of(file)
            aliases = "|".join(sorted(sender.aliases))
            writer.writerow([file.path, file.format, sender.sector.value, sender.org, aliases])

    result = run_hub("ingest", "--manifest", str(manifest), env=env, timeout=300)

    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(outcomes), result.stdout + result.stderr
    for (file, refusal), line in zip(outcomes.items(), lines, strict=True):
        if refusal is None:
            assert line.startswith(f"accepted {file.path}: "), line
        else:
            assert line.startswith(f"rejected {file.path}: {refusal.where}: "), line
    assert result.returncode == (1 if any(outcomes.values()) else 0)
