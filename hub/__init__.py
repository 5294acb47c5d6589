"""Brobygger core: domain, consent, store, bus, auth, audit and the composition root."""
