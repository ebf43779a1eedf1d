// Admin console: the feed's row settings (in position order; create, edit, enable or
// disable, reorder; selector and template as checked JSON; schedule and TTL) beside a live
// preview of the feed as a chosen account in a chosen country would see it, unsaved edits
// included; and the ad slots.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { localInputValue } from "../format.js";
import { ErrorBox, Field, html, Loading, Notice, problemOf, Time, useAsync, useSubmit } from "../ui.js";
import { FeedRows as FeedView } from "./home.js";

const ROW_TYPES = ["NOTICE", "QUICK_BUTTONS", "MY_WALLET", "BANNER", "NEW_PRODUCTS", "MY_CART", "MY_MISSIONS", "UNREAD_CHATS"];
const PREVIEW_DELAY_MS = 300;

/// The console's sections (the feed editor here, the operators' pages in console.js).
export function AdminNav() {
  return html`<nav class="actions" aria-label=${t("nav.admin")}>
    <a href="/admin">${t("admin.rows")}</a>
    <a href="/admin/ad-slots">${t("admin.slots")}</a>
    <a href="/admin/reports">${t("admin.reports")}</a>
    <a href="/admin/accounts">${t("admin.accounts")}</a>
    <a href="/admin/ledger">${t("admin.ledger")}</a>
    <a href="/admin/outbox">${t("admin.outbox")}</a>
  </nav>`;
}

const ordered = (rows) => [...rows].sort((a, b) => a.position - b.position || a.id - b.id);

function toDraft(row) {
  return {
    id: row ? row.id : null,
    row_provider_type: row ? row.row_provider_type : "NOTICE",
    position: String(row ? row.position : 0),
    title: row ? row.title : "",
    enabled: row ? row.enabled : true,
    template: row && row.template ? JSON.stringify(row.template, null, 2) : "",
    selector: row && row.selector && Object.keys(row.selector).length ? JSON.stringify(row.selector, null, 2) : "{}",
    ttl_seconds: row && row.ttl_seconds !== null && row.ttl_seconds !== undefined ? String(row.ttl_seconds) : "",
    starts_at: row && row.starts_at ? localInputValue(new Date(row.starts_at)) : "",
    ends_at: row && row.ends_at ? localInputValue(new Date(row.ends_at)) : "",
  };
}

/// The API body of a draft, or `{problems}` naming the fields whose JSON does not parse.
function toBody(draft) {
  const problems = {};
  const parse = (field, text, fallback) => {
    if (!text.trim()) return fallback;
    try {
      const value = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) problems[field] = t("admin.json_object");
      return value;
    } catch (e) {
      problems[field] = t("admin.json_invalid", { reason: e.message });
      return fallback;
    }
  };
  const body = {
    row_provider_type: draft.row_provider_type,
    position: Number(draft.position),
    enabled: draft.enabled,
    title: draft.title.trim(),
    selector: parse("selector", draft.selector, {}),
    template: parse("template", draft.template, null),
    ttl_seconds: draft.ttl_seconds === "" ? null : Number(draft.ttl_seconds),
    starts_at: draft.starts_at ? new Date(draft.starts_at).toISOString() : null,
    ends_at: draft.ends_at ? new Date(draft.ends_at).toISOString() : null,
  };
  return Object.keys(problems).length ? { problems } : { body };
}

function RowEditor({ draft, onChange, onSaved, onCancel }) {
  const set = (key) => (e) => onChange({ ...draft, [key]: e.currentTarget.type === "checkbox" ? e.currentTarget.checked : e.currentTarget.value });
  const [local, setLocal] = useState({});
  const save = useSubmit(async () => {
    const { body, problems } = toBody(draft);
    setLocal(problems || {});
    if (problems) throw Object.assign(new Error(t("admin.fix_json")), { code: "validation_failed", details: { fields: problems } });
    const row = draft.id
      ? await api(`/admin/feed/rows/${draft.id}`, { method: "PUT", body })
      : await api("/admin/feed/rows", { method: "POST", body });
    onSaved(row);
  });
  const err = save.error;
  const problem = (field) => local[field] || problemOf(err, field) || problemOf(err, `selector.${field}`);
  const selectorProblem = local.selector || problemOf(err, "selector") ||
    Object.entries((err && err.fields) || {}).filter(([k]) => k.startsWith("selector.")).map(([k, v]) => `${k}: ${v}`).join("; ") || undefined;
  return html`<form class="card plain" onSubmit=${save.submit} novalidate aria-labelledby="editor-title">
    <h2 id="editor-title">${draft.id ? t("admin.edit_row", { id: draft.id }) : t("admin.new_row")}</h2>
    <div class="row">
      <${Field} label=${t("admin.row_type")} as="select" value=${draft.row_provider_type} onChange=${set("row_provider_type")} problem=${problem("row_provider_type")}>
        ${ROW_TYPES.map((type) => html`<option value=${type}>${type}</option>`)}
      <//>
      <${Field} label=${t("admin.position")} type="number" min="0" max="10000" value=${draft.position} onInput=${set("position")} problem=${problem("position")} />
    </div>
    <${Field} label=${t("field.title")} required maxlength="100" value=${draft.title} onInput=${set("title")} problem=${problem("title")} />
    <label class="check"><input type="checkbox" checked=${draft.enabled} onChange=${set("enabled")} /> ${t("admin.enabled")}</label>
    <${Field} label=${t("admin.template")} as="textarea" class="code" spellcheck="false" value=${draft.template} onInput=${set("template")} problem=${problem("template")} hint=${t("admin.template_hint")} />
    <${Field} label=${t("admin.selector")} as="textarea" class="code" spellcheck="false" value=${draft.selector} onInput=${set("selector")} problem=${selectorProblem} hint=${t("admin.selector_hint")} />
    <div class="row">
      <${Field} label=${t("admin.starts_at")} type="datetime-local" value=${draft.starts_at} onInput=${set("starts_at")} problem=${problem("starts_at")} />
      <${Field} label=${t("admin.ends_at")} type="datetime-local" value=${draft.ends_at} onInput=${set("ends_at")} problem=${problem("ends_at")} />
      <${Field} label=${t("admin.ttl")} type="number" min="0" value=${draft.ttl_seconds} onInput=${set("ttl_seconds")} problem=${problem("ttl_seconds")} />
    </div>
    <${ErrorBox} error=${err} />
    <div class="actions">
      <button type="submit" disabled=${save.pending}>${t("common.save")}</button>
      <button type="button" class="secondary" onClick=${onCancel}>${t("common.cancel")}</button>
    </div>
  </form>`;
}

function Preview({ rows, draft }) {
  const [q, setQ] = useState("");
  const [accountId, setAccountId] = useState("");
  const [country, setCountry] = useState("");
  const [state, setState] = useState({ feed: null, error: null });
  const people = useAsync(() => api(`/accounts${query({ q: q.trim(), page: 0, size: 20 })}`), [q]);
  const seq = useRef(0);
  const built = draft ? toBody(draft) : { body: null };
  const draftRows = rows.map((r) => (draft && r.id === draft.id && built.body ? { id: r.id, ...built.body } : r));
  if (draft && !draft.id && built.body) draftRows.push(built.body);
  const request = JSON.stringify({
    account_id: accountId ? Number(accountId) : undefined,
    country: country.trim().length === 2 ? country.trim() : undefined,
    rows: draftRows.map(({ id, row_provider_type, position, enabled, title, selector, template, ttl_seconds, starts_at, ends_at }) => ({
      id, row_provider_type, position, enabled, title, selector, template, ttl_seconds, starts_at, ends_at,
    })),
  });
  useEffect(() => {
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      api("/admin/feed/preview", { method: "POST", body: JSON.parse(request) }).then(
        (feed) => mine === seq.current && setState({ feed, error: null }),
        (error) => mine === seq.current && setState((s) => ({ feed: s.feed, error })),
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [request]);
  return html`<section class="preview" aria-label=${t("admin.preview")}>
    <h2>${t("admin.preview")}</h2>
    <div class="row">
      <${Field} label=${t("admin.find_account")} type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <${Field} label=${t("admin.preview_as")} as="select" value=${accountId} onChange=${(e) => setAccountId(e.currentTarget.value)}>
        <option value="">${t("admin.anonymous")}</option>
        ${people.data && people.data.items.map((p) => html`<option value=${p.id}>${p.name} (${t(`role.${p.role}`)}, #${p.id})</option>`)}
      <//>
      <${Field} label=${t("admin.country")} maxlength="2" placeholder="KR" value=${country} onInput=${(e) => setCountry(e.currentTarget.value)} hint=${t("admin.country_hint")} />
    </div>
    ${built.problems && html`<${Notice}>${t("admin.preview_stored")}<//>`}
    <${ErrorBox} error=${state.error} />
    ${state.feed ? html`<div aria-live="polite"><${FeedView} rows=${state.feed.rows} />${state.feed.rows.length === 0 && html`<p class="muted">${t("admin.preview_empty")}</p>`}</div>` : html`<${Loading} />`}
  </section>`;
}

export function FeedRows() {
  const list = useAsync(() => api("/admin/feed/rows").then((r) => ordered(r.items)), []);
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const rows = list.data || [];

  const put = async (row, changes) => {
    const { id, ...rest } = { ...row, ...changes };
    return api(`/admin/feed/rows/${id}`, { method: "PUT", body: rest });
  };
  const replace = (updated) => list.setData((old) => ordered(old.map((r) => (r.id === updated.id ? updated : r))));
  const act = async (work) => {
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(e);
      list.reload();
    }
  };
  const toggle = (row) => act(async () => replace(await put(row, { enabled: !row.enabled })));
  // Swapping with the neighbour; equal positions are separated so the order really changes.
  const move = (index, step) =>
    act(async () => {
      const a = rows[index];
      const b = rows[index + step];
      if (!b) return;
      let [pa, pb] = [b.position, a.position];
      if (pa === pb) [pa, pb] = step < 0 ? [Math.max(0, pb - 1), pb] : [pb + 1, pb];
      replace(await put(a, { position: pa }));
      replace(await put(b, { position: pb }));
    });
  const remove = (row) =>
    act(async () => {
      if (!confirm(t("admin.confirm_delete", { title: row.title }))) return;
      await api(`/admin/feed/rows/${row.id}`, { method: "DELETE" });
      list.setData((old) => old.filter((r) => r.id !== row.id));
      if (draft && draft.id === row.id) setDraft(null);
    });

  return html`<section>
    <h1>${t("admin.rows")}</h1>
    <${AdminNav} />
    <div class="split">
      <div>
        <div class="actions"><button type="button" onClick=${() => setDraft(toDraft(null))}>${t("admin.new_row")}</button></div>
        ${draft &&
        html`<${RowEditor} key=${draft.id || "new"} draft=${draft} onChange=${setDraft} onCancel=${() => setDraft(null)}
          onSaved=${(row) => {
            list.setData((old) => ordered([...old.filter((r) => r.id !== row.id), row]));
            setDraft(null);
          }} />`}
        <${ErrorBox} error=${list.error || error} />
        ${!list.data && !list.error && html`<${Loading} />`}
        <ol class="list" aria-label=${t("admin.rows")}>
          ${rows.map(
            (row, index) => html`<li key=${row.id}>
              <strong>${row.position}</strong> · ${row.title} <span class="status">${row.row_provider_type}</span>
              ${!row.enabled && html` <span class="status">${t("admin.disabled")}</span>`}
              <div class="muted">
                ${row.ttl_seconds ? t("admin.ttl_n", { n: row.ttl_seconds }) : ""}
                ${row.starts_at && html` · ${t("admin.starts_at")} <${Time} value=${row.starts_at} />`}
                ${row.ends_at && html` · ${t("admin.ends_at")} <${Time} value=${row.ends_at} />`}
              </div>
              <div class="actions">
                <button type="button" class="secondary" onClick=${() => setDraft(toDraft(row))} aria-label=${t("admin.edit_named", { title: row.title })}>${t("common.edit")}</button>
                <button type="button" class="secondary" onClick=${() => toggle(row)} aria-label=${t(row.enabled ? "admin.disable_named" : "admin.enable_named", { title: row.title })}>${t(row.enabled ? "admin.disable" : "admin.enable")}</button>
                <button type="button" class="secondary" disabled=${index === 0} onClick=${() => move(index, -1)} aria-label=${t("admin.up_named", { title: row.title })}>↑</button>
                <button type="button" class="secondary" disabled=${index === rows.length - 1} onClick=${() => move(index, 1)} aria-label=${t("admin.down_named", { title: row.title })}>↓</button>
                <button type="button" class="danger" onClick=${() => remove(row)} aria-label=${t("admin.delete_named", { title: row.title })}>${t("common.delete")}</button>
              </div>
            </li>`,
          )}
        </ol>
      </div>
      ${list.data && html`<${Preview} rows=${rows} draft=${draft} />`}
    </div>
  </section>`;
}

export function AdSlots() {
  const list = useAsync(() => api("/admin/feed/ad-slots"), []);
  const blank = { slot_name: "", title: "", image_url: "", link_url: "", country: "" };
  const [values, setValues] = useState(blank);
  const set = (key) => (e) => setValues({ ...values, [key]: e.currentTarget.value });
  const create = useSubmit(async () => {
    const body = { ...values, country: values.country.trim() || null };
    const slot = await api("/admin/feed/ad-slots", { method: "POST", body });
    list.setData((old) => ({ items: [...old.items, slot] }));
    setValues(blank);
  });
  const remove = useSubmit(async (slot) => {
    await api(`/admin/feed/ad-slots/${slot.id}`, { method: "DELETE" });
    list.setData((old) => ({ items: old.items.filter((s) => s.id !== slot.id) }));
  });
  const err = create.error;
  return html`<section>
    <h1>${t("admin.slots")}</h1>
    <${AdminNav} />
    <${ErrorBox} error=${list.error || remove.error} />
    ${list.data &&
    html`<ul class="list">
      ${list.data.items.map(
        (s) => html`<li key=${s.id}>
          <strong>${s.slot_name}</strong> · ${s.title} ${s.country && html`<span class="status">${s.country}</span>`}
          <div class="muted">${s.image_url} → ${s.link_url}</div>
          <button type="button" class="danger" onClick=${() => remove.submit(s)} aria-label=${t("admin.delete_named", { title: s.slot_name })}>${t("common.delete")}</button>
        </li>`,
      )}
    </ul>`}
    <form class="narrow card plain" onSubmit=${create.submit} novalidate>
      <h2>${t("admin.new_slot")}</h2>
      <${Field} label=${t("admin.slot_name")} required value=${values.slot_name} onInput=${set("slot_name")} problem=${problemOf(err, "slot_name")} />
      <${Field} label=${t("field.title")} required value=${values.title} onInput=${set("title")} problem=${problemOf(err, "title")} />
      <${Field} label=${t("admin.image_url")} type="url" required value=${values.image_url} onInput=${set("image_url")} problem=${problemOf(err, "image_url")} />
      <${Field} label=${t("admin.link_url")} type="url" required value=${values.link_url} onInput=${set("link_url")} problem=${problemOf(err, "link_url")} />
      <${Field} label=${t("admin.country")} maxlength="2" value=${values.country} onInput=${set("country")} problem=${problemOf(err, "country")} hint=${t("admin.slot_country_hint")} />
      <${ErrorBox} error=${err} />
      <div class="actions"><button type="submit" disabled=${create.pending}>${t("common.save")}</button></div>
    </form>
  </section>`;
}
