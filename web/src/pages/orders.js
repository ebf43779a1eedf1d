// A buyer's orders: the list (paged) and one order with its lines.
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, html, Loading, Money, Pager, Status, Time, useAsync } from "../ui.js";

const PAGE_SIZE = 20;

export function Orders() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const list = useAsync(() => api(`/orders${query({ page, size: PAGE_SIZE })}`), [page]);
  const data = list.data;
  return html`<section>
    <h1>${t("nav.orders")}</h1>
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
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(p) => navigate(`/orders${query({ page: p })}`)} />`}
  </section>`;
}

export function Order({ params }) {
  const order = useAsync(() => api(`/orders/${params.id}`), [params.id]);
  const o = order.data;
  if (order.error) return html`<section><h1>${t("order.title")}</h1><${ErrorBox} error=${order.error} /></section>`;
  if (!o) return html`<${Loading} />`;
  return html`<section>
    <h1>${t("order.number", { id: o.id })}</h1>
    <p><${Status} value=${o.status} /> · <${Time} value=${o.created_at} /></p>
    <ul class="list">
      ${o.items.map(
        (line) => html`<li key=${line.item_id}>
          <a href=${`/products/${line.product_id}`}>${line.product_name}</a> — ${line.item_name}
          ${line.status && html` <${Status} value=${line.status} />`}
          <div class="muted"><${Money} value=${line.price} /> × ${line.quantity} = <${Money} value=${line.line_total ?? line.price * line.quantity} /></div>
          ${line.shipment &&
          html`<div>${t("order.shipped_with", { carrier: line.shipment.carrier, number: line.shipment.tracking_number })} <${Time} value=${line.shipment.shipped_at} /></div>`}
        </li>`,
      )}
    </ul>
    <p class="big">${t("cart.total")}: <${Money} value=${o.total} /></p>
    <p><a href="/orders">${t("order.all")}</a></p>
  </section>`;
}
