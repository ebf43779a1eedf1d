// Streamer: the missions aimed at me, open ones with their pool kept current; each opens
// the mission page where I decide success, failure or reject.
import { useState } from "preact/hooks";
import { t } from "../i18n.js";
import { Field, html } from "../ui.js";
import { MissionList } from "./missions.js";

const STATUSES = ["open", "succeeded", "failed", "rejected", "expired"];

export function Streamer({ account }) {
  const [status, setStatus] = useState("open");
  return html`<section>
    <h1>${t("nav.streamer")}</h1>
    <p>${t("streamer.intro")}</p>
    <p><a href="/payouts">${t("nav.payouts")}</a></p>
    <div class="narrow">
      <${Field} label=${t("field.status")} as="select" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        ${STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
      <//>
    </div>
    <${MissionList} filter=${{ streamer_id: account.id, status }} poll=${status === "open"} />
  </section>`;
}
