"""Edge adapters: one inbound format each, raw bytes in, validated FHIR out."""
