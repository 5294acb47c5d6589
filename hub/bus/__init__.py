"""The message bus: one port, a Kafka implementation and an embedded, database-backed one."""
