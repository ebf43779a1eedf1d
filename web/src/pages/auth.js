// Everyone: log in, sign up, the verify-email page the email links to, password reset (the
// request and the page the reset email links to), and the profile.
import { useEffect, useState } from "preact/hooks";
import { api, login, updateAccount } from "../api.js";
import { t } from "../i18n.js";
import { location$, navigate } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Field, html, Notice, problemOf, Time, useSubmit } from "../ui.js";

/// Where to go after logging in: the `next` of the URL when it is one of our paths.
function nextPath() {
  const next = location$.get().query.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [resent, setResent] = useState(false);
  const form = useSubmit(async () => {
    await login(email.trim(), password);
    navigate(nextPath(), { replace: true });
  });
  const resend = async () => {
    await api("/auth/resend-verification", { method: "POST", body: { email: email.trim() }, auth: false });
    setResent(true);
  };
  return html`<section class="narrow">
    <h1>${t("nav.login")}</h1>
    <form onSubmit=${form.submit} novalidate>
      <${Field} label=${t("field.email")} type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
      <${Field} label=${t("field.password")} type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      <${ErrorBox} error=${form.error} />
      ${form.error && form.error.code === "email_not_verified" &&
      (resent ? html`<${Notice}>${t("login.resent")}<//>` : html`<button type="button" class="secondary" onClick=${resend}>${t("login.resend")}</button>`)}
      <div class="actions"><button type="submit" disabled=${form.pending}>${t("nav.login")}</button></div>
    </form>
    <p><a href="/reset-password">${t("login.forgot")}</a> · <a href="/signup">${t("login.no_account")}</a></p>
  </section>`;
}

export function Signup() {
  const [values, setValues] = useState({ name: "", email: "", password: "", role: "customer" });
  const [done, setDone] = useState(null);
  const set = (key) => (e) => setValues({ ...values, [key]: e.currentTarget.value });
  const form = useSubmit(async () => {
    const body = { ...values, email: values.email.trim(), name: values.name.trim() };
    await api("/auth/signup", { method: "POST", body, auth: false });
    setDone(body.email);
  });
  if (done) {
    return html`<section class="narrow">
      <h1>${t("signup.check_title")}</h1>
      <${Notice} kind="ok">${t("signup.check_text", { email: done })}<//>
      <p><a href="/login">${t("nav.login")}</a></p>
    </section>`;
  }
  const err = form.error;
  return html`<section class="narrow">
    <h1>${t("nav.signup")}</h1>
    <form onSubmit=${form.submit} novalidate>
      <${Field} label=${t("field.name")} autocomplete="name" required maxlength="50" value=${values.name} onInput=${set("name")} problem=${problemOf(err, "name")} />
      <${Field} label=${t("field.email")} type="email" autocomplete="email" required value=${values.email} onInput=${set("email")} problem=${problemOf(err, "email")} />
      <${Field} label=${t("field.password")} type="password" autocomplete="new-password" required minlength="8" maxlength="128" hint=${t("signup.password_hint")} value=${values.password} onInput=${set("password")} problem=${problemOf(err, "password")} />
      <${Field} label=${t("field.account_type")} as="select" value=${values.role} onChange=${set("role")}>
        <option value="customer">${t("role.customer")}</option>
        <option value="seller">${t("role.seller")}</option>
        <option value="streamer">${t("role.streamer")}</option>
      <//>
      <${ErrorBox} error=${err} />
      <div class="actions"><button type="submit" disabled=${form.pending}>${t("nav.signup")}</button></div>
    </form>
  </section>`;
}

export function VerifyEmail() {
  const token = useStore(location$).query.get("token") || "";
  const [state, setState] = useState({ status: token ? "working" : "missing" });
  useEffect(() => {
    if (!token) return;
    api("/auth/verify-email", { method: "POST", body: { token }, auth: false }).then(
      (account) => setState({ status: "done", account }),
      (error) => setState({ status: "failed", error }),
    );
  }, [token]);
  return html`<section class="narrow">
    <h1>${t("verify.title")}</h1>
    ${state.status === "working" && html`<p role="status">${t("verify.working")}</p>`}
    ${state.status === "missing" && html`<${Notice} kind="error">${t("verify.missing")}<//>`}
    ${state.status === "failed" && html`<${ErrorBox} error=${state.error} />`}
    ${state.status === "done" && html`<${Notice} kind="ok">${t("verify.done", { email: state.account.email })}<//>`}
    <p><a href="/login">${t("nav.login")}</a></p>
  </section>`;
}

export function ResetPassword() {
  const token = useStore(location$).query.get("token") || "";
  return token ? html`<${ConfirmReset} token=${token} />` : html`<${RequestReset} />`;
}

function RequestReset() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const form = useSubmit(async () => {
    await api("/auth/password-reset", { method: "POST", body: { email: email.trim() }, auth: false });
    setSent(true);
  });
  return html`<section class="narrow">
    <h1>${t("reset.title")}</h1>
    ${sent
      ? html`<${Notice} kind="ok">${t("reset.sent")}<//>`
      : html`<form onSubmit=${form.submit} novalidate>
          <p>${t("reset.intro")}</p>
          <${Field} label=${t("field.email")} type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
          <${ErrorBox} error=${form.error} />
          <div class="actions"><button type="submit" disabled=${form.pending}>${t("reset.send")}</button></div>
        </form>`}
  </section>`;
}

function ConfirmReset({ token }) {
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const form = useSubmit(async () => {
    await api("/auth/password-reset/confirm", { method: "POST", body: { token, new_password: password }, auth: false });
    setDone(true);
  });
  return html`<section class="narrow">
    <h1>${t("reset.title")}</h1>
    ${done
      ? html`<${Notice} kind="ok">${t("reset.done")}<//><p><a href="/login">${t("nav.login")}</a></p>`
      : html`<form onSubmit=${form.submit} novalidate>
          <${Field} label=${t("field.new_password")} type="password" autocomplete="new-password" required minlength="8" hint=${t("signup.password_hint")} value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} problem=${problemOf(form.error, "new_password")} />
          <${ErrorBox} error=${form.error} />
          <div class="actions"><button type="submit" disabled=${form.pending}>${t("reset.save")}</button></div>
        </form>`}
  </section>`;
}

export function Profile({ account }) {
  const [values, setValues] = useState({ name: account.name, phone: account.phone || "" });
  const [saved, setSaved] = useState(false);
  const [passwords, setPasswords] = useState({ current: "", next: "" });
  const [changed, setChanged] = useState(false);
  const profile = useSubmit(async () => {
    const body = { name: values.name.trim() };
    if (values.phone.trim()) body.phone = values.phone.trim();
    updateAccount(await api("/accounts/me", { method: "PATCH", body }));
    setSaved(true);
  });
  const password = useSubmit(async () => {
    await api("/accounts/me/password", { method: "POST", body: { current_password: passwords.current, new_password: passwords.next } });
    setPasswords({ current: "", next: "" });
    setChanged(true);
  });
  return html`<section>
    <h1>${t("nav.profile")}</h1>
    <div class="card">
      <div>${t("field.email")}: <strong>${account.email}</strong></div>
      <div>${t("field.account_type")}: ${t(`role.${account.role}`)}</div>
      <div>${t("profile.since")} <${Time} value=${account.created_at} /></div>
      <div><a href="/reports">${t("reports.title")}</a></div>
    </div>
    <form class="narrow" onSubmit=${profile.submit} novalidate>
      <h2>${t("profile.details")}</h2>
      <${Field} label=${t("field.name")} required maxlength="50" value=${values.name} onInput=${(e) => { setSaved(false); setValues({ ...values, name: e.currentTarget.value }); }} problem=${problemOf(profile.error, "name")} />
      <${Field} label=${t("field.phone")} type="tel" autocomplete="tel" value=${values.phone} onInput=${(e) => { setSaved(false); setValues({ ...values, phone: e.currentTarget.value }); }} problem=${problemOf(profile.error, "phone")} />
      <${ErrorBox} error=${profile.error} />
      ${saved && html`<${Notice} kind="ok">${t("common.saved")}<//>`}
      <div class="actions"><button type="submit" disabled=${profile.pending}>${t("common.save")}</button></div>
    </form>
    <form class="narrow" onSubmit=${password.submit} novalidate>
      <h2>${t("profile.password")}</h2>
      <${Field} label=${t("field.current_password")} type="password" autocomplete="current-password" value=${passwords.current} onInput=${(e) => setPasswords({ ...passwords, current: e.currentTarget.value })} />
      <${Field} label=${t("field.new_password")} type="password" autocomplete="new-password" value=${passwords.next} onInput=${(e) => setPasswords({ ...passwords, next: e.currentTarget.value })} problem=${problemOf(password.error, "new_password")} />
      <${ErrorBox} error=${password.error} />
      ${changed && html`<${Notice} kind="ok">${t("profile.password_changed")}<//>`}
      <div class="actions"><button type="submit" class="secondary" disabled=${password.pending}>${t("profile.change_password")}</button></div>
    </form>
  </section>`;
}
