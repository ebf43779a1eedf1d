// The wallet: balance, charging points, the ledger with endless scrolling, and refunding a
// charge's unused points to the card (from its ledger entry: the API lists charges only there).
import { useState } from "preact/hooks";
import { api, newKey, query } from "../api.js";
import { t } from "../i18n.js";
import { money } from "../format.js";
import { location$ } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Loading, Money, Notice, problemOf, Sentinel, Time, useAsync, useCursorList, useSubmit } from "../ui.js";

const PAGE = 30;

/// What a ledger entry's `reference` points at: `charge:7`, `order:12`, `mission:3`.
function subject(reference) {
  const found = /^(charge|order|mission|payout):(\d+)$/.exec(reference || "");
  return found ? { type: found[1], id: Number(found[2]) } : null;
}

function subjectLink(reference, role) {
  const s = subject(reference);
  if (!s) return null;
  if (s.type === "order") return html` · <a href=${role === "seller" ? `/seller/orders/${s.id}` : `/orders/${s.id}`}>${t("order.number", { id: s.id })}</a>`;
  if (s.type === "mission") return html` · <a href=${`/missions/${s.id}`}>${t("mission.number", { id: s.id })}</a>`;
  if (s.type === "charge") return html` · ${t("wallet.charge_number", { id: s.id })}`;
  return null;
}

function RefundCharge({ chargeId, amount, onDone }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [key, setKey] = useState(newKey);
  const refund = useSubmit(async () => {
    const body = value.trim() ? { amount: Number(value) } : {};
    const charge = await api(`/wallet/charges/${chargeId}/refund`, { method: "POST", body, key });
    setKey(newKey());
    setOpen(false);
    onDone(charge);
  });
  if (!open) {
    return html`<button type="button" class="link" onClick=${() => setOpen(true)} aria-label=${t("wallet.refund_named", { id: chargeId, amount: money(amount) })}>${t("wallet.refund")}</button>`;
  }
  return html`<form class="card plain narrow" onSubmit=${refund.submit} novalidate>
    <${Field} label=${t("wallet.refund_amount")} type="number" min="1" step="1" inputmode="numeric" value=${value} hint=${t("wallet.refund_hint")}
      onInput=${(e) => { setValue(e.currentTarget.value); setKey(newKey()); }} problem=${problemOf(refund.error, "amount")} />
    <${ErrorBox} error=${refund.error} />
    <div class="actions">
      <button type="submit" disabled=${refund.pending}>${t("wallet.refund_submit")}</button>
      <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("common.back")}</button>
    </div>
  </form>`;
}

// `onRefunded` reports to the page: this list is reloaded after a refund, so a notice kept in
// a row would vanish with the row.
function Ledger({ version, onRefunded, role }) {
  const { items: entries, next, busy, error, more } = useCursorList(
    (before) => api(`/wallet/entries${query({ limit: PAGE, before })}`),
    [version],
  );
  return html`<section aria-labelledby="ledger-title">
    <h2 id="ledger-title">${t("wallet.ledger")}</h2>
    <${ErrorBox} error=${error} />
    ${entries.length === 0 && next === null && html`<p class="muted">${t("wallet.no_entries")}</p>`}
    <ul class="list">
      ${entries.map(
        (e) => html`<li key=${e.id}>
          <strong>${t(`kind.${e.kind}`)}</strong> <span class="money">${e.amount > 0 ? "+" : ""}${money(e.amount)}</span>
          <div class="muted"><${Time} value=${e.created_at} /> · ${t("wallet.after", { balance: money(e.balance_after) })}
            ${subjectLink(e.reference, role)}</div>
          ${e.kind === "charge" && subject(e.reference) && html`<${RefundCharge} chargeId=${subject(e.reference).id} amount=${e.amount} onDone=${onRefunded} />`}
        </li>`,
      )}
    </ul>
    ${busy && html`<${Loading} />`}
    ${next !== null && next !== undefined && !error && html`<${Sentinel} onVisible=${more} />`}
  </section>`;
}

export function Wallet({ account }) {
  const loc = useStore(location$);
  const back = loc.query.get("next");
  const [amount, setAmount] = useState(loc.query.get("amount") || "");
  const [key, setKey] = useState(newKey);
  const [charged, setCharged] = useState(null);
  const [refunded, setRefunded] = useState(null);
  const [version, setVersion] = useState(0);
  const wallet = useAsync(() => api("/wallet"), [version]);
  const charge = useSubmit(async () => {
    const result = await api("/wallet/charges", { method: "POST", body: { amount: Number(amount) }, key });
    setCharged(result);
    setRefunded(null);
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
    ${account && (account.role === "seller" || account.role === "streamer") && html`<p><a href="/payouts">${t("wallet.to_payouts")}</a></p>`}
    ${refunded && html`<${Notice} kind="ok">${t("wallet.refunded", { amount: money(refunded.refunded_amount) })}<//>`}
    <${Ledger} version=${version} role=${account && account.role}
      onRefunded=${(charge) => { setRefunded(charge); setVersion((v) => v + 1); }} />
  </section>`;
}
