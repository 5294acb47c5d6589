"""Shared helpers for the Brobygger test suite (real PostgreSQL / Kafka-protocol broker)."""
