"""The isolation model: an access graph of who can reach what, as pure Python.

Nothing here imports Pulumi or boto3: `model.Resource` is a plain description of one resource
(type, name, properties, parent, property dependencies), which the policy pack builds from the
plan (`tenancy_policies.isolation`) and an audit can build from a live account. `analysis.graph`
derives owners (`core`) and edges ("source can <verbs> target via mechanism"), one module per family
of mechanisms (`iam`, `network`, `cache`); `paths` declares, in one place, the platform paths the
invariant allows; `invariant.findings` names every other path from one owner into another tenant's
resources.
"""
