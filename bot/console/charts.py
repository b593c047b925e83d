"""Bar charts as SVG, drawn by tabot itself for the Figures page.

A few rectangles and labels, written out as text: no plotting library at request time, no
script, no style sheet (the console's Content-Security-Policy allows neither inline), and a
chart of twelve bars is about 2 KB, so the page stays light on a phone. Labels sit above their
bars rather than beside them, so a long program name never squeezes the bar away on a narrow
screen. Every chart has a table of the same numbers beside it on the page (`figures.html`):
the SVG is for seeing, the table for reading and for screen readers.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 480  # the viewBox width; the SVG scales to its box
BAR = 18  # bar height
ROW = 46  # one label line plus one bar
LABEL_CHARS = 52  # a longer label is cut with an ellipsis (the table has it whole)
COLOUR = "#0b5cad"  # the console's accent
TEXT = "#1a1a1a"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def bar_chart(data: dict[str, int], title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per key in `data`'s order, each with its label and value.

    `chart_id` names the SVG's <title> so the image has an accessible name; an empty chart
    says "No data" in words rather than drawing nothing."""
    title_id = f"{chart_id}-title"
    height = max(ROW, ROW * len(data)) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'class="chart" role="img" aria-labelledby="{escape(title_id)}" '
             f'id="{escape(chart_id)}" font-family="system-ui, sans-serif" font-size="15">',
             f'<title id="{escape(title_id)}">{escape(title)}</title>']
    if not data:
        parts.append(f'<text x="0" y="28" fill="{TEXT}">No data for this period.</text>')
    largest = max(data.values(), default=0) or 1
    for row, (label, value) in enumerate(data.items()):
        top = row * ROW
        # the value sits after the bar; bars leave room for it (up to 7 digits)
        length = max(1.0, (WIDTH - 80) * value / largest)
        parts.append(f'<text x="0" y="{top + 17}" fill="{TEXT}">{escape(_short(label))}</text>')
        parts.append(f'<rect x="0" y="{top + 23}" width="{length:.1f}" height="{BAR}" '
                     f'fill="{COLOUR}"/>')
        parts.append(f'<text x="{length + 6:.1f}" y="{top + 37}" fill="{TEXT}">'
                     f'{value:,}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
