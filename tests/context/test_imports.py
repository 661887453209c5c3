"""A service imports the library without the program: no Pulumi, no registry models or YAML, and
each third-party library only in the module that needs it."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
{imports}
print(json.dumps(sorted(m for m in sys.modules)))
"""


def loaded(*imports: str) -> set[str]:
    code = PROBE.format(imports="\n".join(imports))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_the_light_parts_import_no_third_party_library():
    modules = loaded("import tenancy.context", "from tenancy.context import TenantLogFilter, event_hooks, tenant_scope")
    assert not roots(modules) & {"jwt", "psycopg", "boto3", "botocore", "httpx", "pulumi", "pydantic", "yaml",
                                 "starlette", "cryptography"}


def test_the_whole_library_imports_nothing_of_the_program():
    modules = loaded("import tenancy.context.tokens, tenancy.context.middleware, tenancy.context.database",
                     "import tenancy.context.aws, tenancy.context.logs, tenancy.context.outgoing",
                     "from tenancy.context import TenantMiddleware, TenantDatabase, TenantSessions")
    ours = {m for m in modules if m.split(".")[0] in ("tenancy", "components", "tenancy_policies")}
    assert {m for m in ours if not m.startswith("tenancy.context")} == {"tenancy", "tenancy.registry",
                                                                        "tenancy.registry.naming"}
    assert not roots(modules) & {"pulumi", "pulumi_aws", "pydantic", "yaml", "starlette", "httpx"}
