// Payouts (sellers and streamers): requesting one to a bank account, and the history with
// each payout's status. The account number is sent once; the server only ever shows it masked.
import { useState } from "preact/hooks";
import { api, newKey, query } from "../api.js";
import { t } from "../i18n.js";
import { money } from "../format.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, problemOf, Status, Time, useAsync, useSubmit } from "../ui.js";

/// Korean banks' codes (금융결제원), the ones most accounts are at; "other" takes a typed code.
const BANKS = ["004", "088", "020", "011", "003", "081", "090", "089", "023", "027", "031", "032", "034", "035", "037", "039", "045", "048", "071"];

function bankName(code) {
  const key = `bank.${code}`;
  const name = t(key);
  return name === key ? code : name;
}

export function Payouts() {
  const [page, setPage] = useState(0);
  const [version, setVersion] = useState(0);
  const wallet = useAsync(() => api("/wallet"), [version]);
  const list = useAsync(() => api(`/wallet/payouts${query({ page, size: 20 })}`), [page, version]);
  const blank = { amount: "", bank_code: BANKS[0], account_number: "", account_holder: "" };
  const [values, setValues] = useState(blank);
  const [key, setKey] = useState(newKey);
  const [made, setMade] = useState(null);
  const set = (k) => (e) => {
    setValues({ ...values, [k]: e.currentTarget.value });
    setKey(newKey());
  };
  const request = useSubmit(async () => {
    const body = {
      amount: Number(values.amount),
      bank_code: values.bank_code.trim(),
      account_number: values.account_number.replace(/[\s-]/g, ""),
      account_holder: values.account_holder.trim(),
    };
    const payout = await api("/wallet/payouts", { method: "POST", body, key });
    setMade(payout);
    setValues(blank);
    setKey(newKey());
    setPage(0);
    setVersion((v) => v + 1);
  });
  const err = request.error;
  const data = list.data;
  return html`<section>
    <h1>${t("nav.payouts")}</h1>
    <div class="card">
      ${wallet.data ? html`<p class="big">${t("wallet.balance")} <${Money} value=${wallet.data.balance} /></p>` : html`<${Loading} />`}
      <${ErrorBox} error=${wallet.error} />
    </div>
    <form class="narrow" onSubmit=${request.submit} novalidate>
      <h2>${t("payouts.request_title")}</h2>
      <${Field} label=${t("field.amount")} type="number" min="1" step="1" inputmode="numeric" required value=${values.amount} onInput=${set("amount")}
        problem=${problemOf(err, "amount")} hint=${t("payouts.amount_hint")} />
      <${Field} label=${t("field.bank")} as="select" value=${values.bank_code} onChange=${set("bank_code")} problem=${problemOf(err, "bank_code")}>
        ${BANKS.map((code) => html`<option value=${code}>${bankName(code)} (${code})</option>`)}
      <//>
      <${Field} label=${t("field.account_number")} required inputmode="numeric" autocomplete="off" value=${values.account_number} onInput=${set("account_number")}
        problem=${problemOf(err, "account_number")} />
      <${Field} label=${t("field.account_holder")} required maxlength="50" value=${values.account_holder} onInput=${set("account_holder")}
        problem=${problemOf(err, "account_holder")} />
      <${ErrorBox} error=${err} />
      ${made && html`<${Notice} kind="ok">${t("payouts.requested", { amount: money(made.amount) })} <${Status} value=${made.status} /><//>`}
      <div class="actions"><button type="submit" disabled=${request.pending}>${t("payouts.request")}</button></div>
    </form>
    <section aria-labelledby="payouts-history">
      <h2 id="payouts-history">${t("payouts.history")}</h2>
      <${ErrorBox} error=${list.error} />
      ${!data && !list.error && html`<${Loading} />`}
      ${data && data.items.length === 0 && html`<p class="muted">${t("payouts.none")}</p>`}
      ${data &&
      html`<ul class="list">
        ${data.items.map(
          (p) => html`<li key=${p.id}>
            <strong><${Money} value=${p.amount} /></strong> <${Status} value=${p.status} />
            <div class="muted">${bankName(p.bank_code)} ${p.account_number_masked} · ${p.account_holder} · <${Time} value=${p.created_at} />
              ${p.completed_at && html` · ${t("payouts.completed")} <${Time} value=${p.completed_at} />`}</div>
            ${p.failure_reason && html`<div class="problem">${p.failure_reason}</div>`}
          </li>`,
        )}
      </ul>
      <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${setPage} />`}
    </section>
  </section>`;
}
