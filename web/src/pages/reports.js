// My reports: what I reported to the operators and what came of it. The `report_resolved`
// notification links one of them (`/reports/{id}`).
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, html, Loading, Pager, Status, Time, useAsync } from "../ui.js";

const PAGE_SIZE = 20;

/// Where the reporter can look at the target again (a chat message has no page of its own).
function targetLink(report) {
  if (report.target_type === "product") return `/products/${report.target_id}`;
  if (report.target_type === "mission") return `/missions/${report.target_id}`;
  return null;
}

function outcome(report) {
  const action = report.resolution && (report.resolution.action || report.resolution);
  return action ? t(`resolution.${action}`) : "—";
}

function ReportItem({ report, link }) {
  const where = targetLink(report);
  const title = t("reports.number", { id: report.id });
  return html`<div>
    ${link ? html`<a href=${`/reports/${report.id}`}><strong>${title}</strong></a>` : html`<strong>${title}</strong>`}
    <span class="status">${t(`target.${report.target_type}`)} #${report.target_id}</span>
    <span class="status">${t(`reason.${report.reason}`)}</span> <${Status} value=${report.status} />
    <div class="muted"><${Time} value=${report.created_at} />${where && html` · <a href=${where}>${t("reports.see_target")}</a>`}</div>
    ${report.details && html`<p>${report.details}</p>`}
    ${report.status === "resolved" &&
    html`<p>${t("reports.outcome", { outcome: outcome(report) })} · <${Time} value=${report.resolved_at} /></p>`}
  </div>`;
}

export function MyReports() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const list = useAsync(() => api(`/reports${query({ page, size: PAGE_SIZE })}`), [page]);
  const data = list.data;
  return html`<section>
    <h1>${t("reports.title")}</h1>
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("reports.none")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map((r) => html`<li key=${r.id}><${ReportItem} report=${r} link=${true} /></li>`)}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(p) => navigate(`/reports${query({ page: p })}`)} />`}
  </section>`;
}

/// One of my reports by id: `GET /reports` has no single-report route, so its pages are
/// searched (a reporter files at most `moderation.reports_per_hour`, so they are few).
async function findMine(id) {
  for (let page = 0; ; page++) {
    const list = await api(`/reports${query({ page, size: 100 })}`);
    const found = list.items.find((r) => r.id === id);
    if (found) return found;
    if (list.items.length === 0 || (page + 1) * list.size >= list.total) break;
  }
  throw Object.assign(new Error("Not found."), { code: "not_found" });
}

export function MyReport({ params }) {
  const id = Number(params.id);
  const report = useAsync(() => findMine(id), [id]);
  const r = report.data;
  return html`<section>
    <h1>${t("reports.number", { id })}</h1>
    <${ErrorBox} error=${report.error} />
    ${!r && !report.error && html`<${Loading} />`}
    ${r && html`<div class="card plain"><${ReportItem} report=${r} /></div>`}
    <p><a href="/reports">${t("reports.all")}</a></p>
  </section>`;
}
