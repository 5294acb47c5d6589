"""The whole corpus through ``hub ingest``, the command line an operator loads files with.

Its own module, apart from the HTTP run (test_corpus_intake.py), so that the two can
run side by side: it starts one ``hub ingest`` per sender.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from hub.domain.translation import Sender
from tests.conformance.corpus import CorpusFile, corpus_files, stream_outcomes
from tests.e2e.test_corpus_intake import sender_of
from tests.support.hub_process import hub_env, run_hub

pytestmark = pytest.mark.corpus


def test_every_corpus_file_is_accepted_or_refused_by_hub_ingest(tmp_path: Path) -> None:
    env = hub_env(tmp_path / "var")
    outcomes = stream_outcomes(corpus_files())
    by_sender: dict[tuple[str, Sender], list[CorpusFile]] = defaultdict(list)
    for file in outcomes:
        by_sender[(file.format, sender_of(file))].append(file)
    for (format, sender), files in by_sender.items():
        args = ["ingest", format, *(str(f.path) for f in files)]
        args += ["--sector", sender.sector.value, "--org", sender.org]
        for alias in sorted(sender.aliases):
            args += ["--alias", alias]
        result = run_hub(*args, env=env)
        lines = result.stdout.strip().splitlines()
        assert len(lines) == len(files), result.stdout + result.stderr
        for file, line in zip(files, lines, strict=True):
            refusal = outcomes[file]
            if refusal is None:
                assert line.startswith(f"accepted {file.path}: "), line
            else:
                assert line.startswith(f"rejected {file.path}: {refusal.where}: "), line
