// Missions: browse by streamer, one mission with its pool and contributors (contribute; its
// streamer decides), and creating one with a stake and a deadline.
import { useEffect, useState } from "preact/hooks";
import { api, newKey, query } from "../api.js";
import { t } from "../i18n.js";
import { localInputValue, money } from "../format.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { useNames } from "../names.js";
import { ReportButton } from "./report.js";
import { ErrorBox, Field, html, Loading, Money, Notice, Pager, problemOf, Status, Time, useAsync, useSubmit } from "../ui.js";

const STATUSES = ["open", "succeeded", "failed", "rejected", "expired"];
/// The pool of an open mission is re-read this often (there is no live mission event).
export const POOL_POLL_MS = 5000;

function useStreamers(q) {
  return useAsync(() => api(`/accounts${query({ q, role: "streamer", page: 0, size: 50 })}`), [q]);
}

export function MissionList({ filter, poll }) {
  const [page, setPage] = useState(0);
  const list = useAsync(() => api(`/missions${query({ ...filter, page, size: 20 })}`), [JSON.stringify(filter), page]);
  useEffect(() => {
    if (!poll) return undefined;
    const timer = setInterval(list.reload, POOL_POLL_MS);
    return () => clearInterval(timer);
  }, [poll, list.reload]);
  const data = list.data;
  const name = useNames(data ? data.items.map((m) => m.streamer_id) : []);
  return html`<div>
    <${ErrorBox} error=${list.error} />
    ${!data && !list.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("missions.none")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (m) => html`<li key=${m.id}>
          <a href=${`/missions/${m.id}`}>${m.title}</a> <${Status} value=${m.status} />
          <div class="muted">${name(m.streamer_id)} · ${t("mission.pool")} <${Money} value=${m.pool} /> · ${t("mission.contributors_n", { n: m.contributors })} · ${t("mission.deadline")} <${Time} value=${m.deadline} /></div>
        </li>`,
      )}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${setPage} />`}
  </div>`;
}

export function Missions({ account }) {
  const loc = useStore(location$);
  const streamerId = loc.query.get("streamer_id") || "";
  const status = loc.query.get("status") || "open";
  const [q, setQ] = useState("");
  const streamers = useStreamers(q);
  const go = (changes) => navigate(`/missions${query({ streamer_id: streamerId, status, ...changes })}`);
  return html`<section>
    <h1>${t("nav.missions")}</h1>
    ${account.role !== "streamer" && html`<div class="actions"><button type="button" onClick=${() => navigate(`/missions/new${query({ streamer_id: streamerId })}`)}>${t("missions.new")}</button></div>`}
    <div class="row">
      <${Field} label=${t("missions.find_streamer")} type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <${Field} label=${t("field.streamer")} as="select" value=${streamerId} onChange=${(e) => go({ streamer_id: e.currentTarget.value })}>
        <option value="">${t("missions.all_streamers")}</option>
        ${streamers.data && streamers.data.items.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      <//>
      <${Field} label=${t("field.status")} as="select" value=${status} onChange=${(e) => go({ status: e.currentTarget.value })}>
        ${STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
      <//>
    </div>
    <${MissionList} filter=${{ streamer_id: streamerId, status }} />
  </section>`;
}

export function NewMission() {
  const loc = useStore(location$);
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  const [values, setValues] = useState({
    streamer_id: loc.query.get("streamer_id") || "",
    title: "",
    description: "",
    stake: "1000",
    deadline: localInputValue(tomorrow),
  });
  const [q, setQ] = useState("");
  const streamers = useStreamers(q);
  const [key, setKey] = useState(newKey);
  const set = (k) => (e) => {
    setValues({ ...values, [k]: e.currentTarget.value });
    setKey(newKey());
  };
  useEffect(() => {
    const first = streamers.data && streamers.data.items[0];
    if (!values.streamer_id && first) setValues((v) => ({ ...v, streamer_id: String(first.id) }));
  }, [streamers.data]);
  const form = useSubmit(async () => {
    const body = {
      streamer_id: Number(values.streamer_id),
      title: values.title.trim(),
      description: values.description.trim(),
      stake: Number(values.stake),
      deadline: new Date(values.deadline).toISOString(),
    };
    const mission = await api("/missions", { method: "POST", body, key });
    navigate(`/missions/${mission.id}`);
  });
  const err = form.error;
  return html`<section class="narrow">
    <h1>${t("missions.new")}</h1>
    <form onSubmit=${form.submit} novalidate>
      <${Field} label=${t("missions.find_streamer")} type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <${Field} label=${t("field.streamer")} as="select" required value=${values.streamer_id} onChange=${set("streamer_id")} problem=${problemOf(err, "streamer_id")}>
        ${streamers.data && streamers.data.items.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      <//>
      <${Field} label=${t("field.title")} required maxlength="100" value=${values.title} onInput=${set("title")} problem=${problemOf(err, "title")} />
      <${Field} label=${t("field.description")} as="textarea" maxlength="2000" value=${values.description} onInput=${set("description")} problem=${problemOf(err, "description")} />
      <${Field} label=${t("field.stake")} type="number" min="1" required value=${values.stake} onInput=${set("stake")} problem=${problemOf(err, "stake")} hint=${t("missions.stake_hint")} />
      <${Field} label=${t("field.deadline")} type="datetime-local" required value=${values.deadline} onInput=${set("deadline")} problem=${problemOf(err, "deadline")} />
      <${ErrorBox} error=${err} />
      ${err && err.code === "insufficient_balance" && html`<p><a href=${`/wallet${query({ amount: values.stake, next: "/missions/new" })}`}>${t("missions.charge")}</a></p>`}
      <div class="actions"><button type="submit" disabled=${form.pending}>${t("missions.create")}</button></div>
    </form>
  </section>`;
}

function Contributions({ id, version }) {
  const [page, setPage] = useState(0);
  const list = useAsync(() => api(`/missions/${id}/contributions${query({ page, size: 20 })}`), [id, page, version]);
  const data = list.data;
  const name = useNames(data ? data.items.map((c) => c.account_id) : []);
  return html`<section aria-labelledby="contributors-title">
    <h2 id="contributors-title">${t("mission.contributors")}</h2>
    <${ErrorBox} error=${list.error} />
    ${data &&
    html`<ul class="list">
      ${data.items.map((c) => html`<li key=${c.id}>${name(c.account_id)} · <${Money} value=${c.amount} /> · <${Time} value=${c.created_at} /></li>`)}
    </ul>
    <${Pager} page=${data.page} size=${data.size} total=${data.total} onPage=${setPage} />`}
  </section>`;
}

export function Mission({ params, account }) {
  const [version, setVersion] = useState(0);
  const mission = useAsync(() => api(`/missions/${params.id}`), [params.id, version]);
  const [amount, setAmount] = useState("1000");
  const [key, setKey] = useState(newKey);
  const [thanks, setThanks] = useState(null);
  const m = mission.data;
  const name = useNames(m ? [m.streamer_id, m.creator_id] : []);
  useEffect(() => {
    if (!m || m.status !== "open") return undefined;
    const timer = setInterval(() => setVersion((v) => v + 1), POOL_POLL_MS);
    return () => clearInterval(timer);
  }, [m && m.status]);
  const contribute = useSubmit(async () => {
    const c = await api(`/missions/${params.id}/contributions`, { method: "POST", body: { amount: Number(amount) }, key });
    setThanks(c.amount);
    setKey(newKey());
    setVersion((v) => v + 1);
  });
  const decide = useSubmit(async (result) => {
    mission.setData(await api(`/missions/${params.id}/decision`, { method: "POST", body: { result } }));
  });
  if (mission.error && !m) return html`<section><h1>${t("mission.title")}</h1><${ErrorBox} error=${mission.error} /></section>`;
  if (!m) return html`<${Loading} />`;
  const isStreamer = account.id === m.streamer_id;
  const open = m.status === "open";
  return html`<article>
    <h1>${m.title}</h1>
    <p><${Status} value=${m.status} /> ${m.settled && html`<span class="muted">${t("mission.settled")}</span>`}</p>
    ${m.description && html`<p>${m.description}</p>`}
    <div class="card">
      <p class="big" aria-live="polite">${t("mission.pool")} <${Money} value=${m.pool} /></p>
      <div>${t("mission.contributors_n", { n: m.contributors })}</div>
      <div>${t("field.streamer")}: ${name(m.streamer_id)} · ${t("mission.creator")}: ${name(m.creator_id)}</div>
      <div>${t("mission.deadline")} <${Time} value=${m.deadline} /></div>
      ${m.decided_at && html`<div>${t("mission.decided")} <${Time} value=${m.decided_at} /></div>`}
    </div>
    ${open && !isStreamer &&
    html`<form class="narrow" onSubmit=${contribute.submit} novalidate>
      <${Field} label=${t("field.amount")} type="number" min="1" required value=${amount}
        onInput=${(e) => { setAmount(e.currentTarget.value); setKey(newKey()); }} problem=${problemOf(contribute.error, "amount")} />
      <${ErrorBox} error=${contribute.error} />
      ${thanks && html`<${Notice} kind="ok">${t("mission.thanks", { amount: money(thanks) })}<//>`}
      <div class="actions"><button type="submit" disabled=${contribute.pending}>${t("mission.contribute")}</button></div>
    </form>`}
    ${open && isStreamer &&
    html`<div class="card plain">
      <h2>${t("mission.decide")}</h2>
      <div class="actions">
        <button type="button" onClick=${() => decide.submit("success")} disabled=${decide.pending}>${t("mission.success")}</button>
        <button type="button" class="secondary" onClick=${() => decide.submit("failure")} disabled=${decide.pending}>${t("mission.failure")}</button>
        <button type="button" class="danger" onClick=${() => decide.submit("rejected")} disabled=${decide.pending}>${t("mission.reject")}</button>
      </div>
      <${ErrorBox} error=${decide.error} />
    </div>`}
    <${Contributions} id=${params.id} version=${version} />
    ${account.id !== m.creator_id && html`<${ReportButton} targetType="mission" targetId=${m.id} label=${t("mission.report")} />`}
  </article>`;
}
