"""Bus consumers: each applies inbound events to the store in its own way, idempotently."""
