"""Measures the first load of `/` with the browser's performance timeline: the time to the
first feed row (the app marks `feed:first-row`), cold and with the kept feed of an earlier
visit, reported and not asserted (this shared machine's timings vary); and the first load's
own JS + CSS, gzipped as sent, which must stay under WEB.md's 100 KB."""

import os
from pathlib import Path

from conftest import DESKTOP, PHONE, log_in

REPORT = Path(os.environ.get("REPORT_FILE", "target/browser-screenshots/first-load.txt"))
OWN_BUDGET = 100 * 1000  # bytes of the app's own JS + CSS, gzipped (WEB.md, "Fast")

MEASURE = """() => {
  const mark = performance.getEntriesByName("feed:first-row")[0];
  const resources = performance.getEntriesByType("resource").filter((r) => r.name.includes("/assets/"));
  const own = resources.filter((r) => !r.name.includes("/vendor/") && (r.name.endsWith(".js") || r.name.endsWith(".css")));
  const vendor = resources.filter((r) => r.name.includes("/vendor/"));
  const sum = (list, key) => list.reduce((n, r) => n + r[key], 0);
  return {
    first_row_ms: mark ? mark.startTime : null,
    own_files: own.length,
    own_gzipped: sum(own, "encodedBodySize"),
    own_raw: sum(own, "decodedBodySize"),
    vendor_gzipped: sum(vendor, "encodedBodySize"),
    requests_before_row: resources.filter((r) => mark && r.startTime < mark.startTime).length,
  };
}"""


def measure(page):
    page.locator(".feed-row").first.wait_for()
    return page.evaluate(MEASURE)


def test_first_load_of_home_is_reported_and_within_budget(open_page):
    lines = []
    page = open_page("anonymous", "en", PHONE)
    page.goto("/")
    cold = measure(page)
    page.reload()
    warm = measure(page)
    lines.append(f"anonymous, phone, first visit: first feed row {cold['first_row_ms']:.0f} ms; "
                 f"own JS+CSS {cold['own_gzipped'] / 1024:.1f} KiB gzipped ({cold['own_raw'] / 1024:.1f} KiB raw, "
                 f"{cold['own_files']} files); vendored {cold['vendor_gzipped'] / 1024:.1f} KiB gzipped")
    lines.append(f"anonymous, phone, reload (kept feed, HTTP cache): first feed row {warm['first_row_ms']:.0f} ms")

    signed = open_page("signed-in", "en", DESKTOP)
    log_in(signed, "ara@demo.example")
    signed.goto("/")
    signed.locator(".feed-row").first.wait_for()
    signed.reload()
    again = measure(signed)
    lines.append(f"signed in, desktop, next visit (kept feed shown at once): first feed row {again['first_row_ms']:.0f} ms")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    for line in lines:
        print(line)
    assert cold["first_row_ms"] is not None and cold["own_gzipped"] > 0
    assert cold["own_gzipped"] < OWN_BUDGET, lines[0]
