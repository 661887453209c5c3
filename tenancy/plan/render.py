"""How a plan is shown: a terminal table, stable JSON for tools, markdown for a pull-request comment.

Each renderer takes a `PlanResult` or its JSON (`PlanResult.as_json()`), so a plan made in another
process (`tenancy plan --all`, `--base`) renders the same way."""

from __future__ import annotations

import json
from typing import Union

from tenancy.plan.run import PlanResult

Plan = Union[PlanResult, dict]

SUMMARY_OUTPUTS = ("keyAlias", "roleArn", "namespace", "databaseEndpoint", "queueUrl")
SERVICES = ("network", "database", "cache", "compute")


def comment_marker(stack: str) -> str:
    """The hidden line by which the PR workflow finds (and updates) a stack's comment."""
    return f"<!-- tenancy-plan:{stack} -->"


def _counts(by_type: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in by_type.items())


def as_data(result: Plan) -> dict:
    """The plan's JSON (`docs/plan-json.md`), from a PlanResult or as it is."""
    return result if isinstance(result, dict) else result.as_json()


def _rows(data: dict) -> tuple[tuple, list[tuple]]:
    header = ("TENANT", "PLAN", "STATUS", "TIER", *(s.upper() for s in SERVICES), "RESOURCES")
    rows = [(t["id"], t["plan"] or "", t["status"] or "", t["isolation"] or "",
             *(t["services"].get(s, "") for s in SERVICES), str(t["resourceCount"])) for t in data["tenants"]]
    return header, rows


def render_table(result: Plan) -> str:
    data = as_data(result)
    lines = [f"tenancy plan: stack {data['stack']} (project {data['project']}, environment "
             f"{data['environment'] or '-'}, scope {data['scope'] or '-'}), offline"
             f"{' preview' if data['preview'] else ''}, {data['resourceCount']} resources", ""]
    if data["platform"]:
        lines += [f"platform: {data['platform']['resourceCount']} resources",
                  f"  {_counts(data['platform']['resourcesByType'])}", ""]
    header, rows = _rows(data)
    if rows:
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        for tenant in data["tenants"]:
            lines += ["", f"{tenant['id']}:", f"  {_counts(tenant['resourcesByType'])}"]
            lines += [f"  {k}: {tenant['outputs'][k]}" for k in SUMMARY_OUTPUTS if tenant["outputs"].get(k)]
    elif not data["platform"]:
        lines.append(f"resources: {_counts(data['resourcesByType'])}")
    lines += ["", *_constraint_lines(data["constraints"]), *_capacity_lines(data["capacity"]),
              *_policy_lines(data["policy"])]
    return "\n".join(lines)


def _capacity_lines(capacity: dict | None) -> list[str]:
    if capacity is None:
        return []
    over = [q for q in capacity["quotas"] if q["used"] > q["limit"]]
    fits = ", ".join(f"{n} more {tier}" for tier, n in capacity["moreTenantsFit"].items())
    lines = [f"account quotas: {'PASSED' if not over else 'FAILED'}" + (f" ({fits} would fit)" if fits else "")]
    for q in over:
        where = f" ({q['scope']} {q['scopeId']})" if q["scopeId"] else ""
        ask = f"request quota {q['code']}" if q["code"] else "request it in Service Quotas or from support"
        lines.append(f"  {q['quota']}{where}: needs {q['used']}, {q['limit']} available; {ask}")
    return lines


def _constraint_lines(constraints: dict) -> list[str]:
    breaches = constraints["breaches"]
    if not breaches:
        return ["provider and API constraints: PASSED"]
    lines = [f"provider and API constraints: FAILED, {len(breaches)} values AWS or Kubernetes would refuse"]
    lines += [f"  {b['name']} ({b['type']}): {b['field']} = {b['value']!r}: {b['rule']}" for b in breaches]
    return lines + [""]


def _policy_lines(policy: dict | None) -> list[str]:
    if policy is None:
        return ["policy: no policy pack"]
    verdict = "PASSED" if policy["passed"] else "FAILED"
    lines = [f"policy {policy['pack']} ({policy['config'] or 'defaults'}): {verdict}, "
             f"{policy['mandatory']} mandatory and {policy['advisory']} advisory violations"]
    for v in policy["violations"]:
        lines.append(f"  [{v['level']}] {v['policy']} ({v['severity']}): {v['resourceName'] or '-'}"
                     f" ({v['tenant'] or 'platform'}): {v['message']}")
        lines.append(f"      fix: {v['remediation']}")
    if policy["notRun"]:
        lines.append(f"  not judged in preview (unknown values): {', '.join(policy['notRun'])}")
    return lines


def render_json(result: Plan) -> str:
    return json.dumps(as_data(result), indent=2, sort_keys=True, default=str)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def passed(data: dict) -> bool:
    """No mandatory violation, no refused value, no quota exceeded."""
    return data["exitCode"] == 0


def verdict_line(data: dict) -> str:
    policy = data["policy"]
    verdict = "no policy pack" if not policy else (
        f"{'passed' if policy['passed'] else 'failed'}: {policy['mandatory']} mandatory, "
        f"{policy['advisory']} advisory violations")
    return (f"Environment `{data['environment'] or '-'}`, scope `{data['scope'] or '-'}`, "
            f"{data['resourceCount']} resources, policy {verdict}, "
            f"{len(data['constraints']['breaches'])} values AWS or Kubernetes would refuse. "
            "Planned offline, without cloud credentials.")


def inventory_markdown(data: dict) -> list[str]:
    """Each tenant's tiers and resource count, then per tenant its resources by type (collapsed)."""
    lines: list[str] = []
    header, rows = _rows(data)
    if rows:
        lines += ["| " + " | ".join(h.title() for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
        lines.append("")
        for tenant in data["tenants"]:
            lines += [f"<details><summary><b>{tenant['id']}</b>: {tenant['resourceCount']} resources</summary>", "",
                      "| Type | Count |", "|---|---|"]
            lines += [f"| `{t}` | {n} |" for t, n in tenant["resourcesByType"].items()]
            shown = [k for k in SUMMARY_OUTPUTS if tenant["outputs"].get(k)]
            if shown:
                lines += ["", *[f"- {k}: `{tenant['outputs'][k]}`" for k in shown]]
            lines += ["", "</details>", ""]
    elif data["platform"]:
        lines += [f"Platform: {data['platform']['resourceCount']} resources: "
                  f"{_md_escape(_counts(data['platform']['resourcesByType']))}", ""]
    return lines


def findings_markdown(data: dict) -> list[str]:
    """What fails the plan or needs a look: refused values, exceeded quotas, policy violations."""
    lines: list[str] = []
    if data["constraints"]["breaches"]:
        lines += ["#### Values AWS or Kubernetes would refuse", "", "| Resource | Type | Field | Value | Rule |",
                  "|---|---|---|---|---|"]
        lines += [f"| `{_md_escape(b['name'])}` | `{b['type']}` | `{_md_escape(b['field'])}` | "
                  f"`{_md_escape(b['value'])}` | {_md_escape(b['rule'])} |" for b in data["constraints"]["breaches"]]
        lines.append("")
    capacity = data["capacity"]
    if capacity and not capacity["passed"]:
        lines += ["#### Account quotas this plan exceeds", "", "| Quota | Scope | Needs | Available | Code |",
                  "|---|---|---|---|---|"]
        lines += [f"| {q['quota']} | {q['scope']} {_md_escape(q['scopeId'])} | {q['used']} | {q['limit']} | "
                  f"`{q['code'] or '-'}` |" for q in capacity["quotas"] if q["used"] > q["limit"]]
        lines.append("")
    policy = data["policy"]
    if policy and policy["violations"]:
        lines += ["#### Policy violations", "", "| Level | Policy | Resource | Tenant | Problem | Fix |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {v['level']} | `{v['policy']}` | `{_md_escape(v['resourceName'])}` | {v['tenant'] or 'platform'} | "
                  f"{_md_escape(v['message'])} | {_md_escape(v['remediation'])} |" for v in policy["violations"]]
        lines.append("")
    return lines


def render_markdown(result: Plan) -> str:
    data = as_data(result)
    icon = "✅" if passed(data) else "❌"
    lines = [comment_marker(data["stack"]), f"### {icon} tenancy plan: `{data['stack']}`", "", verdict_line(data), ""]
    lines += inventory_markdown(data)
    lines += findings_markdown(data)
    return "\n".join(lines).rstrip() + "\n"


RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}


# -- many stacks: `tenancy plan --all` --------------------------------------------------------------

def _stack_verdict(plan) -> str:
    if plan.error:
        return "error"
    return "ok" if plan.code == 0 else "FAILED"


def _plan_problems(data: dict) -> list[str]:
    """A failing plan's problems, as the table shows them."""
    lines = []
    if data["constraints"]["breaches"]:
        lines += _constraint_lines(data["constraints"])
    if data["capacity"] and not data["capacity"]["passed"]:
        lines += _capacity_lines(data["capacity"])
    if data["policy"] and data["policy"]["violations"]:
        lines += _policy_lines(data["policy"])
    return [line for line in lines if line]


def render_all_table(result) -> str:
    from tenancy.plan.all import summary_rows

    rows = summary_rows(result.stacks)
    header = ("STACK", "WAVE", "TENANTS", "RESOURCES", "MANDATORY", "ADVISORY", "REFUSED", "QUOTAS", "RESULT",
              "SECONDS")
    table = [header] + [(r["stack"], str(r["wave"] or "-"), str(r["tenants"]), str(r["resources"]), str(r["mandatory"]),
                         str(r["advisory"]), str(r["refused"]), str(r["quotas"]), _stack_verdict(p),
                         f"{r['seconds']:.1f}") for r, p in zip(rows, result.stacks)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [f"tenancy plan --all: environment {result.environment}, {len(result.stacks)} stacks on "
             f"{result.jobs} processes, offline, {result.seconds:.1f}s", ""]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    for plan in result.stacks:
        if plan.error:
            lines += ["", f"{plan.stack}: could not be planned:", *(f"  {line}" for line in plan.error.splitlines())]
        elif plan.code:
            lines += ["", f"{plan.stack}:", *(f"  {line}" for line in _plan_problems(plan.data))]
    failed = sum(1 for p in result.stacks if p.code)
    lines += ["", f"{len(result.stacks) - failed} of {len(result.stacks)} stacks passed"]
    return "\n".join(lines)


def render_all_json(result) -> str:
    return json.dumps(result.as_json(), indent=2, sort_keys=True, default=str)


def render_all_markdown(result) -> str:
    from tenancy.plan.all import summary_rows

    failed = [p for p in result.stacks if p.code]
    icon = "✅" if not failed else "❌"
    lines = [comment_marker(f"all-{result.environment}"),
             f"### {icon} tenancy plan: every stack of `{result.environment}`", "",
             f"{len(result.stacks) - len(failed)} of {len(result.stacks)} stacks passed. Planned offline, "
             "without cloud credentials.", "",
             "| Stack | Wave | Tenants | Resources | Mandatory | Advisory | Refused values | Quotas exceeded | Result |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row, plan in zip(summary_rows(result.stacks), result.stacks):
        lines.append(f"| `{row['stack']}` | {row['wave'] or '-'} | {row['tenants']} | {row['resources']} | "
                     f"{row['mandatory']} | {row['advisory']} | {row['refused']} | {row['quotas']} | "
                     f"{'✅' if not plan.code else '❌'} {_stack_verdict(plan)} |")
    lines.append("")
    for plan in result.stacks:
        if plan.error:
            lines += [f"#### `{plan.stack}` could not be planned", "", "```", plan.error, "```", ""]
        elif plan.code:
            lines += [f"#### `{plan.stack}`", "", *findings_markdown(plan.data)]
    for plan in result.stacks:
        if plan.data:
            lines += [f"<details><summary>Plan of <code>{plan.stack}</code>: {len(plan.data['tenants'])} tenants, "
                      f"{plan.data['resourceCount']} resources</summary>", "", verdict_line(plan.data), "",
                      *inventory_markdown(plan.data), "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


ALL_RENDERERS = {"table": render_all_table, "json": render_all_json, "markdown": render_all_markdown}


# -- a change: `tenancy plan --base` -----------------------------------------------------------------

MAX_LISTED = 12  # more creations or deletions than this for one owner are counted by type
MAX_KEY_CHANGES = 6


def _owner_label(change) -> str:
    from tenancy.plan.diff import PLATFORM

    if change.owner_is_tenant:
        return change.owner
    return "platform" if change.owner == PLATFORM else "stack"


def other_tenants_line(result, markdown: bool = False) -> str:
    """The one line: does any tenant other than the ones the change edits see a resource change?"""
    others = result.other_tenants
    where: dict[str, list[str]] = {}
    for change in result.changes:
        for tenant in sorted(change.diff.tenants()):
            where.setdefault(tenant, []).append(change.diff.stack)
    shared = result.shared_paths
    also = (f" This change also edits {', '.join(shared[:5])}{' and more' if len(shared) > 5 else ''}, which "
            f"{'apply' if len(shared) > 1 else 'applies'} to more than one tenant.") if shared else ""
    unknown = [c.diff.stack for c in result.changes if c.diff.note]
    if unknown:
        also += f" Not compared, so not counted: {', '.join(unknown)}."
    if others:
        listed = ", ".join(f"{t} ({', '.join(where[t])})" for t in others)
        return f"{'⚠️ ' if markdown else ''}Other tenants' resources change: {listed}.{also}"
    mark = "✅ " if markdown else ""
    if not where:
        return f"{mark}No tenant's resources change.{also}"
    return f"{mark}No other tenant's resources change: only {', '.join(sorted(where))}'s.{also}"


def _change_detail(change, markdown: bool) -> str:
    code = (lambda text: f"`{str(text).replace('`', chr(39))}`") if markdown else (lambda text: str(text))
    parts = []
    if change.replace_keys:
        parts.append(f"replaced because {', '.join(code(k) for k in change.replace_keys)} changes")
    if change.protected:
        parts.append("protected: `pulumi up` stops until it is unprotected")
    shown = change.changes[:MAX_KEY_CHANGES]
    parts += [f"{code(c.path)}: {code(c.before)} → {code(c.after)}" for c in shown]
    if len(change.changes) > len(shown):
        parts.append(f"and {len(change.changes) - len(shown)} more")
    return ("<br>" if markdown else "; ").join(parts)


def _diff_rows(stack_diff) -> list[tuple[str, str, str, str, str]]:
    """(owner, action, name, type, detail) per change, bulk creations and deletions counted by type."""
    from collections import Counter

    from tenancy.plan.run import short_type

    rows = []
    for changes in stack_diff.by_owner().values():
        label = _owner_label(changes[0])
        for action in ("create", "delete"):
            bulk = [c for c in changes if c.action == action]
            if len(bulk) > MAX_LISTED:
                counts = Counter(short_type(c.type) for c in bulk)
                protected = sum(1 for c in bulk if c.protected)
                rows.append((label, action, f"{len(bulk)} resources", ", ".join(f"{t} {n}" for t, n in
                                                                                 sorted(counts.items())),
                             f"{protected} protected" if protected else ""))
                changes = [c for c in changes if c.action != action]
        rows += [(label, c.action, c.name, short_type(c.type), c) for c in changes]
    return rows


def render_change_table(result) -> str:
    from tenancy.plan.diff import summary

    count = len(result.changes)
    lines = [f"tenancy plan --base {result.base}: {count} stack{'s' if count != 1 else ''} the change touches, "
             f"planned offline at both ends, {result.seconds:.1f}s", *(f"note: {n}" for n in result.notes), ""]
    if not result.changes:
        lines.append("No stack is affected by this change.")
    for change in result.changes:
        diff = change.diff
        if diff.note:
            lines.append(f"{diff.stack}: not compared: {diff.note}")
            continue
        state = "" if diff.existed and diff.exists else (" (new stack)" if diff.exists else " (stack goes away)")
        lines.append(f"{diff.stack}{state}: {summary(diff.counts())}")
        for owner, action, name, type_, detail in _diff_rows(diff):
            text = detail if isinstance(detail, str) else _change_detail(detail, markdown=False)
            lines.append(f"  {owner}: {action} {type_} {name}" + (f" ({text})" if text else ""))
    lines += ["", other_tenants_line(result), ""]
    for change in result.changes:
        head = change.head
        if head.error:
            lines.append(f"{head.stack}: could not be planned: {head.error}")
        elif head.data:
            lines.append(f"{head.stack}: {'passed' if head.code == 0 else 'FAILED'} "
                         f"({head.data['resourceCount']} resources)")
            if head.code:
                lines += [f"  {line}" for line in _plan_problems(head.data)]
    return "\n".join(lines).rstrip()


def render_change_json(result) -> str:
    return json.dumps(result.as_json(), indent=2, sort_keys=True, default=str)


def render_change_markdown(result) -> str:
    from tenancy.plan.diff import summary

    failed = [c for c in result.changes if c.code]
    icon = "✅" if not failed else "❌"
    single = len(result.changes) == 1
    name = result.changes[0].diff.stack if single else "changes"
    title = f"`{name}` against `{result.base}`" if single else f"the stacks this change touches, against `{result.base}`"
    counts = summary(result.diff.counts())
    lines = [comment_marker(name), f"### {icon} tenancy plan: {title}", "",
             f"**{counts[0].upper() + counts[1:]}** in {len(result.changes)} "
             f"stack{'s' if len(result.changes) != 1 else ''}"
             + (f", for {', '.join(f'**{t}**' for t in result.targets)}" if result.targets else "")
             + ". Planned offline at both ends, without cloud credentials.", ""]
    lines += [f"> {n}" for n in result.notes]
    if not result.changes:
        lines += ["No stack is affected by this change.", ""]
    for change in result.changes:
        diff = change.diff
        if diff.note:
            lines += [f"#### `{diff.stack}`: not compared", "", _md_escape(diff.note), ""]
            continue
        state = "" if diff.existed and diff.exists else (" (new stack)" if diff.exists else " (stack goes away)")
        lines += [f"#### `{diff.stack}`{state}: {summary(diff.counts())}", ""]
        rows = _diff_rows(diff)
        if rows:
            lines += ["| Owner | Action | Resource | Type | What changes |", "|---|---|---|---|---|"]
            for owner, action, rname, type_, detail in rows:
                text = detail if isinstance(detail, str) else _change_detail(detail, markdown=True)
                lines.append(f"| {owner} | {action} | `{_md_escape(rname)}` | `{type_}` | {_md_escape(text)} |")
            lines.append("")
    lines += [other_tenants_line(result, markdown=True), ""]
    for change in result.changes:
        head = change.head
        if head.error:
            lines += [f"#### ❌ `{head.stack}` could not be planned", "", "```", head.error, "```", ""]
        elif head.data and head.code:
            lines += [f"#### ❌ `{head.stack}` fails its checks", "", *findings_markdown(head.data)]
    for change in result.changes:
        data = change.head.data
        if data:
            lines += [f"<details><summary>Full plan of <code>{data['stack']}</code> after the change: "
                      f"{len(data['tenants'])} tenants, {data['resourceCount']} resources</summary>", "",
                      verdict_line(data), "", *inventory_markdown(data), "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


CHANGE_RENDERERS = {"table": render_change_table, "json": render_change_json, "markdown": render_change_markdown}
