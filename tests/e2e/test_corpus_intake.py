"""The whole corpus through the front doors an operator uses: HTTP and ``hub ingest``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from hub.domain.translation import Sender
from tests.conformance.corpus import CorpusFile, corpus_files, sender_for, stream_outcomes
from tests.conformance.test_corpus import translate
from tests.e2e.conftest import Deployment
from tests.support.hub_process import hub_env, run_hub

pytestmark = pytest.mark.corpus


def sender_of(file: CorpusFile) -> Sender:
    return sender_for(translate(file)) if file.refusal is None else sender_for([])


@pytest.mark.parametrize("deployment", ["embedded-sqlite"], indirect=True)
def test_every_corpus_file_is_accepted_or_refused_over_http(deployment: Deployment) -> None:
    for file, refusal in stream_outcomes(corpus_files()).items():
        sender = sender_of(file)
        token = deployment.token(
            sender.sector.value, sender.org, aliases=tuple(sorted(sender.aliases))
        )
        response = deployment.ingest(file.path.read_bytes(), token=token, format=file.format)
        if refusal is None:
            assert response.status_code == 202, f"{file}: {response.text}"
        else:
            assert response.status_code == 422, f"{file}: {response.text}"
            assert response.json()["error"]["where"] == refusal.where

    def acknowledgements() -> str:
        return run_hub("acknowledgements", env=deployment.env).stdout

    # Each acknowledgement is recorded against the message it answers, with its issues.
    deployment.wait_for(lambda: acknowledgements().count("fatal-error") >= 3, "acknowledgements")
    assert "transient-error" in acknowledgements()


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
