"""Which AWS resource types take tags: read from the pulumi-aws Python SDK's source (a resource
whose constructor passes a `tags` input), not kept by hand. The pack ships the list it was built
with (`data/taggable_types.txt`, headed by the SDK's version), so it needs no pulumi-aws of its own;
a test regenerates the list from the installed SDK and fails when they differ.

    python -m tenancy_policies.taggable PATH/TO/site-packages/pulumi_aws > data/taggable_types.txt
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "taggable_types.txt"
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_TAGS_INPUT = '__props__.__dict__["tags"] = tags'


def generate(package: Path) -> tuple[str, list[str]]:
    """(the SDK's version, the type tokens of its taggable resources, sorted)."""
    version = json.loads((package / "pulumi-plugin.json").read_text())["version"]
    tokens = set()
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if _TAGS_INPUT not in text:
            continue
        tokens.update(_TOKEN.findall(text))
    return version, sorted(tokens)


def render(version: str, tokens: list[str]) -> str:
    return f"# pulumi-aws {version}: resource types with a `tags` input\n" + "\n".join(tokens) + "\n"


@cache
def taggable_types() -> frozenset[str]:
    return frozenset(line for line in DATA.read_text().splitlines() if line and not line.startswith("#"))


if __name__ == "__main__":
    sys.stdout.write(render(*generate(Path(sys.argv[1]))))
