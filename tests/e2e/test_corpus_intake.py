"""The whole corpus through the front door senders use: HTTP.

``hub ingest`` loads it too, in test_corpus_ingest_command.py.
"""

from __future__ import annotations

import pytest

from hub.domain.translation import Sender
from tests.conformance.corpus import CorpusFile, corpus_files, sender_for, stream_outcomes
from tests.conformance.test_corpus import translate
from tests.e2e.conftest import Deployment
from tests.support.hub_process import run_hub

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
