"""A `Report` as Markdown (README.md) and as one self-contained HTML page (index.html).

The page embeds every figure as a base64 data URI and holds its own CSS, so
it opens from disk, mailed or copied alone. A small inline script marks each
image once the page has loaded (`data-rendered="ok"` or `"broken"`) and
writes the counts to `<body data-images=... data-tables=...>` (a table
counts as rendered when it has a header and rows and a height on screen):
a headless browser's DOM dump shows whether every figure decoded. With a
`RunLinks` (a known MLflow server), each run id of a run-ids column links to
its run's page; without one the output is exactly as without links.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from rlx.report.build import Report
from rlx.report.coverage import INCOMPLETE_MARK
from rlx.report.format import Kind, Table
from rlx.report.links import RunLinks

PROTOCOL_HEADING = "Protocol."  # before the report's protocol line, in bold

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.caption { color: #555; max-width: 70em; } p.note { font-size: 0.85em; color: #8a4b00; margin: 0.2em 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
td { white-space: nowrap; } td.cmd { white-space: normal; }
th { background: #f0f3f7; } tr:nth-child(even) td { background: #fafafa; }
td.cmd { font-family: monospace; font-size: 0.9em; max-width: 28em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; display: block; }
code { background: #f4f4f4; padding: 0 3px; }
p.protocol { background: #f4f7fb; border-left: 4px solid #4a76a8; padding: 0.4em 0.8em; max-width: 70em; }
"""

CHECK_IMAGES = """
window.addEventListener('load', function () {
  var imgs = document.images, broken = 0;
  for (var i = 0; i < imgs.length; i++) {
    var ok = imgs[i].complete && imgs[i].naturalWidth > 0;
    imgs[i].setAttribute('data-rendered', ok ? 'ok' : 'broken');
    if (!ok) { broken++; }
  }
  document.body.setAttribute('data-images', imgs.length + ' images, ' + broken + ' broken');
  var tables = document.getElementsByTagName('table'), empty = 0;
  for (var j = 0; j < tables.length; j++) {
    if (!(tables[j].offsetHeight > 0 && tables[j].rows.length > 1)) { empty++; }
  }
  document.body.setAttribute('data-tables', tables.length + ' tables, ' + empty + ' not rendered');
});
"""


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def shown_table(table: Table, links: RunLinks | None, markup: str) -> pd.DataFrame:
    """`table.display()`; with `links`, each run id of a run-ids column as a link ("markdown" or "html" markup)."""
    shown = table.display()
    if links is None:
        return shown
    link = links.markdown if markup == "markdown" else links.html
    for col, kind in table.kinds.items():
        if kind is Kind.RUN_IDS and col in shown:
            shown[col] = [link(full, text) for full, text in zip(table.frame[col], shown[col], strict=True)]
    return shown


def render_markdown(report: Report, links: RunLinks | None = None) -> str:
    parts = [f"# {report.title}", ""]
    if report.protocol:
        parts += [f"**{PROTOCOL_HEADING}** {report.protocol}\n"]
    parts += [f"{line}\n" for line in report.intro]
    for s in report.sections:
        parts += [f"## {s.title}", ""]
        if s.caption:
            parts += [s.caption, ""]
        if s.table is not None:
            shown = shown_table(s.table, links, "markdown")
            if "command" in shown:
                shown["command"] = [f"`{c}`" if c != "–" else c for c in shown["command"]]
            parts += [markdown_table(shown), ""]
            parts += [f"{INCOMPLETE_MARK}{n} {text}\n" for n, text in enumerate(s.table.footnotes, start=1)]
            parts += [f"Data: [`tables/{s.table.slug}.csv`](tables/{s.table.slug}.csv)", ""]
        for path, alt in s.images:
            parts += [f"![{alt}]({path.as_posix()})", ""]
    return "\n".join(parts).rstrip() + "\n"


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def html_table(frame: pd.DataFrame, markup: frozenset[str] = frozenset()) -> str:
    """The frame as a <table>; cells are escaped except in the `markup` columns (already HTML)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="cmd">{html.escape(str(v))}</td>'
            if col == "command"
            else f"<td>{v if col in markup else html.escape(str(v))}</td>"
            for col, v in zip(frame.columns, row, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def render_html(report: Report, root: Path, links: RunLinks | None = None) -> str:
    body = [f"<h1>{html.escape(report.title)}</h1>"]
    if report.protocol:
        body.append(f'<p class="protocol"><strong>{PROTOCOL_HEADING}</strong> {_inline(report.protocol)}</p>')
    body += [f"<p>{_inline(line)}</p>" for line in report.intro]
    for s in report.sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.caption:
            body.append(f'<p class="caption">{_inline(s.caption)}</p>')
        if s.table is not None:
            markup = frozenset(c for c, k in s.table.kinds.items() if k is Kind.RUN_IDS) if links else frozenset()
            body.append(html_table(shown_table(s.table, links, "html"), markup))
            body += [
                f'<p class="note">{INCOMPLETE_MARK}{n} {html.escape(text)}</p>'
                for n, text in enumerate(s.table.footnotes, start=1)
            ]
        for path, alt in s.images:
            data = base64.b64encode((root / path).read_bytes()).decode("ascii")
            body.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n<script>{CHECK_IMAGES}</script>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
