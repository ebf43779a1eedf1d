// Notifications: the inbox (newest first, endless scrolling, unread only on demand), new
// ones arriving live, marking one or all read; opening one marks it read and goes to its
// `link`, the app page of its subject (`/orders/7`, `/chat/3`, …). Settings: the kinds muted
// (still kept in the inbox, but neither pushed nor counted unread).
import { useEffect, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { onNotification, recount, unread } from "../notify.js";
import { navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, html, Loading, Notice, Sentinel, Time, useAsync, useCursorList, useSubmit } from "../ui.js";

const PAGE = 30;

/// Only paths of this app are followed (a link is data from the server).
function appPath(link) {
  return typeof link === "string" && link.startsWith("/") && !link.startsWith("//") ? link : null;
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
      ${items.map(
        (n) => html`<li key=${n.id} class=${n.read ? "read" : "unread"}>
          <div class="grow">
            ${!n.read && html`<span class="dot" aria-hidden="true"></span><span class="visually-hidden">${t("notifications.unread")}</span>`}
            ${appPath(n.link)
              ? html`<a href=${n.link} onClick=${(e) => { e.preventDefault(); open.submit(n); }}><strong>${n.title}</strong></a>`
              : html`<strong>${n.title}</strong>`}
            ${n.body && html`<div>${n.body}</div>`}
            <div class="muted"><${Time} value=${n.created_at} /></div>
          </div>
          ${!n.read && html`<button type="button" class="link" onClick=${() => one.submit(n)} aria-label=${t("notifications.read_named", { title: n.title })}>${t("notifications.mark_read")}</button>`}
        </li>`,
      )}
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
