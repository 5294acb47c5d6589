"""Whether a message may speak for the sender it names.

The sector and organisation of a message come from the sending system's token,
never from the message. A message still names its sender (MSH-4, MessageHeader.
sender, an OIOXML Sender block); that name must be one the token allows, or the
message is refused: a system may not post another organisation's messages.

Identities are written ``kind:value``. A token always carries ``sor:<org>`` and may
add aliases of other kinds (``gln:5790001382445``, ``hl7:RHR``).
"""

from __future__ import annotations

from hub.domain.translation import DeclaredSender, Sender, TranslationError

SOR = "sor"
GLN = "gln"
HL7_FACILITY = "hl7"  # an HL7 v2 sending facility (MSH-4), named as the hospital's feed names it

KINDS = (SOR, GLN, HL7_FACILITY)


def identity(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def identities_of(sender: Sender) -> frozenset[str]:
    """Every identity the sender's token lets it send under."""
    return frozenset({identity(SOR, sender.org), *sender.aliases})


def _kind(name: str) -> str:
    return name.split(":", 1)[0]


def check_declared_sender(declared: DeclaredSender | None, sender: Sender) -> None:
    """Raise TranslationError when ``declared`` contradicts or cannot be matched to the token.

    A message that names no sender claims nothing and passes. Otherwise each named
    identity of a kind the token also carries must be one of the token's, and at
    least one must match: an identity the token cannot confirm is not trusted.
    """
    if declared is None or not declared.identities:
        return
    allowed = identities_of(sender)
    allowed_kinds = {_kind(name) for name in allowed}
    contradicting = [
        name for name in declared.identities if _kind(name) in allowed_kinds and name not in allowed
    ]
    if contradicting:
        raise TranslationError(
            f"the message names its sender as {', '.join(contradicting)}, but the sending "
            f"system's token is for {', '.join(sorted(allowed))}",
            declared.where,
        )
    if not allowed.intersection(declared.identities):
        raise TranslationError(
            f"the message names its sender as {', '.join(declared.identities)}, which the "
            f"sending system's token does not confirm (it is for {', '.join(sorted(allowed))}); "
            "the token must carry that identity as an alias",
            declared.where,
        )
