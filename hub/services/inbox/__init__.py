"""Each organisation's inbox: filing items, reading them under consent, moving them on.

``filing`` files items to their addressees, ``read`` reads and moves them on,
``feed`` subscribes to them and renders their deliveries.

An item (``hub.domain.inbox``) is a logged pathway event (``pathway_events``) filed to
each of its addressees (``inbox_items``). Filing happens in the transaction of what
caused it: the projection of a stored version (``consumers.inbox``), or the alert
scanner's log of a due alert. An item due now is numbered at once into the inbox
subscriptions of its addressee (websocket feeds and webhooks, the same numbered
deliveries, catch-up, retries and dead letters as pathway events); a deferred
referral waits for its day (:func:`announce_due`, run by the alert scanner).

What an item tells is decided when it is read or delivered, through
``hub.services.consent.read`` as every read is, and audited under the real reader:
an organisation is shown an item only while it may see the resource the item is
about (a message addressed to it: the addressed-disclosure rule), or, for an alert,
what the alert rests on. An item it may no longer see is not listed, and a delivery
of it is withheld (its number kept).
"""
