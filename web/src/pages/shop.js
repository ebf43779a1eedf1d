// Buying: search with paging, the product page, the cart and checking out.
import { useEffect, useState } from "preact/hooks";
import { api, newKey, query } from "../api.js";
import { t } from "../i18n.js";
import { money } from "../format.js";
import { here, location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, useAsync, useSubmit } from "../ui.js";
import { ReportButton } from "./report.js";

const PAGE_SIZE = 20;

export function Search() {
  const loc = useStore(location$);
  const q = loc.query.get("q") || "";
  const page = Math.max(0, Number(loc.query.get("page")) || 0);
  const result = useAsync(() => api(`/products${query({ q, page, size: PAGE_SIZE })}`, { auth: "optional" }), [q, page]);
  const data = result.data;
  return html`<section>
    <h1>${q ? t("search.results_for", { q }) : t("search.title")}</h1>
    <${ErrorBox} error=${result.error} />
    ${result.loading && !data && html`<${Loading} />`}
    ${data && html`<p class="muted" role="status">${t("search.count", { n: data.total })}</p>`}
    ${data &&
    html`<div class="grid">
      ${data.items.map(
        (p) => html`<a class="tile" href=${`/products/${p.id}`}>
          <h2>${p.name}</h2>
          <div>${p.min_price === null ? "—" : money(p.min_price)}</div>
          ${!p.in_stock && html`<div class="muted">${t("product.sold_out")}</div>`}
        </a>`,
      )}
    </div>`}
    ${data && html`<${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${(p) => navigate(`/search${query({ q, page: p })}`)} />`}
  </section>`;
}

export function Product({ params, account }) {
  const product = useAsync(() => api(`/products/${params.id}`, { auth: "optional" }), [params.id]);
  const [itemId, setItemId] = useState(null);
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState(null);
  const seller = useAsync(
    () => (account && product.data ? api(`/accounts/${product.data.seller_id}`) : Promise.resolve(null)),
    [account && account.id, product.data && product.data.seller_id],
  );
  const p = product.data;
  // `available` (stock − reserved) is what can be bought; an older server sends only `stock`.
  const items = p ? p.items.map((i) => ({ ...i, available: i.available ?? i.stock })) : [];
  const selected = items.find((i) => i.id === itemId) || items.find((i) => i.available > 0) || items[0];

  const add = useSubmit(async () => {
    if (!account) return navigate(`/login?next=${encodeURIComponent(here())}`);
    const cart = await api("/cart/items", { method: "POST", body: { product_id: p.id, item_id: selected.id, quantity: Number(quantity) } });
    setAdded(cart);
    return cart;
  });
  const ask = useSubmit(async () => {
    if (!account) return navigate(`/login?next=${encodeURIComponent(here())}`);
    const room = await api("/chat/rooms/direct", { method: "POST", body: { user_id: p.seller_id } });
    navigate(`/chat/${room.id}`);
    return room;
  });

  if (product.error) return html`<${ErrorBox} error=${product.error} />`;
  if (!p) return html`<${Loading} />`;
  const mine = account && account.id === p.seller_id;
  const canBuy = !account || account.role === "customer";
  return html`<article>
    <h1>${p.name}</h1>
    ${seller.data && html`<p class="muted">${t("product.sold_by", { name: seller.data.name })}</p>`}
    <p>${p.description}</p>
    <form class="narrow" onSubmit=${add.submit}>
      <fieldset class="card plain">
        <legend>${t("product.option")}</legend>
        ${items.map(
          (item) => html`<label class="check">
            <input type="radio" name="item" value=${item.id} checked=${selected && selected.id === item.id} disabled=${item.available <= 0}
              aria-label=${`${t("product.option")}: ${item.name}`} onChange=${() => setItemId(item.id)} />
            <span>${item.name} · <${Money} value=${item.price} /> · ${item.available > 0 ? t("product.available", { n: item.available }) : t("product.sold_out")}</span>
          </label>`,
        )}
      </fieldset>
      ${canBuy &&
      html`<${Field} label=${t("product.quantity")} type="number" min="1" max=${selected ? Math.max(1, selected.available) : 1} value=${quantity}
          onInput=${(e) => setQuantity(e.currentTarget.value)} />
        <${ErrorBox} error=${add.error} />
        ${added && html`<${Notice} kind="ok">${t("product.added")} <a href="/cart">${t("product.go_to_cart")}</a><//>`}
        ${added && added.messages && added.messages.map((m) => html`<${Notice}>${m}<//>`)}
        <div class="actions">
          <button type="submit" disabled=${add.pending || !selected || selected.available <= 0}>${t("product.add_to_cart")}</button>
        </div>`}
    </form>
    ${!mine &&
    html`<div class="actions">
      <button type="button" class="secondary" onClick=${ask.submit} disabled=${ask.pending}>${t("product.ask_seller")}</button>
    </div>
    <${ErrorBox} error=${ask.error} />`}
    ${account && !mine && html`<${ReportButton} targetType="product" targetId=${p.id} label=${t("product.report")} />`}
  </article>`;
}

export function Cart() {
  const [cart, setCart] = useState(null);
  const [error, setError] = useState(null);
  // Reconciliation messages arrive once, with the first cart response after a change.
  const [messages, setMessages] = useState([]);
  const [key, setKey] = useState(newKey);
  const [short, setShort] = useState(null);

  const show = (next) => {
    setCart(next);
    if (next.messages && next.messages.length) setMessages(next.messages);
    setKey(newKey());
  };
  useEffect(() => {
    api("/cart").then(show, setError);
  }, []);

  const change = async (path, options) => {
    setError(null);
    try {
      show(await api(path, options));
    } catch (e) {
      setError(e);
    }
  };
  const checkout = useSubmit(async () => {
    setShort(null);
    try {
      const order = await api("/orders", { method: "POST", body: { expected_total: cart.total }, key });
      navigate(`/orders/${order.id}`);
    } catch (e) {
      if (e.code === "cart_changed") {
        setMessages(e.details.messages || []);
        show(await api("/cart"));
      } else if (e.code === "insufficient_balance") {
        const wallet = await api("/wallet");
        setShort(Math.max(1, cart.total - wallet.balance));
      }
      throw e;
    }
  });

  if (!cart) return html`<section><h1>${t("nav.cart")}</h1><${ErrorBox} error=${error} />${!error && html`<${Loading} />`}</section>`;
  return html`<section>
    <h1>${t("nav.cart")}</h1>
    ${messages.map((m) => html`<${Notice}>${m}<//>`)}
    <${ErrorBox} error=${error} />
    ${cart.items.length === 0
      ? html`<p>${t("cart.empty")} <a href="/search">${t("cart.browse")}</a></p>`
      : html`<div class="table-wrap"><table>
          <thead><tr><th>${t("cart.product")}</th><th class="num">${t("cart.price")}</th><th>${t("product.quantity")}</th><th class="num">${t("cart.line_total")}</th><th><span class="visually-hidden">${t("common.actions")}</span></th></tr></thead>
          <tbody>
            ${cart.items.map(
              (line) => html`<tr key=${line.item_id}>
                <td><a href=${`/products/${line.product_id}`}>${line.product_name}</a><div class="muted">${line.item_name}</div></td>
                <td class="num"><${Money} value=${line.price} /></td>
                <td><input type="number" min="0" class="qty" value=${line.quantity} aria-label=${t("cart.quantity_of", { name: `${line.product_name} ${line.item_name}` })}
                  onChange=${(e) => change(`/cart/items/${line.item_id}`, { method: "PATCH", body: { quantity: Number(e.currentTarget.value) } })} /></td>
                <td class="num"><${Money} value=${line.line_total} /></td>
                <td><button type="button" class="link" aria-label=${t("cart.remove_of", { name: `${line.product_name} ${line.item_name}` })}
                  onClick=${() => change(`/cart/items/${line.item_id}`, { method: "DELETE" })}>${t("cart.remove")}</button></td>
              </tr>`,
            )}
          </tbody>
        </table></div>
        <p class="big">${t("cart.total")}: <${Money} value=${cart.total} /></p>
        <${ErrorBox} error=${checkout.error} />
        ${short !== null &&
        html`<p><a class="button secondary" href=${`/wallet${query({ amount: short, next: "/cart" })}`}>${t("cart.charge_short", { amount: money(short) })}</a></p>`}
        <div class="actions"><button type="button" onClick=${checkout.submit} disabled=${checkout.pending}>${t("cart.checkout")}</button></div>`}
  </section>`;
}
