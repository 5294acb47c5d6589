"""The hub's domain vocabulary: sectors, identifiers, translations and pathway facts."""
