// Orders: a buyer's list (paged, by status) and one order with its lines, their statuses
// and shipments, and the buyer's actions (cancel, confirm purchase, request return). The
// line list with its selection and action panels is shared with the seller's and the
// admin's order pages (seller.js, admin.js).
import { useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, Status, Time, useAsync, useSubmit } from "../ui.js";

const PAGE_SIZE = 20;
export const ORDER_STATUSES = ["paid", "in_progress", "completed", "cancelled"];

/// The order status filter (`?status=`), shared by the buyer's and the seller's lists;
/// `extra` adds choices of the caller's own (`[{value, label}]`).
export function StatusFilter({ status, onChange, extra = [] }) {
  return html`<div class="narrow">
    <${Field} label=${t("field.status")} as="select" value=${status} onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">${t("orders.all_statuses")}</option>
      ${ORDER_STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
      ${extra.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    <//>
  </div>`;
}

export function Orders() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const status = loc.query.get("status") || "";
  const list = useAsync(() => api(`/orders${query({ status, page, size: PAGE_SIZE })}`), [page, status]);
  const data = list.data;
  return html`<section>
    <h1>${t("nav.orders")}</h1>
    <${StatusFilter} status=${status} onChange=${(s) => navigate(`/orders${query({ status: s })}`)} />
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p>${t("orders.none")} <a href="/search">${t("cart.browse")}</a></p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (o) => html`<li key=${o.id}>
          <a href=${`/orders/${o.id}`}>${t("order.number", { id: o.id })}</a> <${Status} value=${o.status} />
          <div class="muted"><${Time} value=${o.created_at} /> · ${t("orders.lines", { n: o.items.length })} · <${Money} value=${o.total} /></div>
        </li>`,
      )}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(p) => navigate(`/orders${query({ status, page: p })}`)} />`}
  </section>`;
}

/// Which line statuses each action applies to (API.md, "Line status").
export const APPLIES = {
  cancel: ["paid"],
  confirm: ["shipped"],
  return: ["shipped"],
  ship: ["paid"],
  seller_cancel: ["paid"],
  accept: ["return_requested"],
  reject: ["return_requested"],
  refund: ["paid", "shipped", "return_requested"],
};

/// One line: product, option, quantity, money (with fee and net in the seller's view),
/// status and shipment; a checkbox selects it for the actions when `selectable`.
function Line({ line, selectable, selected, onSelect }) {
  const label = `${line.product_name} — ${line.item_name}`;
  return html`<li>
    ${selectable &&
    html`<label class="check"><input type="checkbox" checked=${selected} onChange=${(e) => onSelect(e.currentTarget.checked)} />
      <span class="visually-hidden">${t("order.select_line", { name: label })}</span></label>`}
    <div class="grow">
      <a href=${`/products/${line.product_id}`}>${line.product_name}</a> — ${line.item_name} <${Status} value=${line.status} />
      <div class="muted"><${Money} value=${line.price} /> × ${line.quantity} = <${Money} value=${line.line_total} /></div>
      ${line.fee !== undefined &&
      html`<div class="muted">${t("seller.fee")} <${Money} value=${line.fee} /> · ${t("seller.net")} <strong><${Money} value=${line.net} /></strong></div>`}
      ${line.shipment &&
      html`<div class="shipment">${t("order.shipped_with", { carrier: line.shipment.carrier, number: line.shipment.tracking_number })} · <${Time} value=${line.shipment.shipped_at} /></div>`}
    </div>
  </li>`;
}

/// The lines of an order with a selection (every line selected at first) and the actions
/// given: `[{id, label, run(itemIds), form?}]`. An action's button shows when a selected
/// line is in a status it applies to; `form` is rendered in a panel first (reason fields).
export function OrderLines({ order, actions, onChanged }) {
  const [picked, setPicked] = useState(() => new Set(order.items.map((l) => l.item_id)));
  const [open, setOpen] = useState(null);
  const [done, setDone] = useState(null);
  const actionable = (line) => actions.some((a) => APPLIES[a.applies || a.id].includes(line.status));
  // A choice only when more than one line can still change.
  const selectable = order.items.filter(actionable).length > 1;
  const eligible = (action) => order.items.filter((l) => picked.has(l.item_id) && APPLIES[action.applies || action.id].includes(l.status));
  const run = useSubmit(async (action) => {
    const lines = eligible(action);
    const all = order.items.filter((l) => APPLIES[action.applies || action.id].includes(l.status));
    // Every line it applies to: leave item_ids out (the server's "every line of mine").
    const itemIds = lines.length === all.length ? undefined : lines.map((l) => l.item_id);
    const updated = await action.run(itemIds);
    setOpen(null);
    setDone(action.done);
    onChanged(updated);
  });
  const available = actions.filter((a) => eligible(a).length > 0);
  const current = open && actions.find((a) => a.id === open);
  return html`<div>
    <ul class="list lines">
      ${order.items.map(
        (line) => html`<${Line} key=${line.item_id} line=${line} selectable=${selectable && actionable(line)} selected=${picked.has(line.item_id)}
          onSelect=${(on) => {
            const next = new Set(picked);
            if (on) next.add(line.item_id);
            else next.delete(line.item_id);
            setPicked(next);
          }} />`,
      )}
    </ul>
    ${done && html`<${Notice} kind="ok">${done}<//>`}
    ${current
      ? html`<form class="card plain narrow" onSubmit=${(e) => { e.preventDefault(); run.submit(current); }} novalidate aria-labelledby="action-title">
          <h2 id="action-title">${current.title || current.label}</h2>
          <p class="muted">${t("order.applies_to", { n: eligible(current).length })}</p>
          ${current.form}
          <${ErrorBox} error=${run.error} />
          <div class="actions">
            <button type="submit" class=${current.danger ? "danger" : undefined} disabled=${run.pending}>${current.submit || current.label}</button>
            <button type="button" class="secondary" onClick=${() => setOpen(null)}>${t("common.back")}</button>
          </div>
        </form>`
      : html`${available.length > 0 &&
        html`<div class="actions">
          ${available.map(
            (a) => html`<button type="button" class=${a.danger ? "danger" : a.primary ? undefined : "secondary"} disabled=${run.pending}
              onClick=${() => (a.form ? (setDone(null), setOpen(a.id)) : (setDone(null), run.submit(a)))}>${a.label}</button>`,
          )}
        </div>`}
        <${ErrorBox} error=${run.error} />`}
  </div>`;
}

function BuyerActions({ order, onChanged }) {
  const [cancelReason, setCancelReason] = useState("");
  const [returnReason, setReturnReason] = useState("");
  const post = (path, body) => api(`/orders/${order.id}/${path}`, { method: "POST", body });
  const actions = [
    {
      id: "confirm",
      primary: true,
      label: t("order.confirm"),
      done: t("order.confirmed_note"),
      run: (item_ids) => post("confirm", { item_ids }),
    },
    {
      id: "return",
      label: t("order.request_return"),
      submit: t("order.send_return"),
      done: t("order.return_sent"),
      form: html`<${Field} label=${t("field.reason")} as="textarea" required maxlength="500" value=${returnReason} onInput=${(e) => setReturnReason(e.currentTarget.value)} />`,
      run: (item_ids) => post("returns", { item_ids, reason: returnReason.trim() }),
    },
    {
      id: "cancel",
      danger: true,
      label: t("order.cancel"),
      title: t("order.cancel_title"),
      submit: t("order.cancel_submit"),
      done: t("order.cancelled_note"),
      form: html`<${Field} label=${t("field.reason_optional")} as="textarea" maxlength="500" value=${cancelReason} onInput=${(e) => setCancelReason(e.currentTarget.value)} />`,
      run: (item_ids) => post("cancel", { item_ids, reason: cancelReason.trim() || undefined }),
    },
  ];
  return html`<${OrderLines} order=${order} actions=${actions} onChanged=${onChanged} />`;
}

/// The header of an order page: number, derived status, dates and total.
export function OrderSummary({ order }) {
  return html`<div>
    <h1>${t("order.number", { id: order.id })}</h1>
    <p><${Status} value=${order.status} /> · <${Time} value=${order.created_at} />
      ${order.updated_at && order.updated_at !== order.created_at && html` · ${t("order.updated")} <${Time} value=${order.updated_at} />`}</p>
    <p class="big">${t("cart.total")}: <${Money} value=${order.total} /></p>
  </div>`;
}

export function Order({ params }) {
  const order = useAsync(() => api(`/orders/${params.id}`), [params.id]);
  const o = order.data;
  if (order.error) return html`<section><h1>${t("order.title")}</h1><${ErrorBox} error=${order.error} /></section>`;
  if (!o) return html`<${Loading} />`;
  return html`<section>
    <${OrderSummary} order=${o} />
    <${BuyerActions} order=${o} onChanged=${order.setData} />
    <p><a href="/orders">${t("order.all")}</a></p>
  </section>`;
}
