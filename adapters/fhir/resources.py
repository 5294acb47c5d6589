"""One entry of the payload to the resource the hub stores.

The sender's resource is kept as sent, except:

* ``id`` is the hub id (see ``identity``) and references are rewritten (see
  ``references``);
* ``meta.versionId``, ``meta.lastUpdated`` and ``meta.source`` are dropped: they
  describe the sender's server, and the hub keeps its own versions (a re-sent resource
  whose content did not change is then not a new version). ``meta.profile``,
  ``meta.tag`` and ``meta.security`` stay;
* a Patient's CPR identifiers are written as 10 digits without a hyphen.
"""

from __future__ import annotations

from typing import Any

from hub.domain.identifiers import CPR_SYSTEM, normalise_cpr

_SERVER_META = ("versionId", "lastUpdated", "source")


def finish(resource: dict[str, Any], hub_id: str) -> dict[str, Any]:
    """``resource`` (already a rewritten copy) with its hub id and without server meta."""
    resource["id"] = hub_id
    meta = resource.get("meta")
    if isinstance(meta, dict):
        kept = {key: value for key, value in meta.items() if key not in _SERVER_META}
        if kept:
            resource["meta"] = kept
        else:
            del resource["meta"]
    if resource.get("resourceType") == "Patient":
        for identifier in resource.get("identifier") or ():
            if isinstance(identifier, dict) and identifier.get("system") == CPR_SYSTEM:
                # Already checked to be a CPR number when the patient key was read.
                identifier["value"] = normalise_cpr(identifier["value"])
    return resource
