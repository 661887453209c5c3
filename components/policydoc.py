"""IAM policy documents as plain data, serialised once all their Outputs are known."""

from __future__ import annotations

import json
from typing import Any

import pulumi


def document(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """Resolve every Output inside the statements and render the JSON policy document."""
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": statements}).apply(
        lambda doc: json.dumps(doc, sort_keys=True))
