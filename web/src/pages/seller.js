// Seller center: my products with their items, price and stock (on hand, reserved,
// available); creating, editing and deleting them; the orders with my lines.
import { useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, problemOf, Status, Time, useAsync, useSubmit } from "../ui.js";
import { OrderLines, OrderSummary, StatusFilter } from "./orders.js";

function SellerNav() {
  return html`<nav class="actions" aria-label=${t("nav.seller")}>
    <a href="/seller">${t("seller.products")}</a>
    <a href="/seller/orders">${t("seller.orders")}</a>
    <a href="/seller/sales">${t("seller.sales")}</a>
    <a href="/payouts">${t("nav.payouts")}</a>
  </nav>`;
}

export function Products() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const list = useAsync(() => api(`/seller/products${query({ page, size: 20 })}`), [page]);
  const data = list.data;
  return html`<section>
    <h1>${t("nav.seller")}</h1>
    <${SellerNav} />
    <div class="actions"><button type="button" onClick=${() => navigate("/seller/products/new")}>${t("seller.new")}</button></div>
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("seller.no_products")}</p>`}
    ${data &&
    data.items.map(
      (p) => html`<div class="card plain" key=${p.id}>
        <h2><a href=${`/seller/products/${p.id}`}>${p.name}</a></h2>
        <div class="table-wrap"><table>
          <thead><tr><th>${t("field.option_name")}</th><th class="num">${t("field.price")}</th><th class="num">${t("seller.on_hand")}</th><th class="num">${t("seller.reserved")}</th><th class="num">${t("seller.available")}</th></tr></thead>
          <tbody>
            ${p.items.map(
              (i) => html`<tr key=${i.id}><td>${i.name}</td><td class="num"><${Money} value=${i.price} /></td><td class="num">${i.stock}</td><td class="num">${i.reserved ?? 0}</td><td class="num">${i.available ?? i.stock}</td></tr>`,
            )}
          </tbody>
        </table></div>
      </div>`,
    )}
    ${data && html`<${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(n) => navigate(`/seller${query({ page: n })}`)} />`}
  </section>`;
}

const blankItem = () => ({ id: null, name: "", price: "", stock: "" });

function ItemFields({ item, index, onChange, onRemove, problems }) {
  const set = (key) => (e) => onChange({ ...item, [key]: e.currentTarget.value });
  return html`<fieldset class="card plain">
    <legend>${t("seller.option_n", { n: index + 1 })}</legend>
    <div class="row">
      <${Field} label=${t("field.option_name")} required maxlength="100" value=${item.name} onInput=${set("name")} problem=${problems.name} />
      <${Field} label=${t("field.price")} type="number" min="0" required value=${item.price} onInput=${set("price")} problem=${problems.price} />
      <${Field} label=${t("field.stock")} type="number" min="0" required value=${item.stock} onInput=${set("stock")} problem=${problems.stock} />
    </div>
    ${item.reserved > 0 && html`<p class="muted">${t("seller.reserved_note", { n: item.reserved })}</p>`}
    <button type="button" class="link" onClick=${onRemove}>${t("seller.remove_option")}</button>
  </fieldset>`;
}

export function EditProduct({ params }) {
  const id = params.id ? Number(params.id) : null;
  const existing = useAsync(() => (id ? findMine(id) : Promise.resolve(null)), [id]);
  if (id && existing.error) return html`<section><h1>${t("seller.edit")}</h1><${ErrorBox} error=${existing.error} /></section>`;
  if (id && !existing.data) return html`<${Loading} />`;
  return html`<${ProductForm} product=${existing.data} />`;
}

/// The seller's own product from their list (there is no single-product seller route).
async function findMine(id) {
  for (let page = 0; ; page++) {
    const list = await api(`/seller/products${query({ page, size: 100 })}`);
    const found = list.items.find((p) => p.id === id);
    if (found) return found;
    if ((page + 1) * list.size >= list.total) throw Object.assign(new Error("Not found."), { code: "not_found" });
  }
}

function ProductForm({ product }) {
  const [name, setName] = useState(product ? product.name : "");
  const [description, setDescription] = useState(product ? product.description : "");
  const [items, setItems] = useState(product ? product.items.map((i) => ({ ...i, price: String(i.price), stock: String(i.stock) })) : [blankItem()]);
  const [removed, setRemoved] = useState([]);
  const [saved, setSaved] = useState(false);

  const save = useSubmit(async () => {
    const clean = (i) => ({ name: i.name.trim(), price: Number(i.price), stock: Number(i.stock) });
    if (!product) {
      const created = await api("/seller/products", { method: "POST", body: { name: name.trim(), description: description.trim(), items: items.map(clean) } });
      navigate(`/seller/products/${created.id}`, { replace: true });
      return;
    }
    await api(`/seller/products/${product.id}`, { method: "PATCH", body: { name: name.trim(), description: description.trim() } });
    for (const itemId of removed) await api(`/seller/products/${product.id}/items/${itemId}`, { method: "DELETE" });
    const next = [];
    for (const item of items) {
      const original = product.items.find((i) => i.id === item.id);
      const body = clean(item);
      if (!item.id) next.push(await api(`/seller/products/${product.id}/items`, { method: "POST", body }));
      else if (original && (original.name !== body.name || original.price !== body.price || original.stock !== body.stock)) {
        next.push(await api(`/seller/products/${product.id}/items/${item.id}`, { method: "PATCH", body }));
      } else next.push(original);
    }
    product.items = next;
    setItems(next.map((i) => ({ ...i, price: String(i.price), stock: String(i.stock) })));
    setRemoved([]);
    setSaved(true);
  });
  const remove = useSubmit(async () => {
    if (!confirm(t("seller.confirm_delete"))) return;
    await api(`/seller/products/${product.id}`, { method: "DELETE" });
    navigate("/seller");
  });
  const err = save.error;
  const itemProblems = (index) => ({
    name: problemOf(err, `items[${index}].name`),
    price: problemOf(err, `items[${index}].price`),
    stock: problemOf(err, `items[${index}].stock`),
  });
  return html`<section class="narrow">
    <h1>${product ? t("seller.edit") : t("seller.new")}</h1>
    <${SellerNav} />
    <form onSubmit=${save.submit} novalidate>
      <${Field} label=${t("field.product_name")} required maxlength="100" value=${name} onInput=${(e) => { setSaved(false); setName(e.currentTarget.value); }} problem=${problemOf(err, "name")} />
      <${Field} label=${t("field.description")} as="textarea" value=${description} onInput=${(e) => { setSaved(false); setDescription(e.currentTarget.value); }} problem=${problemOf(err, "description")} />
      ${items.map(
        (item, index) => html`<${ItemFields} key=${item.id || `new-${index}`} item=${item} index=${index} problems=${itemProblems(index)}
          onChange=${(next) => { setSaved(false); setItems(items.map((i, n) => (n === index ? next : i))); }}
          onRemove=${() => { if (item.id) setRemoved([...removed, item.id]); setItems(items.filter((_, n) => n !== index)); }} />`,
      )}
      <div class="actions"><button type="button" class="secondary" onClick=${() => setItems([...items, blankItem()])}>${t("seller.add_option")}</button></div>
      <${ErrorBox} error=${err} />
      ${saved && html`<${Notice} kind="ok">${t("common.saved")}<//>`}
      <div class="actions">
        <button type="submit" disabled=${save.pending}>${t("common.save")}</button>
        ${product && html`<button type="button" class="danger" onClick=${remove.submit} disabled=${remove.pending}>${t("seller.delete")}</button>`}
      </div>
      <${ErrorBox} error=${remove.error} />
    </form>
  </section>`;
}

// "Returns" in the status filter: orders with a line of mine awaiting my answer to a return
// request, filtered by the server (`?line_status=`) so that paging stays right.
const RETURNS = "returns";

export function SellerOrders() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const status = loc.query.get("status") || "";
  const line_status = loc.query.get("line_status") === "return_requested" ? "return_requested" : "";
  const filter = { status, line_status };
  const list = useAsync(() => api(`/seller/orders${query({ ...filter, page, size: 20 })}`), [page, status, line_status]);
  const data = list.data;
  const sum = (o, key) => o.items.reduce((n, l) => n + (l[key] || 0), 0);
  const choose = (s) => navigate(`/seller/orders${query(s === RETURNS ? { line_status: "return_requested" } : { status: s })}`);
  return html`<section>
    <h1>${t("seller.orders")}</h1>
    <${SellerNav} />
    <${StatusFilter} status=${line_status ? RETURNS : status} onChange=${choose} extra=${[{ value: RETURNS, label: t("seller.returns") }]} />
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("orders.none")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (o) => html`<li key=${o.id}>
          <a href=${`/seller/orders/${o.id}`}>${t("order.number", { id: o.id })}</a> <${Status} value=${o.status} /> · <${Time} value=${o.created_at} />
          <div class="muted"><${Money} value=${o.total} /> · ${t("seller.fee")} <${Money} value=${sum(o, "fee")} /> · ${t("seller.net")} <${Money} value=${sum(o, "net")} /></div>
          <ul>${o.items.map((l) => html`<li key=${l.item_id}>${l.product_name} — ${l.item_name} × ${l.quantity} <${Status} value=${l.status} /></li>`)}</ul>
        </li>`,
      )}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(n) => navigate(`/seller/orders${query({ ...filter, page: n })}`)} />`}
  </section>`;
}

/// Every confirmed line of mine, totalled: each page of the orders that have one
/// (`?line_status=confirmed`), so the totals are not those of one page.
async function confirmedTotals() {
  const totals = { n: 0, line_total: 0, fee: 0, net: 0 };
  for (let page = 0; ; page++) {
    const list = await api(`/seller/orders${query({ line_status: "confirmed", page, size: 100 })}`);
    for (const line of list.items.flatMap((o) => o.items)) {
      if (line.status !== "confirmed") continue;
      totals.n += 1;
      for (const key of ["line_total", "fee", "net"]) totals[key] += line[key] || 0;
    }
    if (list.items.length === 0 || (page + 1) * list.size >= list.total) return totals;
  }
}

/// Sales: my lines of the orders shown (a page of 50), with fee and net, and every
/// confirmed one totalled (their net is what reached my wallet as `sale`).
export function Sales() {
  const loc = useStore(location$);
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const list = useAsync(() => api(`/seller/orders${query({ page, size: 50 })}`), [page]);
  const totals = useAsync(confirmedTotals, []);
  const data = list.data;
  const sums = totals.data;
  const lines = data ? data.items.flatMap((o) => o.items.map((l) => ({ ...l, order_id: o.id }))) : [];
  return html`<section>
    <h1>${t("seller.sales")}</h1>
    <${SellerNav} />
    <${ErrorBox} error=${list.error || totals.error} />
    ${((!data && !list.error) || (!sums && !totals.error)) && html`<${Loading} />`}
    ${sums &&
    html`<div class="card">
        <div>${t("seller.sales_confirmed", { n: sums.n })}</div>
        <div>${t("cart.total")} <${Money} value=${sums.line_total} /> · ${t("seller.fee")} <${Money} value=${sums.fee} /></div>
        <p class="big">${t("seller.net")} <${Money} value=${sums.net} /></p>
      </div>`}
    ${data &&
    html`
      <div class="table-wrap"><table>
        <thead><tr><th>${t("order.title")}</th><th>${t("cart.product")}</th><th>${t("field.status")}</th><th class="num">${t("cart.line_total")}</th><th class="num">${t("seller.fee")}</th><th class="num">${t("seller.net")}</th></tr></thead>
        <tbody>
          ${lines.map(
            (l) => html`<tr key=${`${l.order_id}-${l.item_id}`}>
              <td><a href=${`/seller/orders/${l.order_id}`}>#${l.order_id}</a></td>
              <td>${l.product_name} — ${l.item_name} × ${l.quantity}</td>
              <td><${Status} value=${l.status} /></td>
              <td class="num"><${Money} value=${l.line_total} /></td>
              <td class="num"><${Money} value=${l.fee} /></td>
              <td class="num"><${Money} value=${l.net} /></td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(n) => navigate(`/seller/sales${query({ page: n })}`)} />`}
  </section>`;
}

function SellerActions({ order, onChanged }) {
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  const [cancelReason, setCancelReason] = useState("");
  const [rejectReason, setRejectReason] = useState("");
  const [restock, setRestock] = useState(true);
  const post = (path, body) => api(`/seller/orders/${order.id}/${path}`, { method: "POST", body });
  const actions = [
    {
      id: "ship",
      primary: true,
      label: t("seller.ship"),
      title: t("seller.ship_title"),
      done: t("seller.shipped_note"),
      form: html`<${Field} label=${t("field.carrier")} required maxlength="100" value=${carrier} onInput=${(e) => setCarrier(e.currentTarget.value)} />
        <${Field} label=${t("field.tracking_number")} required maxlength="100" value=${tracking} onInput=${(e) => setTracking(e.currentTarget.value)} />`,
      run: (item_ids) => post("ship", { item_ids, carrier: carrier.trim(), tracking_number: tracking.trim() }),
    },
    {
      id: "accept",
      primary: true,
      label: t("seller.accept_return"),
      done: t("seller.return_accepted"),
      form: html`<label class="check"><input type="checkbox" checked=${restock} onChange=${(e) => setRestock(e.currentTarget.checked)} /> ${t("seller.restock")}</label>`,
      run: (item_ids) => post("returns/accept", { item_ids, restock }),
    },
    {
      id: "reject",
      label: t("seller.reject_return"),
      done: t("seller.return_rejected"),
      form: html`<${Field} label=${t("field.reason")} as="textarea" required maxlength="500" value=${rejectReason} onInput=${(e) => setRejectReason(e.currentTarget.value)} />`,
      run: (item_ids) => post("returns/reject", { item_ids, reason: rejectReason.trim() }),
    },
    {
      id: "seller_cancel",
      danger: true,
      label: t("order.cancel"),
      title: t("order.cancel_title"),
      submit: t("order.cancel_submit"),
      done: t("order.cancelled_note"),
      form: html`<${Field} label=${t("field.reason")} as="textarea" required maxlength="500" value=${cancelReason} onInput=${(e) => setCancelReason(e.currentTarget.value)} />`,
      run: (item_ids) => post("cancel", { item_ids, reason: cancelReason.trim() }),
    },
  ];
  return html`<${OrderLines} order=${order} actions=${actions} onChanged=${onChanged} />`;
}

export function SellerOrder({ params }) {
  const order = useAsync(() => api(`/seller/orders/${params.id}`), [params.id]);
  const o = order.data;
  if (order.error) return html`<section><h1>${t("order.title")}</h1><${SellerNav} /><${ErrorBox} error=${order.error} /></section>`;
  if (!o) return html`<${Loading} />`;
  return html`<section>
    <${SellerNav} />
    <${OrderSummary} order=${o} />
    <${SellerActions} order=${o} onChanged=${order.setData} />
    <p><a href="/seller/orders">${t("seller.orders")}</a></p>
  </section>`;
}
