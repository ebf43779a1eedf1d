// Reporting something (a product, a chat message, an account, a mission) to the operators:
// a button that opens a small form with the reason and optional details.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { ErrorBox, Field, html, Notice, problemOf, useSubmit } from "../ui.js";

const REASONS = ["spam", "fraud", "abuse", "inappropriate", "other"];

/// `label` names the button for assistive technology ("Report the message from Ben").
export function ReportButton({ targetType, targetId, label }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("spam");
  const [details, setDetails] = useState("");
  const [sent, setSent] = useState(false);
  const send = useSubmit(async () => {
    const body = { target_type: targetType, target_id: targetId, reason };
    if (details.trim()) body.details = details.trim();
    await api("/reports", { method: "POST", body });
    setSent(true);
    setOpen(false);
  });
  if (sent) return html`<${Notice} kind="ok">${t("report.sent")}<//>`;
  if (!open) return html`<button type="button" class="link" onClick=${() => setOpen(true)} aria-label=${label || t("report.open")}>${t("report.open")}</button>`;
  return html`<form class="card plain narrow report" onSubmit=${send.submit} novalidate aria-label=${label || t("report.open")}>
    <${Field} label=${t("report.reason")} as="select" value=${reason} onChange=${(e) => setReason(e.currentTarget.value)} problem=${problemOf(send.error, "reason")}>
      ${REASONS.map((r) => html`<option value=${r}>${t(`reason.${r}`)}</option>`)}
    <//>
    <${Field} label=${t("report.details")} as="textarea" maxlength="1000" value=${details} onInput=${(e) => setDetails(e.currentTarget.value)} problem=${problemOf(send.error, "details")} />
    <${ErrorBox} error=${send.error} />
    <div class="actions">
      <button type="submit" disabled=${send.pending}>${t("report.send")}</button>
      <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("common.back")}</button>
    </div>
  </form>`;
}
