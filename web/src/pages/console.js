// The operators' pages of the admin console: the reports queue (with the target as it was
// reported, and dismiss / hide / suspend), accounts (search, suspend, reinstate), the
// ledger audit (with charges needing attention and an order lookup), one order with
// refunds, and the parked outbox rows with retry.
import { useEffect, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { localInputValue } from "../format.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, problemOf, Status, Time, useAsync, useSubmit } from "../ui.js";
import { AdminNav } from "./admin.js";
import { OrderLines, OrderSummary } from "./orders.js";

const TARGET_TYPES = ["product", "chat_message", "account", "mission"];

/// The reported content as the server kept it: text, or the fields of an object.
function TargetPreview({ value }) {
  if (value === null || value === undefined) return html`<p class="muted">${t("admin.no_preview")}</p>`;
  if (typeof value !== "object") return html`<blockquote class="quote">${String(value)}</blockquote>`;
  return html`<dl class="fields">
    ${Object.entries(value).map(
      ([k, v]) => html`<div><dt>${k}</dt><dd>${v !== null && typeof v === "object" ? html`<code>${JSON.stringify(v)}</code>` : String(v ?? "—")}</dd></div>`,
    )}
  </dl>`;
}

/// Where the admin can look at the target itself.
function targetLink(report) {
  const id = report.target_id;
  if (report.target_type === "product") return `/products/${id}`;
  if (report.target_type === "mission") return `/missions/${id}`;
  if (report.target_type === "account") return `/admin/accounts${query({ id })}`;
  return null;
}

function ReportSummary({ report, link }) {
  const where = targetLink(report);
  return html`<div>
    ${link ? html`<a href=${`/admin/reports/${report.id}`}><strong>${t("admin.report_number", { id: report.id })}</strong></a>` : html`<strong>${t("admin.report_number", { id: report.id })}</strong>`}
    <span class="status">${t(`target.${report.target_type}`)} #${report.target_id}</span>
    <span class="status">${t(`reason.${report.reason}`)}</span> <${Status} value=${report.status} />
    ${report.open_reports_on_target > 1 && html` <span class="badge">${t("admin.open_on_target", { n: report.open_reports_on_target })}</span>`}
    <div class="muted"><${Time} value=${report.created_at} />${where && html` · <a href=${where}>${t("admin.see_target")}</a>`}
      ${report.target_owner_id && html` · <a href=${`/admin/accounts${query({ id: report.target_owner_id })}`}>${t("admin.target_owner")}</a>`}</div>
    ${report.details && html`<p>${report.details}</p>`}
  </div>`;
}

export function Reports() {
  const loc = useStore(location$);
  const status = loc.query.get("status") || "open";
  const type = loc.query.get("target_type") || "";
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const list = useAsync(() => api(`/admin/reports${query({ status, target_type: type, page, size: 20 })}`), [status, type, page]);
  const go = (changes) => navigate(`/admin/reports${query({ status, target_type: type, ...changes })}`);
  const data = list.data;
  return html`<section>
    <h1>${t("admin.reports")}</h1>
    <${AdminNav} />
    <div class="row narrow">
      <${Field} label=${t("field.status")} as="select" value=${status} onChange=${(e) => go({ status: e.currentTarget.value })}>
        <option value="open">${t("status.open")}</option>
        <option value="resolved">${t("status.resolved")}</option>
      <//>
      <${Field} label=${t("admin.target_type")} as="select" value=${type} onChange=${(e) => go({ target_type: e.currentTarget.value })}>
        <option value="">${t("admin.every_type")}</option>
        ${TARGET_TYPES.map((k) => html`<option value=${k}>${t(`target.${k}`)}</option>`)}
      <//>
    </div>
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("admin.no_reports")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (r) => html`<li key=${r.id}>
          <${ReportSummary} report=${r} link=${true} />
          <${TargetPreview} value=${r.target_preview} />
        </li>`,
      )}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(p) => go({ page: p })} />`}
  </section>`;
}

/// One report by id (the queue has no single-report route: its pages are searched, open first).
async function findReport(id) {
  for (const status of ["open", "resolved"]) {
    for (let page = 0; ; page++) {
      const list = await api(`/admin/reports${query({ status, page, size: 100 })}`);
      const found = list.items.find((r) => r.id === id);
      if (found) return found;
      if ((page + 1) * list.size >= list.total) break;
    }
  }
  throw Object.assign(new Error("Not found."), { code: "not_found" });
}

export function Report({ params }) {
  const id = Number(params.id);
  const report = useAsync(() => findReport(id), [id]);
  const [note, setNote] = useState("");
  const resolve = useSubmit(async (action) => {
    report.setData(await api(`/admin/reports/${id}/resolve`, { method: "POST", body: { action, note: note.trim() } }));
  });
  const r = report.data;
  return html`<section>
    <h1>${t("admin.report_number", { id })}</h1>
    <${AdminNav} />
    <${ErrorBox} error=${report.error} />
    ${!r && !report.error && html`<${Loading} />`}
    ${r &&
    html`<div class="card plain">
        <${ReportSummary} report=${r} />
        <h2>${t("admin.as_reported")}</h2>
        <${TargetPreview} value=${r.target_preview} />
      </div>
      ${r.status === "open"
        ? html`<form class="narrow" onSubmit=${(e) => e.preventDefault()} novalidate>
            <h2>${t("admin.resolve")}</h2>
            <p class="muted">${t("admin.resolve_hint")}</p>
            <${Field} label=${t("admin.note")} as="textarea" maxlength="500" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} problem=${problemOf(resolve.error, "note")} />
            <${ErrorBox} error=${resolve.error} />
            <div class="actions">
              <button type="button" class="secondary" disabled=${resolve.pending} onClick=${() => resolve.submit("dismiss")}>${t("admin.dismiss")}</button>
              <button type="button" disabled=${resolve.pending} onClick=${() => resolve.submit("hide")}>${t("admin.hide")}</button>
              <button type="button" class="danger" disabled=${resolve.pending} onClick=${() => resolve.submit("suspend")}>${t("admin.suspend_owner")}</button>
            </div>
          </form>`
        : html`<${Notice} kind="ok">${t("admin.resolved_as", { action: r.resolution ? t(`resolution.${r.resolution.action || r.resolution}`) : "—" })}
            ${r.resolved_at && html` · <${Time} value=${r.resolved_at} />`}
            ${r.resolution_note && html`<div>${r.resolution_note}</div>`}<//>`}`}
    <p><a href="/admin/reports">${t("admin.reports")}</a></p>
  </section>`;
}

function SuspendForm({ account, onDone }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const suspend = useSubmit(async () => {
    const body = { reason: reason.trim() };
    if (until) body.until = new Date(until).toISOString();
    onDone(await api(`/admin/accounts/${account.id}/suspend`, { method: "POST", body }));
    setOpen(false);
  });
  const reinstate = useSubmit(async () => onDone(await api(`/admin/accounts/${account.id}/reinstate`, { method: "POST" })));
  if (account.suspended) {
    return html`<div class="actions">
      <button type="button" class="secondary" onClick=${reinstate.submit} disabled=${reinstate.pending} aria-label=${t("admin.reinstate_named", { name: account.name })}>${t("admin.reinstate")}</button>
      <${ErrorBox} error=${reinstate.error} />
    </div>`;
  }
  if (!open) {
    return html`<div class="actions"><button type="button" class="danger" onClick=${() => setOpen(true)} aria-label=${t("admin.suspend_named", { name: account.name })}>${t("admin.suspend")}</button></div>`;
  }
  return html`<form class="card plain narrow" onSubmit=${suspend.submit} novalidate>
    <${Field} label=${t("field.reason")} as="textarea" required maxlength="500" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} problem=${problemOf(suspend.error, "reason")} />
    <${Field} label=${t("admin.until")} type="datetime-local" min=${localInputValue(new Date())} value=${until} onInput=${(e) => setUntil(e.currentTarget.value)}
      hint=${t("admin.until_hint")} problem=${problemOf(suspend.error, "until")} />
    <${ErrorBox} error=${suspend.error} />
    <div class="actions">
      <button type="submit" class="danger" disabled=${suspend.pending}>${t("admin.suspend")}</button>
      <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("common.back")}</button>
    </div>
  </form>`;
}

export function Accounts() {
  const loc = useStore(location$);
  const [q, setQ] = useState(loc.query.get("q") || "");
  const [role, setRole] = useState("");
  const [page, setPage] = useState(0);
  const wanted = Number(loc.query.get("id")) || null;
  const list = useAsync(() => api(`/admin/accounts${query({ q: q.trim(), role, page, size: 20 })}`), [q, role, page]);
  const one = useAsync(() => (wanted ? api(`/accounts/${wanted}`) : Promise.resolve(null)), [wanted]);
  // Opened from a report: search for the reported account by its name.
  useEffect(() => {
    if (one.data && !q) setQ(one.data.name);
  }, [one.data]);
  const data = list.data;
  const update = (changed) => list.setData((old) => ({ ...old, items: old.items.map((a) => (a.id === changed.id ? { ...a, ...changed } : a)) }));
  return html`<section>
    <h1>${t("admin.accounts")}</h1>
    <${AdminNav} />
    ${one.data && html`<${Notice}>${t("admin.reported_account", { name: one.data.name, id: one.data.id })}<//>`}
    <div class="row">
      <${Field} label=${t("admin.search_accounts")} type="search" value=${q} onInput=${(e) => { setQ(e.currentTarget.value); setPage(0); }} />
      <${Field} label=${t("field.account_type")} as="select" value=${role} onChange=${(e) => { setRole(e.currentTarget.value); setPage(0); }}>
        <option value="">${t("admin.every_role")}</option>
        ${["customer", "seller", "streamer", "admin"].map((r) => html`<option value=${r}>${t(`role.${r}`)}</option>`)}
      <//>
    </div>
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("admin.no_accounts")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (a) => html`<li key=${a.id} class=${wanted === a.id ? "highlight" : undefined}>
          <strong>${a.name}</strong> <span class="muted">#${a.id}</span> <span class="status">${t(`role.${a.role}`)}</span>
          ${a.suspended && html` <span class="status danger">${t("admin.suspended")}</span>`}
          <div class="muted">${a.email}${a.suspended && a.suspended_until && html` · ${t("admin.until")} <${Time} value=${a.suspended_until} />`}
            ${a.suspended && (a.reason || a.suspension_reason) && html` · ${a.reason || a.suspension_reason}`}</div>
          <${SuspendForm} account=${a} onDone=${update} />
        </li>`,
      )}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${setPage} />`}
  </section>`;
}

function OrderLookup() {
  const [id, setId] = useState("");
  return html`<form class="narrow row" onSubmit=${(e) => { e.preventDefault(); if (Number(id) > 0) navigate(`/admin/orders/${Number(id)}`); }}>
    <${Field} label=${t("admin.order_number")} type="number" min="1" value=${id} onInput=${(e) => setId(e.currentTarget.value)} />
    <div class="actions"><button type="submit" class="secondary">${t("admin.open_order")}</button></div>
  </form>`;
}

export function LedgerAudit() {
  const [version, setVersion] = useState(0);
  const audit = useAsync(() => api("/admin/ledger/audit"), [version]);
  const attention = useAsync(() => api(`/admin/charges${query({ attention: "true", page: 0, size: 20 })}`), [version]);
  const a = audit.data;
  const healthy = a && a.sum_of_balances === 0 && a.mismatches.length === 0;
  return html`<section>
    <h1>${t("admin.ledger")}</h1>
    <${AdminNav} />
    <div class="actions"><button type="button" class="secondary" onClick=${() => setVersion((v) => v + 1)} disabled=${audit.loading}>${t("admin.audit_again")}</button></div>
    <${ErrorBox} error=${audit.error} />
    ${!a && !audit.error && html`<${Loading} />`}
    ${a &&
    html`<div class="card" role="status">
        <p class="big">${healthy ? t("admin.audit_ok") : t("admin.audit_bad")}</p>
        <div>${t("admin.checked_at")} <${Time} value=${a.checked_at} /> · ${t("admin.wallets_n", { n: a.wallets })}</div>
        <div>${t("admin.sum_of_balances")} <${Money} value=${a.sum_of_balances} /></div>
      </div>
      <h2>${t("admin.mismatches")}</h2>
      ${a.mismatches.length === 0
        ? html`<p class="muted">${t("admin.no_mismatches")}</p>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>${t("admin.wallet")}</th><th class="num">${t("wallet.balance")}</th><th class="num">${t("admin.sum_of_entries")}</th></tr></thead>
            <tbody>${a.mismatches.map((m) => html`<tr><td>${m.wallet}</td><td class="num"><${Money} value=${m.balance} /></td><td class="num"><${Money} value=${m.sum_of_entries} /></td></tr>`)}</tbody>
          </table></div>`}
      <h2>${t("admin.open_escrows")}</h2>
      ${a.open_escrows.length === 0
        ? html`<p class="muted">${t("admin.no_escrows")}</p>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>${t("admin.wallet")}</th><th class="num">${t("wallet.balance")}</th></tr></thead>
            <tbody>${a.open_escrows.map((e) => html`<tr><td>${e.wallet}</td><td class="num"><${Money} value=${e.balance} /></td></tr>`)}</tbody>
          </table></div>`}`}
    <h2>${t("admin.attention")}</h2>
    <${ErrorBox} error=${attention.error} />
    ${attention.data && attention.data.items.length === 0 && html`<p class="muted">${t("admin.no_attention")}</p>`}
    ${attention.data &&
    html`<ul class="list">
      ${attention.data.items.map(
        (c) => html`<li key=${c.id}>${t("wallet.charge_number", { id: c.id })} · <${Money} value=${c.amount} /> <${Status} value=${c.status} />
          <div class="muted">${t("admin.account_n", { id: c.account_id })}${c.refunded_amount ? html` · ${t("admin.refunded")} <${Money} value=${c.refunded_amount} />` : ""}
            ${c.created_at && html` · <${Time} value=${c.created_at} />`}</div></li>`,
      )}
    </ul>`}
    <h2>${t("admin.orders")}</h2>
    <${OrderLookup} />
  </section>`;
}

export function AdminOrder({ params }) {
  const order = useAsync(() => api(`/admin/orders/${params.id}`), [params.id]);
  const [reason, setReason] = useState("");
  const o = order.data;
  const actions = [
    {
      id: "refund",
      danger: true,
      label: t("admin.refund"),
      done: t("admin.refunded_note"),
      form: html`<${Field} label=${t("field.reason")} as="textarea" required maxlength="500" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />`,
      run: (item_ids) => api(`/admin/orders/${params.id}/refund`, { method: "POST", body: { item_ids, reason: reason.trim() } }),
    },
  ];
  return html`<section>
    ${!o && html`<h1>${t("order.number", { id: params.id })}</h1>`}
    <${AdminNav} />
    <${ErrorBox} error=${order.error} />
    ${!o && !order.error && html`<${Loading} />`}
    ${o && html`<${OrderSummary} order=${o} /><p class="muted">${t("admin.buyer_n", { id: o.buyer_id })}</p><${OrderLines} order=${o} actions=${actions} onChanged=${order.setData} />`}
  </section>`;
}

export function Outbox() {
  const [page, setPage] = useState(0);
  const list = useAsync(() => api(`/admin/outbox${query({ status: "parked", page, size: 20 })}`), [page]);
  const [retried, setRetried] = useState([]);
  const retry = useSubmit(async (row) => {
    await api(`/admin/outbox/${encodeURIComponent(row.module)}/${row.id}/retry`, { method: "POST" });
    setRetried((old) => [...old, `${row.module}/${row.id}`]);
  });
  const data = list.data;
  return html`<section>
    <h1>${t("admin.outbox")}</h1>
    <${AdminNav} />
    <p class="muted">${t("admin.outbox_intro")}</p>
    <${ErrorBox} error=${list.error || retry.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("admin.no_parked")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map((row) => {
        const done = retried.includes(`${row.module}/${row.id}`);
        return html`<li key=${`${row.module}-${row.id}`}>
          <strong>${row.topic}</strong> <span class="status">${row.module} #${row.id}</span>
          <div class="muted">${t("admin.attempts_n", { n: row.attempts })} · <${Time} value=${row.created_at} /></div>
          ${row.last_error && html`<pre class="code">${row.last_error}</pre>`}
          ${done
            ? html`<${Notice} kind="ok">${t("admin.queued_again")}<//>`
            : html`<button type="button" class="secondary" disabled=${retry.pending} onClick=${() => retry.submit(row)}
                aria-label=${t("admin.retry_named", { topic: row.topic, id: row.id })}>${t("admin.retry")}</button>`}
        </li>`;
      })}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${setPage} />`}
  </section>`;
}
