"""How a plan is shown: a terminal table, stable JSON for tools, markdown for a pull-request comment."""

from __future__ import annotations

import json

from tenancy.plan.run import PlanResult

SUMMARY_OUTPUTS = ("keyAlias", "roleArn", "namespace", "databaseEndpoint", "queueUrl")
SERVICES = ("network", "database", "cache", "compute")


def comment_marker(stack: str) -> str:
    """The hidden line by which the PR workflow finds (and updates) a stack's comment."""
    return f"<!-- tenancy-plan:{stack} -->"


def _counts(by_type: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in by_type.items())


def _rows(result: PlanResult) -> tuple[tuple, list[tuple]]:
    header = ("TENANT", "PLAN", "STATUS", "TIER", *(s.upper() for s in SERVICES), "RESOURCES")
    rows = [(t["id"], t["plan"] or "", t["status"] or "", t["isolation"] or "",
             *(t["services"].get(s, "") for s in SERVICES), str(t["resourceCount"])) for t in result.tenants()]
    return header, rows


def render_table(result: PlanResult) -> str:
    data = result.as_json()
    lines = [f"tenancy plan: stack {result.stack} (project {result.project}, environment {result.environment or '-'}, "
             f"scope {result.scope or '-'}), offline{' preview' if result.preview else ''}, "
             f"{data['resourceCount']} resources", ""]
    if data["platform"]:
        lines += [f"platform: {data['platform']['resourceCount']} resources",
                  f"  {_counts(data['platform']['resourcesByType'])}", ""]
    header, rows = _rows(result)
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


def render_json(result: PlanResult) -> str:
    return json.dumps(result.as_json(), indent=2, sort_keys=True, default=str)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: PlanResult) -> str:
    data = result.as_json()
    policy = data["policy"]
    icon = "✅" if (not policy or policy["passed"]) and data["constraints"]["passed"] else "❌"
    verdict = "no policy pack" if not policy else (
        f"{'passed' if policy['passed'] else 'failed'}: {policy['mandatory']} mandatory, "
        f"{policy['advisory']} advisory violations")
    lines = [comment_marker(result.stack),
             f"### {icon} tenancy plan: `{result.stack}`",
             "",
             f"Environment `{result.environment or '-'}`, scope `{result.scope or '-'}`, "
             f"{data['resourceCount']} resources, policy {verdict}, "
             f"{len(data['constraints']['breaches'])} values AWS or Kubernetes would refuse. "
             "Planned offline, without cloud credentials.",
             ""]
    header, rows = _rows(result)
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
    if policy and policy["violations"]:
        lines += ["#### Policy violations", "", "| Level | Policy | Resource | Tenant | Problem | Fix |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {v['level']} | `{v['policy']}` | `{_md_escape(v['resourceName'])}` | {v['tenant'] or 'platform'} | "
                  f"{_md_escape(v['message'])} | {_md_escape(v['remediation'])} |" for v in policy["violations"]]
    return "\n".join(lines).rstrip() + "\n"


RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}
