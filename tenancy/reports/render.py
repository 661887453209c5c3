"""The reports for people: Markdown (a pull request, a wiki), CSV (a spreadsheet), and a standalone
HTML page with charts (matplotlib's Agg backend, drawn to SVG and inlined as data URIs, so the page
is one file that needs nothing else and no JavaScript)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable
from typing import Optional, Union

from tenancy.reports.billing import BillingReport
from tenancy.reports.usage import LABELS, UsageReport

FORMATS = ("markdown", "csv", "html")
Report = Union[UsageReport, BillingReport]


def number(value: Optional[float], digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def money(value: Optional[float], currency: str = "USD") -> str:
    return "-" if value is None else f"{value:,.2f} {currency}"


def percent(share: Optional[float]) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _markdown_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


# -- usage ----------------------------------------------------------------------------------------

USAGE_HEADER = ["tenant", "plan", "status", "API requests", "request quota", "of quota", "database",
                "db CPU avg %", "db CPU max %", "db connections max", "db storage used GiB", "storage limit GiB",
                "cache", "cache memory max %", "cache connections max"]


def usage_rows(report: UsageReport) -> list[list[str]]:
    rows = []
    for t in report.tenants:
        db, cache = (t.database.metrics if t.database else {}), (t.cache.metrics if t.cache else {})
        rows.append([
            t.tenant, t.plan, t.status,
            number(t.api.requests) if t.api else "-",
            f"{number(t.api.quota)}/{t.api.quota_period.lower()}" if t.api else "-",
            percent(t.api.share) if t.api else "-",
            t.database.identifier if t.database else "pooled",
            number(db.get("cpuAverage"), 1), number(db.get("cpuMax"), 1), number(db.get("connectionsMax")),
            number(db.get("usedStorageGiB"), 1), number(t.storage_limit_gib),
            t.cache.identifier if t.cache else "pooled",
            number(cache.get("memoryMaxPercent"), 1), number(cache.get("connectionsMax")),
        ])
    return rows


def usage_markdown(report: UsageReport) -> str:
    lines = [f"# Usage per tenant, {report.month} ({report.environment})", ""]
    lines += _markdown_table(USAGE_HEADER, usage_rows(report))
    notes = [(t.tenant, n) for t in report.tenants for n in t.notes]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {tenant}: {note}" for tenant, note in notes]
    return "\n".join(lines) + "\n"


def usage_csv(report: UsageReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "environment", "tenant", "plan", "status", "api_requests", "request_quota",
                     "quota_period", "database", *[f"db_{k}" for k in ("cpuAverage", "cpuMax", "connectionsMax",
                                                                        "usedStorageGiB", "allocatedStorageGiB")],
                     "storage_limit_gib", "cache", *[f"cache_{k}" for k in ("memoryMaxPercent", "engineCpuAverage",
                                                                             "connectionsMax")]])

    def raw(value):
        return "" if value is None else value

    for t in report.tenants:
        db, cache = (t.database.metrics if t.database else {}), (t.cache.metrics if t.cache else {})
        writer.writerow([report.month.label, report.environment, t.tenant, t.plan, t.status,
                         raw(t.api.requests if t.api else None), raw(t.api.quota if t.api else None),
                         raw(t.api.quota_period if t.api else None), t.database.identifier if t.database else "",
                         *[raw(db.get(k)) for k in ("cpuAverage", "cpuMax", "connectionsMax", "usedStorageGiB",
                                                    "allocatedStorageGiB")],
                         raw(t.storage_limit_gib), t.cache.identifier if t.cache else "",
                         *[raw(cache.get(k)) for k in ("memoryMaxPercent", "engineCpuAverage", "connectionsMax")]])
    return out.getvalue()


# -- billing --------------------------------------------------------------------------------------

BILLING_HEADER = ["tenant", "name", "plan", "cost center", "spend", "budget", "of budget", "top services"]


def billing_rows(report: BillingReport) -> list[list[str]]:
    rows = []
    for t in report.tenants:
        top = ", ".join(f"{s} {money(a, report.currency)}" for s, a in list(t.by_service.items())[:3])
        rows.append([t.tenant + ("" if t.known else " (not in the registry)"), t.name or "-", t.plan or "-",
                     t.cost_center or "-", money(t.amount, report.currency), money(t.budget, report.currency),
                     percent(t.share) + (" OVER" if t.over_budget else ""), top or "-"])
    return rows


def billing_markdown(report: BillingReport) -> str:
    scope = report.environment or "every environment"
    lines = [f"# Cost per tenant, {report.month} ({scope}, {report.metric})", ""]
    if report.estimated:
        lines += ["Estimated: the month is not closed yet.", ""]
    lines += _markdown_table(BILLING_HEADER, billing_rows(report))
    lines += ["", f"Untagged (the platform and shared costs): {money(report.untagged, report.currency)}",
              f"Total: {money(report.total, report.currency)}"]
    over = [t.tenant for t in report.tenants if t.over_budget]
    if over:
        lines.append(f"Over budget: {', '.join(over)}")
    return "\n".join(lines) + "\n"


def billing_csv(report: BillingReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "environment", "tenant", "known", "name", "plan", "cost_center", "service", "amount",
                     "currency", "budget"])
    for t in report.tenants:
        services = t.by_service or {"(all services)": t.amount}
        for service, amount in services.items():
            writer.writerow([report.month.label, report.environment or "", t.tenant, "yes" if t.known else "no",
                             t.name or "", t.plan or "", t.cost_center or "", service, f"{amount:.2f}",
                             report.currency, "" if t.budget is None else f"{t.budget:.2f}"])
    if report.untagged:
        writer.writerow([report.month.label, report.environment or "", "", "no", "", "", "", "(untagged)",
                         f"{report.untagged:.2f}", report.currency, ""])
    return out.getvalue()


# -- charts ---------------------------------------------------------------------------------------

def _figure(width: float = 8.0, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    return figure, figure.add_subplot(1, 1, 1)


def svg_data_uri(figure) -> str:
    import matplotlib

    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tenancy"}):
        figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _height(count: int) -> float:
    return max(1.8, 0.45 * count + 1.0)


def usage_charts(report: UsageReport) -> list[tuple[str, str]]:
    """(title, data URI) of each chart: share of the request quota, and requests per day."""
    charts = []
    with_api = [t for t in report.tenants if t.api]
    if with_api:
        figure, axes = _figure(8, _height(len(with_api)))
        names = [t.tenant for t in with_api][::-1]
        shares = [(t.api.requests / t.api.quota * 100 if t.api.quota else 0) for t in with_api][::-1]
        bars = axes.barh(names, shares, color=["#c0392b" if s > 100 else "#2e86c1" for s in shares])
        axes.bar_label(bars, labels=[f"{s:.0f}%" for s in shares], padding=3, fontsize=8)
        axes.axvline(100, color="#555", linestyle="--", linewidth=1)
        axes.set_xlabel("API requests, % of the quota")
        axes.set_xlim(0, max([110.0, *[s * 1.15 for s in shares]]))
        charts.append(("API requests against the quota", svg_data_uri(figure)))

        figure, axes = _figure(8, 3.2)
        for t in with_api:
            days = list(t.api.daily)
            axes.plot([d[-2:] for d in days], list(t.api.daily.values()), marker=".", linewidth=1.2, label=t.tenant)
        axes.set_xlabel(f"day of {report.month}")
        axes.set_ylabel("requests")
        axes.tick_params(axis="x", labelsize=7)
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        charts.append(("API requests per day", svg_data_uri(figure)))
    stores = [t for t in report.tenants if t.database and t.database.metrics.get("cpuAverage") is not None]
    if stores:
        figure, axes = _figure(8, _height(len(stores)))
        names = [t.tenant for t in stores][::-1]
        axes.barh(names, [t.database.metrics["cpuMax"] or 0 for t in stores][::-1], color="#aed6f1", label="max")
        axes.barh(names, [t.database.metrics["cpuAverage"] or 0 for t in stores][::-1], color="#2e86c1", label="average")
        axes.set_xlabel("database CPU %")
        axes.set_xlim(0, 100)
        axes.legend(fontsize=7)
        charts.append(("Own databases' CPU", svg_data_uri(figure)))
    return charts


def daily_requests_chart(daily: dict[str, int], month) -> str:
    """One tenant's API requests per day (the portal's tenant page), as a data URI."""
    figure, axes = _figure(7, 2.2)
    axes.bar([d[-2:] for d in daily], list(daily.values()), color="#2e86c1")
    axes.set_xlabel(f"day of {month}")
    axes.set_ylabel("API requests")
    axes.tick_params(axis="x", labelsize=7)
    return svg_data_uri(figure)


def billing_charts(report: BillingReport) -> list[tuple[str, str]]:
    """Spend per tenant stacked by service, with each budget marked."""
    rows = [t for t in report.tenants if t.amount or t.budget]
    if not rows:
        return []
    figure, axes = _figure(8, _height(len(rows)))
    names = [t.tenant for t in rows][::-1]
    left = [0.0] * len(rows)
    services = report.services
    shown = services[:6]
    palette = ["#2e86c1", "#28b463", "#f39c12", "#8e44ad", "#16a085", "#d35400", "#7f8c8d"]
    for i, service in enumerate([*shown, "other"]):
        values = []
        for t in rows[::-1]:
            if service == "other":
                values.append(sum(a for s, a in t.by_service.items() if s not in shown))
            else:
                values.append(t.by_service.get(service, 0.0))
        if any(values):
            axes.barh(names, values, left=left, color=palette[i % len(palette)], label=service)
            left = [a + b for a, b in zip(left, values)]
    budgets = [t.budget for t in rows[::-1]]
    for y, budget in enumerate(budgets):
        if budget:
            axes.plot([budget, budget], [y - 0.4, y + 0.4], color="#c0392b", linewidth=2)
    axes.plot([], [], color="#c0392b", linewidth=2, label="budget")
    axes.set_xlabel(f"{report.metric} ({report.currency})")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return [("Spend by service against the budget", svg_data_uri(figure))]


# -- HTML -----------------------------------------------------------------------------------------

def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("tenancy.reports", "templates"),
                              autoescape=jinja2.select_autoescape(default=True))


def usage_html(report: UsageReport) -> str:
    notes = [(t.tenant, n) for t in report.tenants for n in t.notes]
    return _environment().get_template("report.html").render(
        title=f"Usage per tenant, {report.month} ({report.environment})", header=USAGE_HEADER,
        rows=usage_rows(report), charts=usage_charts(report), notes=notes, footer=[], labels=LABELS)


def billing_html(report: BillingReport) -> str:
    footer = [f"Untagged (the platform and shared costs): {money(report.untagged, report.currency)}",
              f"Total: {money(report.total, report.currency)}"]
    if report.estimated:
        footer.insert(0, "Estimated: the month is not closed yet.")
    return _environment().get_template("report.html").render(
        title=f"Cost per tenant, {report.month} ({report.environment or 'every environment'}, {report.metric})",
        header=BILLING_HEADER, rows=billing_rows(report), charts=billing_charts(report), notes=[], footer=footer,
        labels=LABELS)


def render(report: Report, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if isinstance(report, UsageReport):
        return {"markdown": usage_markdown, "csv": usage_csv, "html": usage_html}[fmt](report)
    return {"markdown": billing_markdown, "csv": billing_csv, "html": billing_html}[fmt](report)
