"""The live audit: the account read through boto3 (read-only) and checked against the registry
and the isolation rules."""
