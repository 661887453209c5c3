"""Usage and cost per tenant, read from the live account (boto3), for `tenancy report` and the portal."""
