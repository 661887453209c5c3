"""Unit cases for the pack's policies: each takes a fresh compliant stack (world.py), breaks it (or
reshapes it without breaking it), and says exactly what the policy must report.

A case that the rule misses today, although its description claims it, is registered with
`bypass=<why>`: it runs as a strict xfail, so it must keep failing until the rule is fixed (and then
must lose its mark). Its expectation is written loosely (`Names`: a violation at this URN naming
these things), so that any reasonable fix satisfies it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import pytest
from pulumi_policy.proxy import UnknownValueError

from .resources import UNKNOWN, Found, Stack, violations
from .world import compliant

OUTPUTS = ("id", "arn", "url")  # what the provider computes: unknown in a preview until created


@dataclass(frozen=True)
class Names:
    """Some violation at `urn` whose message mentions every fragment."""

    urn: str
    fragments: tuple[str, ...]


Expected = Union[Found, list[Names]]


@dataclass(frozen=True)
class Case:
    policy: str
    build: Callable[[Stack], Expected]  # breaks (or reshapes) the stack in place; returns what must be reported
    fails: bool  # a break (the policy must report it), or a compliant shape (it must not)
    bypass: Optional[str] = None
    config: Mapping[str, Any] = field(default_factory=dict)
    tenants: tuple = ()  # extra tenants for the compliant stack: (id, plan, isolation)

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.build.__name__}"

    def param(self):
        # raises=AssertionError: a bypass must fail by its assertion, never by a broken case
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"bypass: {self.bypass}")] \
            if self.bypass else []
        return pytest.param(self, id=self.id, marks=marks)

    def run(self) -> None:
        stack = compliant(list(self.tenants))
        expected = self.build(stack)
        found = violations(self.policy, stack, self.config)
        if not self.fails:
            assert expected in (None, []), f"{self.id}: a compliant shape expects nothing"
            assert found == [], f"{self.policy} flagged a compliant shape: {found}"
        elif expected and all(isinstance(e, Names) for e in expected):
            for e in expected:
                assert any(urn == e.urn and all(f in message for f in e.fragments) for message, urn in found), \
                    f"{self.policy} did not report {e}; it reported {found}"
        else:
            assert expected, f"{self.id}: a break must expect at least one violation"
            assert found == expected


    def run_preview(self) -> None:
        """The same case as `pulumi preview` sees it before the update: what the case creates has no
        id, ARN or URL yet, and every property naming one of those is unknown too (its dependency
        stays). An attack must be reported or make the policy "not run"; never pass silently. A
        twin must report nothing."""
        stack = compliant(list(self.tenants))
        before = {name: copy.deepcopy(spec.props) for name, spec in stack.specs.items()}
        expected = self.build(stack)
        created = [spec for name, spec in stack.specs.items() if name not in before]
        hidden = set()
        for spec in created:
            for key in OUTPUTS:
                if isinstance(spec.props.get(key), str) and len(spec.props[key]) >= 6:
                    hidden.add(spec.props[key])
                    spec.props[key] = UNKNOWN
        for spec in stack.specs.values():
            for key, value in list(spec.props.items()):
                if key not in OUTPUTS and hidden and any(h in json.dumps(value) for h in hidden):
                    spec.props[key] = UNKNOWN
        found: Found = []
        not_run = False
        try:
            found = violations(self.policy, stack, self.config)
        except UnknownValueError:
            not_run = True
        if not self.fails:
            assert found == [], f"{self.policy} flagged a compliant shape in preview: {found}"
        else:
            urns = {e.urn for e in expected} if expected and isinstance(expected[0], Names) else \
                {urn for _, urn in expected}
            assert not_run or urns & {urn for _, urn in found}, \
                f"{self.id}: in preview the attack passed silently (reported {found})"


    def run_through_analyzer(self) -> None:
        """The same stack as the engine's AnalyzeStack request, through the SDK's own servicer (the
        path `pulumi preview --policy-pack policies` takes): attacks are mandatory violations at the
        expected URNs, twins are clean."""
        from pulumi.runtime.proto import analyzer_pb2
        from pulumi_policy.policy import _PolicyAnalyzerServicer

        from tenancy_policies import catalog

        from .resources import policies

        stack = compliant(list(self.tenants))
        expected = self.build(stack)
        servicer = _PolicyAnalyzerServicer(catalog.PACK_NAME, "0.0.1", [policies()[self.policy]], catalog.MANDATORY)
        diagnostics = servicer.AnalyzeStack(stack.request(), None).diagnostics
        assert all(d.policyName == self.policy and d.enforcementLevel == analyzer_pb2.MANDATORY for d in diagnostics)
        reported = {d.urn for d in diagnostics}
        urns = {e.urn for e in expected} if expected and isinstance(expected[0], Names) else \
            {urn for _, urn in expected or []}
        assert urns <= reported if self.fails else reported == set()


def corpus_tests(cases: Cases, bypasses: int = 0, twin_ratio: float = 0.6):
    """A bypass corpus's tests, the same for every mechanism: each case run directly, in preview and
    through the SDK's analyzer service (cases with a policy config are left out of that one, which
    carries none); and compliant twins for most attacks (`twin_ratio` of them at least)."""

    @pytest.mark.parametrize("case", cases.params())
    def test_case(case):
        case.run()

    @pytest.mark.parametrize("case", cases.params())
    def test_case_in_preview(case):
        case.run_preview()

    @pytest.mark.parametrize("case", [c for c in cases if not c.config], ids=lambda c: c.id)
    def test_case_through_the_sdks_analyzer_service(case):
        case.run_through_analyzer()

    def test_every_attack_has_a_compliant_twin():
        attacks = sum(case.fails for case in cases) - bypasses
        twins = sum(not case.fails for case in cases)
        assert attacks and twins >= attacks * twin_ratio

    return test_case, test_case_in_preview, test_case_through_the_sdks_analyzer_service, \
        test_every_attack_has_a_compliant_twin


class Cases(list):
    """The cases of one test module, registered by decorator."""

    def fails(self, policy: str, bypass: Optional[str] = None, config: Optional[Mapping[str, Any]] = None,
              tenants: tuple = ()) -> Callable:
        def register(build: Callable[[Stack], Expected]):
            self.append(Case(policy, build, True, bypass, dict(config or {}), tenants))
            return build
        return register

    def passes(self, policy: str, tenants: tuple = ()) -> Callable:
        def register(build: Callable[[Stack], Any]):
            self.append(Case(policy, build, False, None, {}, tenants))
            return build
        return register

    def params(self) -> list:
        return [case.param() for case in self]

    def caught(self) -> set[str]:
        """The policies with at least one break they catch today."""
        return {case.policy for case in self if case.fails and not case.bypass}
