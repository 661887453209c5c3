"""In-memory stacks shaped exactly as the policy SDK hands them to a policy, for unit tests of the
pack's rules without running a program.

What the SDK does with an `AnalyzeStackRequest` (pulumi_policy/policy.py, `AnalyzeStack`), this does
with a list of specs: properties travel as a protobuf Struct (so numbers arrive as floats, unknowns
as the engine's sentinel strings, secrets as signature objects), are deserialized and wrapped in the
unknown-checking proxy, and each resource becomes a `PolicyResource` whose `parent`, `dependencies`
and `property_dependencies` are the other resources' objects (a URN that is not in the stack is
dropped, as the SDK drops it), with `PolicyResourceOptions` carrying `protect` and the parent's URN.
`request()` gives the same stack as the engine's request, for tests that go through the SDK's own
analyzer service.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Optional

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from tenancy_policies import catalog

UNKNOWN = UNKNOWN_STRING_VALUE  # a value the engine does not know before the update (preview)
STACK_TYPE = "pulumi:pulumi:Stack"
_ROOT = object()  # default parent: the stack itself


def secret(value: Any) -> dict:
    """A secret value as the engine sends it."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def wire(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(props), struct)
    return struct


def as_received(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """Properties as a policy receives them: through the wire, deserialized, behind the proxy."""
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(wire(props))))


@dataclass
class Spec:
    """One resource of an in-memory stack; edit it freely before asking for the policy's view."""

    type: str
    name: str
    props: dict
    parent: Optional[str]  # the parent's name
    depends_on: list[str] = field(default_factory=list)  # names
    prop_deps: dict[str, list[str]] = field(default_factory=dict)  # property -> names
    protect: bool = False
    custom: bool = True


class Stack:
    """Resources by name, in registration order, under a root `pulumi:pulumi:Stack`."""

    def __init__(self, stack: str = "dev", project: str = "tenancy"):
        self.stack, self.project = stack, project
        self.specs: dict[str, Spec] = {}
        self.root = f"{project}-{stack}"
        self.specs[self.root] = Spec(STACK_TYPE, self.root, {}, None, custom=False)

    # -- building ------------------------------------------------------------------------------
    def add(self, type_: str, name: str, props: Optional[Mapping[str, Any]] = None, *, parent: Any = _ROOT,
            depends_on: Iterable[str] = (), prop_deps: Optional[Mapping[str, Iterable[str]]] = None,
            protect: bool = False, custom: bool = True) -> Spec:
        assert name not in self.specs, f"{name} is already in the stack"
        for other in [parent, *depends_on, *(n for names in (prop_deps or {}).values() for n in names)]:
            assert other in (_ROOT, None) or other in self.specs, f"{name} refers to {other}, which is not (yet) in the stack"
        spec = Spec(type_, name, copy.deepcopy(dict(props or {})), self.root if parent is _ROOT else parent,
                    list(depends_on), {k: list(v) for k, v in (prop_deps or {}).items()}, protect, custom)
        self.specs[name] = spec
        return spec

    def component(self, type_: str, name: str, props: Optional[Mapping[str, Any]] = None, *, parent: Any = _ROOT) -> Spec:
        return self.add(type_, name, props, parent=parent, custom=False)

    def remove(self, name: str) -> None:
        del self.specs[name]

    def __getitem__(self, name: str) -> Spec:
        return self.specs[name]

    # -- what the engine sends -----------------------------------------------------------------
    def urn(self, name: str) -> str:
        spec = self.specs[name]
        if spec.type == STACK_TYPE:
            return f"urn:pulumi:{self.stack}::{self.project}::{STACK_TYPE}::{name}"
        chain, parent = [spec.type], spec.parent
        while parent is not None and self.specs[parent].type != STACK_TYPE:
            chain.insert(0, self.specs[parent].type)
            parent = self.specs[parent].parent
        return f"urn:pulumi:{self.stack}::{self.project}::{'$'.join(chain)}::{name}"

    def _dependencies(self, spec: Spec) -> list[str]:
        """The engine's `dependencies`: explicit ones and every property's, each once."""
        names = list(spec.depends_on) + [n for names in spec.prop_deps.values() for n in names]
        return [self.urn(n) for n in dict.fromkeys(names) if n in self.specs]

    def _options(self, spec: Spec) -> PolicyResourceOptions:
        parent = self.urn(spec.parent) if spec.parent in self.specs else None
        return PolicyResourceOptions(spec.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)

    def resources(self) -> list[PolicyResource]:
        """A fresh list, as the SDK builds one for each stack policy."""
        by_urn: dict[str, PolicyResource] = {}
        for spec in self.specs.values():
            by_urn[self.urn(spec.name)] = PolicyResource(spec.type, as_received(spec.props), self.urn(spec.name),
                                                         spec.name, self._options(spec), None, None, [], {})
        for spec in self.specs.values():
            resource = by_urn[self.urn(spec.name)]
            if spec.parent in self.specs:
                resource.parent = by_urn[self.urn(spec.parent)]
            resource.dependencies.extend(by_urn[u] for u in self._dependencies(spec))
            for key, names in spec.prop_deps.items():
                resource.property_dependencies[key] = [by_urn[self.urn(n)] for n in names if n in self.specs]
        return list(by_urn.values())

    def args(self, config: Optional[Mapping[str, Any]] = None) -> StackValidationArgs:
        return StackValidationArgs(self.resources(), dict(config or {}))

    def resource_args(self, name: str, config: Optional[Mapping[str, Any]] = None) -> ResourceValidationArgs:
        spec = self.specs[name]
        return ResourceValidationArgs(spec.type, as_received(spec.props), self.urn(name), name, self._options(spec),
                                      None, dict(config or {}))

    def resource_request(self, name: str) -> analyzer_pb2.AnalyzeRequest:
        """The engine's Analyze request for one resource."""
        spec = self.specs[name]
        parent = self.urn(spec.parent) if spec.parent in self.specs else ""
        return analyzer_pb2.AnalyzeRequest(type=spec.type, properties=wire(spec.props), urn=self.urn(name), name=name,
                                           options=analyzer_pb2.AnalyzerResourceOptions(protect=spec.protect,
                                                                                        parent=parent))

    def request(self) -> analyzer_pb2.AnalyzeStackRequest:
        """The same stack as the engine's AnalyzeStack request."""
        resources = []
        for spec in self.specs.values():
            parent = self.urn(spec.parent) if spec.parent in self.specs else ""
            resources.append(analyzer_pb2.AnalyzerResource(
                type=spec.type, properties=wire(spec.props), urn=self.urn(spec.name), name=spec.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=spec.protect, parent=parent), parent=parent,
                dependencies=self._dependencies(spec),
                propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(
                    urns=[self.urn(n) for n in v if n in self.specs]) for k, v in spec.prop_deps.items()}))
        return analyzer_pb2.AnalyzeStackRequest(resources=resources)


# -- running the pack's policies -------------------------------------------------------------------
Found = list[tuple[str, str]]  # (message, urn); "" for the stack as a whole


@cache
def policies() -> dict[str, Policy]:
    """The pack's policies by name, as policies/__main__.py builds them."""
    return {p.name: p for p in catalog.policies()}


def violations(policy_name: str, stack: Stack, config: Optional[Mapping[str, Any]] = None) -> Found:
    """What one policy reports on the stack: a stack policy once, a resource policy on every custom
    resource (with the resource's URN, as the engine attributes it)."""
    policy = policies()[policy_name]
    found: Found = []
    if isinstance(policy, ResourceValidationPolicy):
        for spec in stack.specs.values():
            if spec.custom:
                urn = stack.urn(spec.name)
                policy.validate(stack.resource_args(spec.name, config),
                                lambda message, _urn=None, urn=urn: found.append((message, urn)))
    else:
        policy.validate(stack.args(config), lambda message, urn=None: found.append((message, urn or "")))
    return found
