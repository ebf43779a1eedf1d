// Notifications: the inbox (newest first, endless scrolling, unread only on demand), new
// ones arriving live, marking one or all read; opening one marks it read and goes to its
// `link`, the app page of its subject (`/orders/7`, `/chat/3`, …). Settings: the kinds muted
// (still kept in the inbox, but neither pushed nor counted unread).
import { useEffect, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { money, time } from "../format.js";
import { onNotification, recount, unread } from "../notify.js";
import { navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, html, Loading, Notice, Sentinel, Time, useAsync, useCursorList, useSubmit } from "../ui.js";

const PAGE = 30;

/// Only paths of this app are followed (a link is data from the server).
function appPath(link) {
  return typeof link === "string" && link.startsWith("/") && !link.startsWith("//") ? link : null;
}

// A missing value stays `undefined`, so that `say` falls back to the server's text.
const points = (v) => (typeof v === "number" ? money(v) : undefined);
const quoted = (d) => {
  if (typeof d.product_name !== "string" || typeof d.quantity !== "number") return undefined;
  return d.quantity === 1 ? t("notify_line.one", { product: d.product_name }) : t("notify_line.many", { n: d.quantity, product: d.product_name });
};
const decided = (d) => (["succeeded", "failed", "rejected"].includes(d.status) ? d.status : null);

// What each kind says, from its `data` (docs/api.md, Notifications): the title's and the
// body's catalog key and the values they need. A kind not listed, or `data` lacking a value,
// keeps the server's (English) text.
const TEXTS = {
  order_placed: (d) => ({ title: ["order_placed"], body: ["order_placed", { order: d.order_id }] }),
  order_cancelled: (d, n) => ({
    title: ["order_cancelled"],
    // The seller hears who cancelled only when it was the buyer (an admin's cancel reaches both).
    body: [n.link.startsWith("/seller/") && d.by === "buyer" ? "order_cancelled.seller" : "order_cancelled", { line: quoted(d), order: d.order_id }],
  }),
  order_shipped: (d) => ({ title: ["order_shipped"], body: ["order_shipped", { line: quoted(d), order: d.order_id, carrier: d.carrier, tracking: d.tracking_number }] }),
  order_refunded: (d) => ({ title: ["order_refunded"], body: ["order_refunded", { amount: points(d.refunded), order: d.order_id }] }),
  return_requested: (d) => ({ title: ["return_requested"], body: ["return_requested", { line: quoted(d), order: d.order_id }] }),
  return_rejected: (d) => ({ title: ["return_rejected"], body: ["return_rejected", { line: quoted(d), order: d.order_id }] }),
  sale_confirmed: (d) => ({ title: ["sale_confirmed"], body: ["sale_confirmed", { amount: points(d.net), order: d.order_id }] }),
  charge_confirmed: (d) => ({ title: ["charge_confirmed"], body: ["charge_confirmed", { amount: points(d.amount) }] }),
  charge_refunded: (d) => ({ title: ["charge_refunded"], body: ["charge_refunded", { amount: points(d.amount) }] }),
  payout_paid: (d) => ({ title: ["payout_paid"], body: ["payout_paid", { amount: points(d.amount) }] }),
  payout_failed: (d) => ({ title: ["payout_failed"], body: ["payout_failed", { amount: points(d.amount) }] }),
  mission_created: (d) => ({ title: ["mission_created"], body: ["mission_created", { title: d.title, amount: points(d.stake) }] }),
  mission_contribution: (d) => ({ title: ["mission_contribution"], body: ["mission_contribution", { title: d.title, amount: points(d.amount) }] }),
  mission_decided: (d) =>
    decided(d) && {
      title: [`mission_decided.${d.status}`],
      body: [`mission_decided.${d.status}`, { title: d.title, amount: points(d.status === "succeeded" ? d.pool : d.refunded) }],
    },
  mission_expired: (d) => ({ title: ["mission_expired"], body: ["mission_expired", { title: d.title, amount: points(d.refunded) }] }),
  // Older notifications lack `room_name`: they keep the server's title.
  chat_message: (d) => "room_name" in d && { title: d.room_name ? ["chat_message.room", { room: d.room_name }] : ["chat_message"], body: null },
  report_resolved: (d) => ["dismiss", "hide", "suspend"].includes(d.action) && { title: ["report_resolved"], body: [`report_resolved.${d.action}`] },
  account_suspended: (d) => ({
    title: ["account_suspended"],
    body: d.until ? ["account_suspended.until", { reason: d.reason, until: time(d.until) }] : ["account_suspended", { reason: d.reason }],
  }),
};

/// `[key, params]` under `prefix` in the reader's language, or `fallback` when a value is missing.
function say(prefix, spec, fallback) {
  if (!spec) return fallback;
  const [key, params = {}] = spec;
  if (Object.values(params).some((v) => v === undefined || v === null || Number.isNaN(v))) return fallback;
  return t(`${prefix}.${key}`, params);
}

/// A notification's title and body in the reader's language, from its `kind` and `data`;
/// both stay the server's unless both can be written (the seed's demo notifications, say,
/// carry their own texts and no data).
export function notificationText(n) {
  const server = { title: n.title, body: n.body };
  const make = TEXTS[n.kind];
  const spec = make && n.data && typeof n.data === "object" ? make(n.data, { link: n.link || "" }) : null;
  if (!spec) return server;
  const title = say("notify_title", spec.title, null);
  const body = spec.body ? say("notify_body", spec.body, null) : n.body;
  return title === null || body === null ? server : { title, body };
}

export function Notifications() {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const { items, setItems, next, busy, error, more } = useCursorList(
    (before) => api(`/notifications${query({ limit: PAGE, before, unread: unreadOnly ? "true" : undefined })}`),
    [unreadOnly],
  );
  // A live notification is new or replaces one (a room's chat notification is updated in place).
  useEffect(() => onNotification((n) => setItems((old) => [n, ...old.filter((o) => o.id !== n.id)])), []);

  const markRead = async (ids) => {
    await api("/notifications/read", { method: "POST", body: ids ? { ids } : { all: true } });
    setItems((old) => (unreadOnly ? old.filter((n) => ids && !ids.includes(n.id)) : old.map((n) => (!ids || ids.includes(n.id) ? { ...n, read: true } : n))));
    recount();
  };
  const all = useSubmit(() => markRead(null));
  const one = useSubmit((n) => markRead([n.id]));
  const open = useSubmit(async (n) => {
    if (!n.read) await markRead([n.id]);
    const path = appPath(n.link);
    if (path) navigate(path);
  });
  // The bell's count is the server's: unread ones may sit beyond the loaded page.
  const bellCount = useStore(unread);
  const unreadCount = Math.max(items.filter((n) => !n.read).length, bellCount);

  return html`<section>
    <h1>${t("nav.notifications")}</h1>
    <div class="actions">
      <label class="check"><input type="checkbox" checked=${unreadOnly} onChange=${(e) => setUnreadOnly(e.currentTarget.checked)} /> ${t("notifications.unread_only")}</label>
      <button type="button" class="secondary" onClick=${all.submit} disabled=${all.pending || unreadCount === 0}>${t("notifications.read_all")}</button>
      <a href="/notifications/settings">${t("notifications.settings")}</a>
    </div>
    <${ErrorBox} error=${error || all.error || one.error || open.error} />
    ${items.length === 0 && next === null && html`<p class="muted">${t("notifications.none")}</p>`}
    <ul class="list notifications" aria-live="polite">
      ${items.map((n) => {
        const { title, body } = notificationText(n);
        return html`<li key=${n.id} class=${n.read ? "read" : "unread"}>
          <div class="grow">
            ${!n.read && html`<span class="dot" aria-hidden="true"></span><span class="visually-hidden">${t("notifications.unread")}</span>`}
            ${appPath(n.link)
              ? html`<a href=${n.link} onClick=${(e) => { e.preventDefault(); open.submit(n); }}><strong>${title}</strong></a>`
              : html`<strong>${title}</strong>`}
            ${body && html`<div>${body}</div>`}
            <div class="muted"><${Time} value=${n.created_at} /></div>
          </div>
          ${!n.read && html`<button type="button" class="link" onClick=${() => one.submit(n)} aria-label=${t("notifications.read_named", { title })}>${t("notifications.mark_read")}</button>`}
        </li>`;
      })}
    </ul>
    ${busy && html`<${Loading} />`}
    ${next !== null && next !== undefined && !error && html`<${Sentinel} onVisible=${more} />`}
  </section>`;
}

/// Every kind the server sends (docs/api.md, Notifications), in the order the settings list them.
const KINDS = [
  "order_placed", "order_cancelled", "order_shipped", "order_refunded", "return_requested", "return_rejected",
  "sale_confirmed", "charge_confirmed", "charge_refunded", "payout_paid", "payout_failed", "mission_created",
  "mission_contribution", "mission_decided", "mission_expired", "chat_message", "report_resolved", "account_suspended",
];

export function NotificationSettings() {
  const saved = useAsync(() => api("/notifications/preferences"), []);
  const [muted, setMuted] = useState(null); // null: as saved
  const [done, setDone] = useState(false);
  const current = muted ?? saved.data?.muted_kinds ?? [];
  const toggle = (kind, on) => {
    setDone(false);
    setMuted(on ? current.filter((k) => k !== kind) : [...new Set([...current, kind])]);
  };
  const save = useSubmit(async (e) => {
    const answer = await api("/notifications/preferences", { method: "PUT", body: { muted_kinds: current } });
    setMuted(answer.muted_kinds);
    setDone(true);
    recount();
  });

  return html`<section>
    <h1>${t("notifications.settings")}</h1>
    <p><a href="/notifications">${t("notifications.back")}</a></p>
    ${saved.loading && html`<${Loading} />`}
    <${ErrorBox} error=${saved.error || save.error} />
    ${saved.data &&
    html`<form onSubmit=${save.submit}>
      <fieldset>
        <legend>${t("notifications.kinds_legend")}</legend>
        <p class="muted">${t("notifications.kinds_hint")}</p>
        ${KINDS.map(
          (kind) => html`<label class="check" key=${kind}>
            <input type="checkbox" name=${kind} checked=${!current.includes(kind)} onChange=${(e) => toggle(kind, e.currentTarget.checked)} />
            ${t(`notify_kind.${kind}`)}
          </label>`,
        )}
      </fieldset>
      <button type="submit" disabled=${save.pending}>${t("notifications.save")}</button>
      ${done && html`<${Notice} kind="ok">${t("notifications.saved")}<//>`}
    </form>`}
  </section>`;
}
