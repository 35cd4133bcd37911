"""The report sections the notebooks show: each function returns an HTML block or a chart.

The notebooks call these and narrate; nothing here computes a statistic. Every value comes from
the run's ``tables/`` (written by ``fls-report compute``) and is formatted for reading: one
decimal place with halves rounded up, bands written as text beside their colour, names escaped.
"""

from __future__ import annotations

import html

import pandas as pd

from fls_report import charts
from fls_report.breakdowns import GROUPS as BREAKDOWN_GROUPS
from fls_report.extract import FALLS_RULE_TEXT
from fls_report.io import safe_name
from fls_report.kpis import KEY_FIELD_NAMES, NATION_CODES, NATIONAL, RECORD_KPIS
from fls_report.run import Run, load  # noqa: F401  (notebooks open a run with report.load)
from fls_report.vocabulary import (BLANK, MIN_USEFUL_POINTS, SUPPRESSED, and_list, band_rule, band_word, completeness_rule, fmt_count, fmt_interval, fmt_pct,
                                   kpi_definition, limits_words, low_numbers_note, p_chart_left_out,
                                   signal_explanation, status_words, suppressed_note, chi2_words, period_words)

KPI_NUMBERS = [f"KPI{i}" for i in range(1, 12)]
TREND_KPIS = [f"KPI{i}" for i in range(2, 12)]
#: The KPIs with a funnel, a p-chart and a rank: KPI3–KPI11.
FUNNEL_KPIS = list(RECORD_KPIS)


class Markdown:
    """A block of Markdown prose that a notebook displays as a Markdown cell would be shown."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # the text/plain form kept in executed notebooks
        return "Markdown()"


class Html:
    """A block of HTML that a notebook displays as it is."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup

    def __repr__(self) -> str:  # the text/plain form kept in executed notebooks: no memory address
        return "Html()"


def esc(value) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value), quote=True)


def band_cell(pct, rag: str, low_numbers: bool = False, extra: str = "", caution_title: str = "") -> str:
    """A table cell coloured by band, with the band also written as text; ``caution_title`` is
    the caution mark's explanation (:func:`caution_title`)."""
    caution = f' <span class="caution" title="{esc(caution_title)}">†</span>' if low_numbers else ""
    sort = "" if pd.isna(pct) else repr(float(pct))
    return (
        f'<td class="num rag-{esc(rag)}" data-sort="{sort}">{fmt_pct(pct)}{caution}{extra}'
        f'<span class="band">{esc(band_word(rag))}</span></td>'
    )


def caution_title(run: Run) -> str:
    """The caution mark's explanation, from the run's ``low_numbers_below``."""
    text = low_numbers_note(run.params.kpi)
    return text[0].upper() + text[1:]


def change_cell(change) -> str:
    """A year-on-year change in percentage points: arrow and value, with the direction in words."""
    if change is None or pd.isna(change):
        return '<td class="num" data-sort="">–</td>'
    words = "up" if change > 0 else "down" if change < 0 else "no change"
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    shown = fmt_pct(abs(change))
    return (f'<td class="num" data-sort="{float(change)!r}" title="{words} {shown} points">'
            f'<span aria-hidden="true">{arrow}</span> {"" if change >= 0 else "−"}{shown}'
            f'<span class="band">{words}</span></td>')


# ---------------------------------------------------------------------------------------------
# Blocks used on every page


def page_header(run: Run, heading: str, lead: str = "") -> Html:
    """The page title (from code, so it can name the service), audit period and data cut-off."""
    p = run.params
    return Html(
        f"<h1>{esc(heading)}</h1>"
        f'<p class="page-meta">{esc(p.title)} · {esc(period_words(p.period_start, p.period_end, p.data_cutoff))}</p>'
        + (f"<p>{esc(lead)}</p>" if lead else "")
    )


def _levels_row(run: Run, code: str) -> pd.DataFrame:
    return run.results[run.results["code"] == code].set_index("kpi_id")


def prose(run: Run, text: str) -> Markdown:
    """A notebook's prose, shown as a Markdown cell is, with what it states about the run filled
    in from the run, so that no notebook types a name or a parameter: ``{national}`` (the national
    level's name), ``{completeness_rule}`` (KPI1's rule), ``{low_numbers_below}``,
    ``{assessment_days}`` and ``{dxa_days}``."""
    kpi = run.params.kpi
    return Markdown(text.format(national=run.national_name, completeness_rule=completeness_rule(kpi),
                                low_numbers_below=kpi.low_numbers_below, assessment_days=kpi.assessment_days,
                                dxa_days=kpi.dxa_days))


# ---------------------------------------------------------------------------------------------
# National report


def headline_cards(run: Run) -> Html:
    """Records and services in the run, as a row of cards."""
    counts = run.manifest["rows"]
    services = run.services
    with_records = int((services["records"] > 0).sum())
    cards = [
        (fmt_count(counts["included"]), "patients in this report (fragility fracture, aged 50+)"),
        (f"{with_records} of {len(services)}", "services with records in the period"),
        (fmt_count(counts["read"]), "rows in the extract"),
        (fmt_count(counts["rejected"] + counts["excluded"]), "rows rejected or out of scope (see data quality)"),
    ]
    body = "".join(f'<div class="card"><div class="figure">{f}</div><div class="label">{esc(l)}</div></div>' for f, l in cards)
    return Html(f'<div class="cards">{body}</div>')


def headline_table(run: Run) -> Html:
    """Every KPI for the national level and each nation of the run: %, 95% interval and band."""
    units = list(zip(run.levels["code"], run.levels["name"]))
    national_name = esc(run.national_name)
    head = "".join(f'<th class="num" scope="col">{esc(name)} %</th><th scope="col">95% interval</th>' for _, name in units)
    if run.has_previous:
        head += f'<th class="num" scope="col">{national_name} change (points)</th>'
    rows = []
    for kpi_id in KPI_NUMBERS:
        cells = []
        for code, _ in units:
            r = _levels_row(run, code).loc[kpi_id]
            cells.append(band_cell(r["pct"], r["rag"]) + f"<td>{fmt_interval(r['ci_low'], r['ci_high'])}</td>")
        if run.has_previous:
            cells.append(change_cell(_levels_row(run, NATIONAL).loc[kpi_id, "change_pct_points"]))
        national = _levels_row(run, NATIONAL).loc[kpi_id]
        counts = f"{fmt_count(national['numerator'])} / {fmt_count(national['denominator'])}"
        rows.append(f'<tr><th scope="row">{kpi_id} {esc(run.kpi_names[kpi_id])}<br><small>{counts}</small></th>{"".join(cells)}</tr>')
    return Html(
        f'<table class="headline"><caption>Key performance indicators, {national_name}. KPI1 counts '
        "services meeting the completeness rule; the small figures are numerator / denominator for "
        f"{national_name}.</caption>"
        f'<thead><tr><th scope="col">KPI</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def benchmark_table(run: Run, highlight: str | None = None) -> Html:
    """Every service × KPI, coloured by band with the band in text, national rows first, sortable."""
    results = run.results
    wide = results.pivot(index="code", columns="kpi_id", values=["pct", "rag", "low_numbers"])
    header = ['<th scope="col"><button type="button">Service</button></th>',
              '<th scope="col"><button type="button">Nation</button></th>',
              '<th scope="col" class="num"><button type="button">Records</button></th>']
    header += [
        f'<th scope="col" class="num"><button type="button" title="{esc(run.kpi_names[k])}">{k}</button></th>'
        for k in KPI_NUMBERS
    ]
    records = results[results["kpi_id"] == "KPI3"].set_index("code")["denominator"]

    caution = caution_title(run)

    def row(code: str, name: str, nation: str, link: str | None) -> str:
        label = f'<a href="{esc(link)}">{esc(name)}</a>' if link else esc(name)
        cells = [f'<th scope="row" data-sort="{esc(name)}">{label}</th>', f"<td>{esc(nation)}</td>",
                 f'<td class="num" data-sort="{int(records[code])}">{fmt_count(records[code])}</td>']
        for k in KPI_NUMBERS:
            cells.append(band_cell(wide.at[code, ("pct", k)], wide.at[code, ("rag", k)], bool(wide.at[code, ("low_numbers", k)]),
                                   caution_title=caution))
        css = ' class="highlight"' if code == highlight else ""
        return f"<tr{css}>{''.join(cells)}</tr>"

    pinned = [row(u.code, u.name, u.nation, None) for u in run.levels.itertuples()]
    services = [row(s.code, s.name, s.nation, f"services/{safe_name(s.code)}.html" if highlight is None else None)
                for s in run.services.itertuples()]
    return Html(
        '<table class="compact sortable-table"><caption>Benchmark: every service and KPI (%). Select a '
        f"column heading to sort. † {esc(low_numbers_note(run.params.kpi))}.</caption>"
        f"<thead><tr>{''.join(header)}</tr></thead>"
        f'<tbody class="pinned">{"".join(pinned)}</tbody><tbody class="sortable">{"".join(services)}</tbody></table>'
    )


def change_section(run: Run) -> Html:
    """Change since the earlier year for every service and KPI (percentage points), sortable.

    Empty when the run is not compared with an earlier year (parameter ``compare_with``).
    """
    if not run.has_previous:
        return Html("")
    wide = run.results.pivot(index="code", columns="kpi_id", values="change_pct_points")
    header = ['<th scope="col"><button type="button">Service</button></th>'] + [
        f'<th scope="col" class="num"><button type="button" title="{esc(run.kpi_names[k])}">{k}</button></th>'
        for k in KPI_NUMBERS
    ]

    def row(code: str, name: str) -> str:
        cells = "".join(change_cell(wide.at[code, k]) for k in KPI_NUMBERS)
        return f'<tr><th scope="row" data-sort="{esc(name)}">{esc(name)}</th>{cells}</tr>'

    pinned = "".join(row(u.code, u.name) for u in run.levels.itertuples())
    services = "".join(row(s.code, s.name) for s in run.services.itertuples())
    return Html(
        "<h2>Change since the earlier year</h2><p>Each service's percentage this year minus its percentage in "
        "the earlier year's report, for every KPI.</p>"
        '<table class="compact sortable-table"><caption>Change since the earlier year, in percentage points '
        "(▲ up, ▼ down). A dash: no percentage in one of the years (for example a service new this year). "
        "Select a column heading to sort.</caption>"
        f"<thead><tr>{''.join(header)}</tr></thead><tbody class=\"pinned\">{pinned}</tbody>"
        f'<tbody class="sortable">{services}</tbody></table>'
    )


def caterpillar(run: Run, kpi_id: str, highlight: str | None = None) -> charts.Chart:
    return charts.caterpillar(run.results, kpi_id, highlight=highlight)


def identification(run: Run, highlight: str | None = None) -> charts.Chart:
    return charts.identification(run.results, highlight=highlight)


def case_mix_table(run: Run) -> Html:
    """Case mix counts and percentages for the national level and each nation (disclosure-controlled)."""
    table = run.case_mix[run.case_mix["level"] != "service"]
    blocks = []
    for characteristic, part in table.groupby("characteristic", sort=False):
        wide = part.pivot(index="category", columns="code", values=["shown", "pct_shown"])
        order = list(dict.fromkeys(part["category"]))
        rows = "".join(
            f'<tr><th scope="row">{esc(cat)}</th>'
            + "".join(
                f'<td class="num">{esc(wide.at[cat, ("shown", code)])}</td>'
                f'<td class="num">{fmt_pct(wide.at[cat, ("pct_shown", code)])}</td>'
                for code in run.level_codes
            )
            + "</tr>"
            for cat in order
        )
        head = "".join(f'<th class="num">{esc(n)} n</th><th class="num">{esc(n)} %</th>' for n in run.levels["name"])
        blocks.append(
            f"<table><caption>{esc(characteristic.capitalize())}</caption><thead><tr><th>Category</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    note = (f"<p><small>Counts for {esc(run.national_name)} are exact. Counts for each nation follow the NHS "
            "Digital rule: 1–7 shown as *, others rounded to the nearest 5; percentages come from "
            "unrounded counts and are not shown where a count is suppressed.</small></p>")
    return Html("".join(blocks) + note)


def case_mix_chart(run: Run, characteristic: str) -> charts.Chart:
    return charts.case_mix(run.case_mix, characteristic, codes=run.level_codes, names=run.names)


def eighty_fifty_eighty_table(run: Run) -> Html:
    """Services meeting the 80/50/80 goals, per nation and nationally."""
    summary = run.eighty_fifty_eighty_summary
    rows = "".join(
        f'<tr><th scope="row">{esc(r.name)}</th><td class="num">{r.meets}</td><td class="num">{r.does_not_meet}</td>'
        f'<td class="num">{r.not_assessable}</td></tr>'
        for r in summary.itertuples()
    )
    return Html(
        "<table><caption>Services against 80/50/80: identification (KPI2) ≥ 80%, bone therapy "
        "recommended (KPI7) ≥ 50% and on treatment at 52 weeks (KPI11) ≥ 80%.</caption>"
        '<thead><tr><th>Level</th><th class="num">Meet all three</th><th class="num">Do not</th>'
        f'<th class="num">Not assessable</th></tr></thead><tbody>{rows}</tbody></table>'
        "<p><small>Not assessable: a service with no caseload estimate or no patients due for one of "
        "the three measures.</small></p>"
    )


def methods(run: Run) -> Html:
    """Definitions and the parameters used, printed from the code that computed them."""
    kpi = run.params.kpi
    items = []
    for kpi_id in KPI_NUMBERS:
        text = kpi_definition(run.params, kpi_id, run.level_names)
        items.append(f"<dt>{kpi_id} {esc(run.kpi_names[kpi_id])}</dt><dd>{esc(text)} Bands: {esc(band_rule(kpi_id, kpi))}.</dd>")
    p = run.params
    parameters = [
        ("Audit period", f"{p.period_start} to {p.period_end} ({p.months_in_period} months)"),
        ("Data cut-off", str(p.data_cutoff)),
        ("Assessment window", f"0–{kpi.assessment_days} days"),
        ("DXA window", f"0–{kpi.dxa_days} days"),
        ("Due at 16 weeks", f"fracture + {kpi.due_16wk_days} days on or before the cut-off"),
        ("Due at 52 weeks", f"fracture + {kpi.due_52wk_days} days on or before the cut-off"),
        ("Monitoring contact window", f"{kpi.followup_16wk_window_days[0]}–{kpi.followup_16wk_window_days[1]} days"),
        ("KPI1 for a service", f"met when {completeness_rule(kpi)}"),
        ("Low numbers", f"denominator under {kpi.low_numbers_below} (marked †)"),
        ("Disclosure control", f"counts 1–{p.disclosure.threshold - 1} shown as *, others rounded to {p.disclosure.base}"),
    ]
    rows = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in parameters)
    return Html(
        f'<dl class="definitions">{"".join(items)}</dl>'
        "<p>Percentages are numerator ÷ denominator; the 95% interval is the Wilson score interval "
        "(the Public Health England / Fingertips standard), shown for KPI3–KPI11. Bands are set on "
        "unrounded percentages; pages show one decimal place with halves rounded up.</p>"
        f"<table><caption>Parameters used in this run</caption><tbody>{rows}</tbody></table>"
        + (f"<p>{esc(FALLS_RULE_TEXT)}</p>" if run.read_webtool_exports else "")
    )


# ---------------------------------------------------------------------------------------------
# Service report


def service_heading(run: Run, code: str) -> Html:
    """The service report's title block; a clear notice for a service with no records."""
    service = run.service(code)
    lead = f"{service['nation']} · service code {code} · {fmt_count(service['records'])} patients in this report"
    block = page_header(run, service["name"], lead).markup
    if service["records"] == 0:
        block += ('<div class="notice warning"><strong>No records for this service in this period.</strong> '
                  "The service is in the services file, but the extract holds no in-scope records for it "
                  "(fracture in the audit period, aged 50 or over). Its results below are blank. The data "
                  "quality report shows any rows that were rejected or excluded.</div>")
    return Html(block)


def service_kpi_table(run: Run, code: str) -> Html:
    """The service's KPIs beside its nation and the national level, with band, interval and rank."""
    service = run.service(code)
    own, nation = _levels_row(run, code), _levels_row(run, NATION_CODES[service["nation"]])
    national = _levels_row(run, NATIONAL)
    ranks = run.ranks.set_index(["code", "kpi_id"]) if not run.ranks.empty else None
    rows = []
    for kpi_id in KPI_NUMBERS:
        r = own.loc[kpi_id]
        rank = "–"
        if ranks is not None and (code, kpi_id) in ranks.index:
            found = ranks.loc[(code, kpi_id)]
            rank = f"{int(found['rank'])} of {int(found['ranked'])}"
        counts = f"{fmt_count(r['numerator'])} / {fmt_count(r['denominator'])}"
        rows.append(
            f'<tr><th scope="row">{kpi_id} {esc(run.kpi_names[kpi_id])}</th><td class="num">{counts}</td>'
            + band_cell(r["pct"], r["rag"], bool(r["low_numbers"]), caution_title=caution_title(run))
            + (change_cell(r["change_pct_points"]) if run.has_previous else "")
            + f"<td>{fmt_interval(r['ci_low'], r['ci_high'])}</td><td class=\"num\">{rank}</td>"
            + band_cell(nation.loc[kpi_id, "pct"], nation.loc[kpi_id, "rag"])
            + band_cell(national.loc[kpi_id, "pct"], national.loc[kpi_id, "rag"])
            + "</tr>"
        )
    earlier = ""
    if run.has_previous and own["previous_pct"].isna().all():
        earlier = ('<p class="notice">This service has no results in the earlier year\'s report, so no change '
                   "is shown.</p>")
    return Html(
        earlier
        + f"<table><caption>{esc(service['name'])}: key performance indicators against its nation "
        f"({esc(service['nation'])}) and {esc(run.national_name)}. KPI1 for the service is key fields complete / key fields that apply; "
        "for the nations, services meeting the rule. Rank 1 is the highest percentage among services "
        f"with patients eligible (ties share a rank). † {esc(low_numbers_note(run.params.kpi))}.</caption>"
        '<thead><tr><th>KPI</th><th class="num">Numerator / denominator</th><th class="num">Service %</th>'
        + ('<th class="num">Change since the earlier year (points)</th>' if run.has_previous else "")
        + f'<th>95% interval</th><th class="num">Rank</th><th class="num">{esc(service["nation"])} %</th>'
        f'<th class="num">{esc(run.national_name)} %</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def service_time_to_event(run: Run, code: str) -> charts.Chart:
    """Cumulative time from fracture to assessment and to DXA, service against national."""
    limits = {"assessment": run.params.kpi.assessment_days, "dxa": run.params.kpi.dxa_days}
    return charts.time_to_event_pair(run.time_to_event, code, limits, name=run.names.get(code),
                                     summary=run.time_to_event_summary,
                                     national_name=run.national_name)


def service_time_summary(run: Run, code: str) -> Html:
    """Median and interquartile range of days to assessment and to DXA, service against national."""
    rows = []
    summary = run.time_to_event_summary.set_index(["code", "event"])
    for event, label in (("assessment", "FLS assessment"), ("dxa", "DXA scan")):
        cells = []
        kpi_id = "KPI4" if event == "assessment" else "KPI5"
        for unit in (code, NATIONAL):
            s = summary.loc[(unit, event)]
            eligible = _levels_row(run, unit).loc[kpi_id, "denominator"]  # also when no one had the event
            if s["with_event"]:
                cells.append(f'<td class="num">{s["median_days"]:g}</td>'
                             f'<td class="num">{s["q1_days"]:g}–{s["q3_days"]:g}</td>'
                             f'<td class="num">{fmt_count(s["with_event"])} of {fmt_count(eligible)}</td>')
            else:
                cells.append('<td class="num">–</td><td class="num">–</td>'
                             f'<td class="num">0 of {fmt_count(eligible)}</td>')
        rows.append(f'<tr><th scope="row">{label}</th>{"".join(cells)}</tr>')
    return Html(
        "<table><caption>Days from fracture (events on or after the fracture date)</caption>"
        f'<thead><tr><th rowspan="2">To</th><th colspan="3">This service</th><th colspan="3">{esc(run.national_name)}</th></tr>'
        '<tr><th class="num">Median</th><th class="num">IQR</th><th class="num">With a date</th>'
        '<th class="num">Median</th><th class="num">IQR</th><th class="num">With a date</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def service_completeness(run: Run, code: str) -> charts.Chart:
    return charts.completeness_bars(run.fields, code, threshold_pct=run.params.kpi.completeness_threshold_pct)


def service_issues(run: Run, code: str) -> Html:
    """Row accounting and data issue counts for one service (counts only)."""
    accounting = run.accounting[run.accounting["code"] == code]
    issues = run.issues[run.issues["code"] == code]
    acc_rows = "".join(
        f'<tr><td>{esc(r.state)}</td><td>{esc(r.reason or "–")}</td><td class="num">{fmt_count(r.rows)}</td></tr>'
        for r in accounting.itertuples()
    ) or '<tr><td colspan="3">No rows in the extract.</td></tr>'
    issue_rows = "".join(
        f'<tr><td>{esc(r.field)}</td><td>{esc(r.rule)}</td><td class="num">{fmt_count(r.count)}</td></tr>'
        for r in issues.itertuples()
    ) or '<tr><td colspan="3">No data issues found.</td></tr>'
    return Html(
        f'<table><caption>Rows from this service</caption><thead><tr><th>State</th><th>Reason</th><th class="num">Rows</th></tr></thead>'
        f"<tbody>{acc_rows}</tbody></table>"
        f'<table><caption>Data issues in included rows (the value is treated as blank)</caption><thead><tr><th>Field</th><th>Rule</th>'
        f'<th class="num">Rows</th></tr></thead><tbody>{issue_rows}</tbody></table>'
    )


# ---------------------------------------------------------------------------------------------
# Data-quality report


def accounting_table(run: Run) -> Html:
    """Rows read, rejected, excluded and included per service code, with totals."""
    acc = run.accounting
    wide = acc.pivot_table(index="code", columns="state", values="rows", aggfunc="sum", fill_value=0)
    for state in ("rejected", "excluded", "included"):
        if state not in wide:
            wide[state] = 0
    wide["read"] = wide[["rejected", "excluded", "included"]].sum(axis=1)
    names = run.services.set_index("code")["name"]
    rows = "".join(
        f'<tr><th scope="row" data-sort="{esc(code)}">{esc(code)}</th><td>{esc(names.get(code, "not in the services file"))}</td>'
        + "".join(f'<td class="num" data-sort="{int(wide.at[code, s])}">{fmt_count(wide.at[code, s])}</td>'
                  for s in ("read", "rejected", "excluded", "included"))
        + "</tr>"
        for code in wide.index
    )
    total = wide[["read", "rejected", "excluded", "included"]].sum()
    reasons = acc[acc["state"] != "included"].groupby(["state", "reason"], sort=False)["rows"].sum()
    reason_rows = "".join(
        f'<tr><td>{esc(state)}</td><td>{esc(reason)}</td><td class="num">{fmt_count(n)}</td></tr>'
        for (state, reason), n in reasons.items()
    )
    return Html(
        '<table><caption>Why rows left the report, all services</caption><thead><tr><th>State</th><th>Reason</th>'
        f'<th class="num">Rows</th></tr></thead><tbody>{reason_rows}</tbody></table>'
        '<table class="compact sortable-table"><caption>Rows per service code (select a heading to sort). '
        "Codes not in the services file are rejected as unknown service.</caption><thead><tr>"
        + "".join(f'<th scope="col"{" class=num" if i > 1 else ""}><button type="button">{h}</button></th>'
                  for i, h in enumerate(["Code", "Service", "Read", "Rejected", "Excluded", "Included"]))
        + '</tr></thead><tbody class="pinned"><tr><th scope="row">All</th><td></td>'
        + "".join(f'<td class="num">{fmt_count(total[s])}</td>' for s in ("read", "rejected", "excluded", "included"))
        + f'</tr></tbody><tbody class="sortable">{rows}</tbody></table>'
    )


def completeness_heatmap(run: Run) -> charts.Chart:
    return charts.completeness_heatmap(run.fields, names=run.services.set_index("code")["name"].to_dict(),
                                       threshold_pct=run.params.kpi.completeness_threshold_pct)


def issue_counts(run: Run) -> Html:
    """Data issues in included rows, by rule and by field."""
    issues = run.issues
    if issues.empty:
        return Html("<p>No field-level data issues were found in the included rows.</p>")
    by_rule = issues.groupby("rule", sort=False)["count"].sum()
    by_field = issues.pivot_table(index="field", columns="rule", values="count", aggfunc="sum", fill_value=0)
    rules = list(by_rule.index)
    rule_rows = "".join(f'<tr><td>{esc(r)}</td><td class="num">{fmt_count(n)}</td></tr>' for r, n in by_rule.items())
    field_rows = "".join(
        f'<tr><th scope="row">{esc(f)}</th>' + "".join(f'<td class="num">{fmt_count(by_field.at[f, r])}</td>' for r in rules) + "</tr>"
        for f in by_field.index
    )
    return Html(
        f'<table><caption>Data issues by rule (rows)</caption><thead><tr><th>Rule</th><th class="num">Rows</th></tr></thead>'
        f"<tbody>{rule_rows}</tbody></table>"
        f'<table class="compact"><caption>Data issues by field and rule (rows)</caption><thead><tr><th>Field</th>'
        + "".join(f'<th class="num">{esc(r)}</th>' for r in rules)
        + f"</tr></thead><tbody>{field_rows}</tbody></table>"
    )


def files_read(run: Run) -> Html:
    """How each file of the extract was read (counts only: header texts are never published)."""
    files = run.extract_files
    listed = (files["service_code"] != "").any()
    heads = (["File"] + (["Service"] if listed else []) + ["Read as", "Rows"]
             + ["Headers mapped", "Known, not used", "Blank", "Not recognised", "Optional columns absent"])
    body = "".join(
        f"<tr><td>{esc(r.file)}</td>" + (f"<td>{esc(r.service_code)}</td>" if listed else "") + f"<td>{esc(r.format)}</td>"
        + "".join(f'<td class="num">{fmt_count(v)}</td>' for v in (r.rows, r.headers_mapped, r.headers_not_used,
                                                                 r.headers_blank, r.headers_not_recognised, r.optional_absent))
        + "</tr>"
        for r in files.itertuples()
    )
    kinds = files["format"].value_counts()
    summary = and_list(f"{fmt_count(n)} {kind}{'s' if n != 1 else ''}" for kind, n in kinds.items())
    return Html(
        f"<p>The extract was read from {fmt_count(len(files))} file{'s' if len(files) != 1 else ''} ({esc(summary)}), "
        f"{fmt_count(files['rows'].sum())} data rows in all. A webtool export's headers are matched by question number, "
        "then by short name; questions the KPIs do not use are ignored, and so are blank and unrecognised headers "
        "(the analyst's <code>fls-report inspect</code> lists them).</p>"
        '<table class="compact"><caption>Files read</caption><thead><tr>'
        + "".join(f'<th scope="col"{" class=num" if i >= heads.index("Rows") else ""}>{esc(h)}</th>'
                  for i, h in enumerate(heads))
        + f"</tr></thead><tbody>{body}</tbody></table>"
    )


def unrecognised_counts(run: Run) -> Html:
    """Values that are neither a value of the data dictionary nor one of the mapping's aliases, per
    field: services, distinct values and rows. The values themselves are never published."""
    found = run.unrecognised
    if found.empty:
        return Html("<p>Every category value and therapy token in the extract was recognised.</p>")
    by_field = found.groupby("field", sort=False).agg(services=("code", "nunique"), distinct=("distinct_values", "sum"),
                                                      rows=("rows", "sum"))
    body = "".join(
        f'<tr><th scope="row">{esc(f)}</th><td class="num">{fmt_count(r.services)}</td>'
        f'<td class="num">{fmt_count(r.distinct)}</td><td class="num">{fmt_count(r.rows)}</td></tr>'
        for f, r in by_field.iterrows()
    )
    return Html(
        "<p>Values the reader did not recognise count as invalid values (treated as blank). The values "
        "themselves are not published; the analyst finds them, with their file and column, in the run's "
        "restricted folder (<code>unrecognised_values.csv</code>), to correct the data or extend the mapping.</p>"
        '<table class="compact"><caption>Values not recognised, by field (all rows read; a value counted once per '
        'service)</caption><thead><tr><th scope="col">Field</th><th scope="col" class="num">Services</th>'
        '<th scope="col" class="num">Distinct values</th><th scope="col" class="num">Rows</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def key_fields_note() -> Html:
    return Html("<p><small>The 17 key fields of KPI1: " + esc(", ".join(KEY_FIELD_NAMES)) + ".</small></p>")


def caterpillars(run: Run, highlight: str | None = None, kpi_ids: list[str] | None = None) -> Html:
    """Caterpillar plots for KPI3–KPI11 (or ``kpi_ids``), optionally highlighting one service."""
    return Html("".join(caterpillar(run, k, highlight).to_html() for k in (kpi_ids or list(RECORD_KPIS))))


def case_mix_charts(run: Run) -> Html:
    """Case-mix bar charts for each characteristic."""
    return Html("".join(case_mix_chart(run, c).to_html() for c in dict.fromkeys(run.case_mix["characteristic"])))


def row_rules() -> Html:
    """How rows are rejected, excluded or kept, and the field-level rules, from the data dictionary."""
    from fls_report import dictionary as dd

    def items(values):
        return "".join(f"<li>{esc(v)}</li>" for v in values)

    return Html(
        "<p>Every row of the extract ends in exactly one state. Rows are <strong>rejected</strong> for the "
        "first of these reasons that applies (checked in this order):</p>"
        f"<ol>{items(dd.REJECT_REASONS)}</ol>"
        "<p>Valid rows outside this report's scope are <strong>excluded</strong>:</p>"
        f"<ol>{items(dd.EXCLUDE_REASONS)}</ol>"
        "<p>Every other row is <strong>included</strong>. A problem with one field keeps the row: the value "
        "is counted as a data issue (the first rule that applies) and treated as blank:</p>"
        f"<ol>{items(dd.FIELD_RULES)}</ol>"
        "<p>Record-level lists for fixing the data are written to the run's restricted folder, which is "
        "never published.</p>"
    )


# ---------------------------------------------------------------------------------------------
# Benchmarking: funnels, outliers, run charts, p-charts (statistics.md §2–§4)

def _funnel_chart(run: Run, kpi_id: str, highlight: str | None) -> charts.Chart:
    return charts.funnel(run.funnel_tables[kpi_id], run.funnel_curves[kpi_id], kpi_id, names=run.names,
                         kpi_names=run.kpi_names,
                         highlight=highlight)


def funnels(run: Run) -> Html:
    """A funnel plot for each of KPI3–KPI11 (national report)."""
    return Html("".join(_funnel_chart(run, k, None).to_html() for k in FUNNEL_KPIS))


def service_funnels(run: Run, code: str) -> charts.Chart:
    """The nine funnels as small multiples, the service ringed on each (service report)."""
    return charts.funnel_grid(run.funnel_tables, run.funnel_curves, names=run.names, highlight=code,
                              kpi_names=run.kpi_names)


def funnel_summary_table(run: Run) -> Html:
    """Per KPI: the target, over-dispersion, the limits used and how many services in each status."""
    rows = []
    for r in run.funnel_summary.itertuples():
        rows.append(
            f'<tr><th scope="row">{r.kpi_id} {esc(r.kpi_name)}</th><td class="num">{fmt_pct(r.target_pct)}</td>'
            f'<td class="num">{r.phi:.2f}</td><td class="num">{r.tau2:.4f}</td>'
            f"<td>{limits_words(r.adjusted)}</td>"
            + "".join(f'<td class="num">{getattr(r, c)}</td>' for c in ("alarm_low", "alert_low", "in_control", "alert_high", "alarm_high"))
            + f'<td class="num">{r.services_left_off}</td></tr>'
        )
    return Html(
        f"<table class=\"compact\"><caption>Funnel plots: target ({esc(run.national_name)} %), over-dispersion φ and τ², "
        "the limits used, and services in each status. Left off: services with no eligible patients.</caption>"
        '<thead><tr><th>KPI</th><th class="num">Target %</th><th class="num">φ</th><th class="num">τ²</th>'
        '<th>Limits</th><th class="num">Alarm low</th><th class="num">Alert low</th><th class="num">Within</th>'
        '<th class="num">Alert high</th><th class="num">Alarm high</th><th class="num">Left off</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def outlier_table(run: Run) -> Html:
    """Every service flagged alert or alarm, KPI by KPI."""
    flagged = run.outliers
    if flagged.empty:
        return Html("<p>No service is outside the 95% limits on any KPI.</p>")
    rows = "".join(
        f'<tr><td>{r.kpi_id} {esc(run.kpi_names[r.kpi_id])}</td><th scope="row">{esc(r.name)}</th>'
        f'<td class="num">{fmt_pct(r.pct)}</td><td class="num">{fmt_count(r.numerator)} / {fmt_count(r.denominator)}</td>'
        f"<td>{esc(status_words(r.funnel_status))}</td></tr>"
        for r in flagged.itertuples()
    )
    return Html(
        "<table><caption>Services outside the funnel limits (HQIP alert: outside 95%; alarm: outside 99.8%)"
        "</caption><thead><tr><th>KPI</th><th>Service</th><th class=\"num\">%</th>"
        f'<th class="num">Numerator / denominator</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def funnel_methods(run: Run) -> Html:
    """How the funnels and run charts are made, in plain words, with references."""
    return Html(
        "<p><strong>Funnel plots.</strong> Each service's percentage is plotted against its number of "
        f"eligible patients. The target line is {esc(run.national_name)}'s percentage. The funnel's limits show how "
        "far from the target a service of that size could fall by chance alone: about 1 service in 20 "
        "would be outside the inner (95%) limits and 1 in 500 outside the outer (99.8%) limits if every "
        "service performed like the target. Following HQIP's guidance on the detection and management of "
        "outliers in national clinical audits, a service outside the 95% limits is an <em>alert</em> and "
        "one outside the 99.8% limits an <em>alarm</em>. The limits are exact binomial limits with "
        "Spiegelhalter's interpolation. When services differ from one another by more than chance allows "
        "(over-dispersion, φ above 1), the limits are widened by an additive random-effects term τ² on "
        "the arcsine scale, estimated after winsorising the most extreme 10% at each end, so that a "
        "service is flagged only when it stands out from the real spread between services. A service "
        "with no eligible patients is left off. KPI1 and KPI2 have no funnel (KPI1 is pass or fail; KPI2 "
        "can exceed 100%).</p>"
        "<p><strong>Run charts.</strong> Each monthly series is drawn around its median. Two rules "
        "(Anhøj) find non-random change: a run of points on one side of the median longer than expected "
        "for the number of points (a sustained shift), or fewer crossings of the median than expected. "
        "Months with no eligible patients are left out, points on the median are not counted, and a "
        f"series with fewer than {MIN_USEFUL_POINTS} useful months claims no signal. <strong>p-charts</strong> show the "
        "monthly percentage against 3-sigma control limits around the year's overall rate, where the "
        "monthly numbers are large enough.</p>"
        "<p><small>References: Healthcare Quality Improvement Partnership, <em>Detection and management of "
        "outliers for National Clinical Audits</em>. Spiegelhalter DJ. Funnel plots for comparing "
        "institutional performance. <em>Statistics in Medicine</em> 2005;24:1185–1202. Anhøj J, Olesen AV. "
        "Run charts revisited. <em>PLoS ONE</em> 2014;9:e113825.</small></p>"
    )


def _explanations(run: Run, code: str) -> dict[str, str]:
    rows = run.signals[run.signals["code"] == code]
    return {r["kpi_id"]: signal_explanation(r) for _, r in rows.iterrows()}


def run_charts(run: Run, code: str = NATIONAL) -> charts.Chart:
    """Monthly run charts for a unit, with medians and any signal explained; a service's panels
    also show the national level for comparison."""
    reference = None if code == NATIONAL else run.monthly[run.monthly["code"] == NATIONAL]
    return charts.run_charts(run.monthly, run.signals, code, TREND_KPIS, _explanations(run, code),
                             name=run.names.get(code), reference=reference, reference_name=run.national_name,
                             points=run.run_chart_points, kpi_names=run.kpi_names)


def signal_table(run: Run, code: str = NATIONAL) -> Html:
    """Each KPI's run-chart result in words."""
    explanations = _explanations(run, code)
    rows = run.signals[run.signals["code"] == code].set_index("kpi_id")
    body = "".join(
        f'<tr><th scope="row">{k} {esc(run.kpi_names[k])}</th><td class="num">{fmt_pct(rows.at[k, "median_pct"])}</td>'
        f'<td>{"signal" if rows.at[k, "signal"] else "–"}</td><td>{esc(explanations[k])}</td></tr>'
        for k in TREND_KPIS if k in rows.index
    )
    return Html(
        "<table><caption>Run-chart analysis of the monthly series</caption><thead><tr><th>KPI</th>"
        f'<th class="num">Median %</th><th>Signal</th><th>What the chart shows</th></tr></thead><tbody>{body}</tbody></table>'
    )


def service_funnel_statuses(run: Run, code: str) -> Html:
    """The service's funnel status on each of KPI3–KPI11, in words."""
    own = _levels_row(run, code)
    rows = "".join(
        f'<tr><th scope="row">{k} {esc(run.kpi_names[k])}</th><td class="num">{fmt_pct(own.at[k, "pct"])}</td>'
        f"<td>{esc(status_words(own.at[k, 'funnel_status']))}</td></tr>"
        for k in FUNNEL_KPIS
    )
    return Html(
        "<table><caption>Where the service sits on each funnel (HQIP alert: outside 95%; alarm: outside "
        f'99.8%)</caption><thead><tr><th>KPI</th><th class="num">Service %</th><th>Status</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def service_p_charts(run: Run, code: str) -> Html:
    """p-charts for the KPIs whose monthly denominators allow one; says which were left out."""
    shown, left = {}, []
    for kpi_id in FUNNEL_KPIS:  # KPI2's denominator is an estimate, not patients: no p-chart
        chart = run.p_chart(code, kpi_id)
        if chart is None:
            left.append(kpi_id)
        else:
            shown[kpi_id] = chart
    note = ""
    if left:
        note = f"<p><small>{esc(p_chart_left_out(left))}</small></p>"
    figure = charts.p_chart_grid(shown, name=run.names.get(code), kpi_names=run.kpi_names).to_html() if shown else ""
    return Html(figure + note)

# ---------------------------------------------------------------------------------------------
# Who gets care (kpis.md, *Breakdowns*)


#: Where a breakdown table's reader finds each percentage's 95% interval (also shown on pointing at it).
INTERVALS_IN_CHART_DATA = "Each 95% interval is in the figure's data above (Show the data)"
INTERVALS_IN_DOWNLOADS = "Each 95% interval shows on pointing at a percentage, and is in kpi_breakdowns.csv"


def _breakdown_cell(pct, low, high) -> str:
    """A published group percentage, with its interval as a tooltip; ``*`` when suppressed."""
    if pd.isna(pct):
        return f'<td class="num" data-sort="">{SUPPRESSED}</td>'
    return (f'<td class="num" data-sort="{float(pct)!r}" title="95% interval {fmt_interval(low, high)}">'
            f"{fmt_pct(pct)}</td>")


def _breakdown_table(run: Run, code: str, characteristic: str, compare: str | None = None) -> str:
    """KPI3–KPI11 (columns) by the groups of a characteristic (rows) for one unit, as published;
    with ``compare``, a second figure under each: that unit's (e.g. the national level's)."""
    table = run.breakdowns
    units = [code] if compare is None else [code, compare]
    rows = table[(table["characteristic"] == characteristic) & table["code"].isin(units)]
    rows = rows.set_index(["code", "group", "kpi_id"]).to_dict("index")  # a dict: a lookup per cell
    body = []
    for group in BREAKDOWN_GROUPS[characteristic]:
        cells = []
        for kpi_id in FUNNEL_KPIS:
            r = rows[(code, group, kpi_id)]
            if r["denominator_shown"] == "0":
                cell = '<td class="num" data-sort="">–</td>'
            else:
                cell = _breakdown_cell(r["pct_shown"], r["ci_low_shown"], r["ci_high_shown"])
            if compare is not None:
                c = rows[(compare, group, kpi_id)]
                cell = cell.replace("</td>", f'<br><small>{fmt_pct(c["pct_shown"])}</small></td>')
            cells.append(cell)
        body.append(f'<tr><th scope="row">{esc(group)}</th>{"".join(cells)}</tr>')
    head = "".join(f'<th scope="col" class="num" title="{esc(run.kpi_names[k])}">{k}</th>' for k in FUNNEL_KPIS)
    under = f"; beneath, {esc(run.names[compare])}" if compare is not None else ""
    intervals = (INTERVALS_IN_DOWNLOADS if compare is not None else INTERVALS_IN_CHART_DATA)
    return (f'<table class="compact"><caption>{esc(run.names[code])}: KPI3–KPI11 by {esc(characteristic)} (%)'
            f"{under}. {intervals}; – no eligible patients.</caption>"
            f'<thead><tr><th scope="col">{esc(characteristic[:1].upper() + characteristic[1:])}</th>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _test_list(run: Run, code: str, characteristic: str) -> str:
    tests = run.breakdown_tests
    rows = tests[(tests["code"] == code) & (tests["characteristic"] == characteristic)].set_index("kpi_id")
    items = "".join(f"<li>{k} {esc(run.kpi_names[k])}: {esc(chi2_words(rows.loc[k], characteristic))}</li>"
                    for k in FUNNEL_KPIS if k in rows.index)
    return f"<ul class=\"tests\">{items}</ul>"


def who_gets_care(run: Run) -> Html:
    """The national report's section on equity: for each characteristic, the KPIs by group for
    the national level and each nation (figure), the national table, and the tests in words."""
    blocks = [
        f"<p>{esc(run.national_name)}'s KPIs for each group of patients, with 95% intervals. Differences "
        "between groups are described with a chi-squared test of equal proportions over the known groups. "
        f"Many tests are made ({len(BREAKDOWN_GROUPS)} characteristics, {len(FUNNEL_KPIS)} KPIs, each nation and "
        "region), so some small p-values will arise by chance; a test says that groups differ, not why, and "
        "none is a verdict on a service. Below the national level, small numbers are not published.</p>"
    ]
    for characteristic in BREAKDOWN_GROUPS:
        figure = charts.breakdown_grid(run.breakdowns, characteristic, run.level_codes,
                                       BREAKDOWN_GROUPS[characteristic], names=run.names, kpi_names=run.kpi_names)
        blocks.append(f"<h3>By {esc(characteristic)}</h3>{figure.to_html()}"
                      f"{_breakdown_table(run, NATIONAL, characteristic)}"
                      f"<p>Across the groups of {esc(characteristic)} ({esc(run.national_name)}):</p>"
                      f"{_test_list(run, NATIONAL, characteristic)}")
    return Html("".join(blocks))


def by_region(run: Run) -> Html:
    """KPI3–KPI11 for each region of the services file (a table and a figure); a sentence when
    the services file names none."""
    regions = run.regions
    if regions.empty:
        return Html("<p>The services file names no regions.</p>")
    keyed = regions.set_index(["code", "kpi_id"])
    names = list(dict.fromkeys(regions["code"]))
    body = "".join(
        f'<tr><th scope="row">{esc(name)}</th>'
        + "".join(_breakdown_cell(keyed.at[(name, k), "pct"], keyed.at[(name, k), "ci_low"], keyed.at[(name, k), "ci_high"])
                  .replace(SUPPRESSED, BLANK) for k in FUNNEL_KPIS)
        + "</tr>"
        for name in names
    )
    head = "".join(f'<th scope="col" class="num" title="{esc(run.kpi_names[k])}">{k}</th>' for k in FUNNEL_KPIS)
    table = ('<table class="compact"><caption>KPI3–KPI11 by region (%): each region\'s services together. '
             f'{INTERVALS_IN_CHART_DATA}.</caption><thead><tr><th scope="col">Region</th>{head}</tr></thead>'
             f"<tbody>{body}</tbody></table>")
    return Html(charts.region_grid(regions, kpi_names=run.kpi_names).to_html() + table)


def service_breakdowns(run: Run, code: str) -> Html:
    """The service's KPIs by group beside the national level's, as published (small numbers shown
    as ``*``, with a line saying why)."""
    if int(run.service(code)["records"]) == 0:
        return Html("<p>No records: nothing to break down.</p>")
    tables = "".join(f"<h3>By {esc(c)}</h3>{_breakdown_table(run, code, c, compare=NATIONAL)}" for c in BREAKDOWN_GROUPS)
    return Html(tables + f"<p><small>{esc(suppressed_note(run.params.disclosure.threshold))}.</small></p>")

