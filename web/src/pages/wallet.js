// The wallet: balance, charging points, and the ledger with endless scrolling.
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, newKey, query } from "../api.js";
import { t } from "../i18n.js";
import { money } from "../format.js";
import { location$ } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, problemOf, Sentinel, Time, useAsync, useSubmit } from "../ui.js";

const PAGE = 30;

function Ledger({ version }) {
  const [entries, setEntries] = useState([]);
  const [next, setNext] = useState(undefined); // undefined: not loaded; null: the end
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setEntries([]);
    setNext(undefined);
  }, [version]);
  const more = useCallback(async () => {
    if (busy || next === null) return;
    setBusy(true);
    try {
      const page = await api(`/wallet/entries${query({ limit: PAGE, before: next })}`);
      setEntries((old) => (next === undefined ? page.items : [...old, ...page.items]));
      setNext(page.next_before ?? null);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, [busy, next]);
  useEffect(() => {
    if (next === undefined && !busy) more();
  }, [next, busy]);
  return html`<section aria-labelledby="ledger-title">
    <h2 id="ledger-title">${t("wallet.ledger")}</h2>
    <${ErrorBox} error=${error} />
    ${entries.length === 0 && next === null && html`<p class="muted">${t("wallet.no_entries")}</p>`}
    <ul class="list">
      ${entries.map(
        (e) => html`<li key=${e.id}>
          <strong>${t(`kind.${e.kind}`)}</strong> <span class="money">${e.amount > 0 ? "+" : ""}${money(e.amount)}</span>
          <div class="muted"><${Time} value=${e.created_at} /> · ${t("wallet.after", { balance: money(e.balance_after) })}</div>
        </li>`,
      )}
    </ul>
    ${busy && html`<${Loading} />`}
    ${next !== null && next !== undefined && !error && html`<${Sentinel} onVisible=${more} />`}
  </section>`;
}

export function Wallet() {
  const loc = useStore(location$);
  const back = loc.query.get("next");
  const [amount, setAmount] = useState(loc.query.get("amount") || "");
  const [key, setKey] = useState(newKey);
  const [charged, setCharged] = useState(null);
  const [version, setVersion] = useState(0);
  const wallet = useAsync(() => api("/wallet"), [version]);
  const charge = useSubmit(async () => {
    const result = await api("/wallet/charges", { method: "POST", body: { amount: Number(amount) }, key });
    setCharged(result);
    setKey(newKey());
    setAmount("");
    setVersion((v) => v + 1);
  });
  return html`<section>
    <h1>${t("nav.wallet")}</h1>
    <div class="card">
      ${wallet.data ? html`<p class="big" id="balance">${t("wallet.balance")} <${Money} value=${wallet.data.balance} /></p>` : html`<${Loading} />`}
      <${ErrorBox} error=${wallet.error} />
    </div>
    <form class="narrow" onSubmit=${charge.submit} novalidate>
      <h2>${t("wallet.charge_title")}</h2>
      <${Field} label=${t("field.amount")} type="number" min="1" step="1" inputmode="numeric" required value=${amount}
        onInput=${(e) => { setAmount(e.currentTarget.value); setKey(newKey()); }} problem=${problemOf(charge.error, "amount")} />
      <${ErrorBox} error=${charge.error} />
      ${charged && charged.status === "confirmed" && html`<${Notice} kind="ok">${t("wallet.charged", { amount: money(charged.amount) })}<//>`}
      ${charged && charged.status === "pending" && html`<${Notice}>${t("wallet.pending")}<//>`}
      ${charged && back && back.startsWith("/") && !back.startsWith("//") && html`<p><a href=${back}>${t("wallet.back")}</a></p>`}
      <div class="actions"><button type="submit" disabled=${charge.pending}>${t("wallet.charge")}</button></div>
    </form>
    <${Ledger} version=${version} />
  </section>`;
}
