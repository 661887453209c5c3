"""The tenancy Pulumi program: stack config and the tenant registry in, per-tenant resources out."""

from pathlib import Path

import pulumi

from components.stack import build, read_inputs

for name, value in build(read_inputs(Path(__file__).parent)).outputs.items():
    pulumi.export(name, value)
