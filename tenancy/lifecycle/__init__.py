"""A tenant's life after its first deploy: registry edits, tier moves that carry its data, and offboarding with a verified export."""
