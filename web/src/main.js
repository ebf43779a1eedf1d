// The app shell: header with navigation, search and language switch; the page of the
// current route (its module loaded on first use); the session restored at start-up.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { expired, logout, restore, session } from "./api.js";
import { lang, setLang, t } from "./i18n.js";
import { unread } from "./notify.js";
import { here, location$, match, navigate } from "./router.js";
import { routes } from "./routes.js";
import { useStore } from "./store.js";
import { html, Loading } from "./ui.js";

function resolve(path) {
  for (const route of routes) {
    const params = match(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

function NavLink({ href, children, current }) {
  const active = href === "/" ? current === "/" : current === href || current.startsWith(`${href}/`);
  return html`<li><a href=${href} aria-current=${active ? "page" : undefined}>${children}</a></li>`;
}

/// The bell: the link keeps its name ("Notifications"); the unread count sits beside it.
function Bell({ path }) {
  const count = useStore(unread);
  return html`<li class="bell">
    <a href="/notifications" aria-current=${path === "/notifications" ? "page" : undefined}><svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg>${t("nav.notifications")}</a>
    ${count > 0 && html`<span class="badge" role="status"><span aria-hidden="true">${count > 99 ? "99+" : count}</span><span class="visually-hidden">${t("notifications.unread_n", { n: count })}</span></span>`}
  </li>`;
}

function Header({ account, path }) {
  const role = account && account.role;
  const [q, setQ] = useState("");
  const search = (event) => {
    event.preventDefault();
    navigate(`/search?q=${encodeURIComponent(q.trim())}`);
  };
  const signOut = async () => {
    await logout();
    navigate("/");
  };
  return html`<header class="top">
    <div class="bar">
      <a class="brand" href="/">${t("app.name")}</a>
      <form class="search" role="search" onSubmit=${search}>
        <label class="visually-hidden" for="search-box">${t("nav.search")}</label>
        <input id="search-box" type="search" placeholder=${t("nav.search")} value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
        <button type="submit" class="secondary">${t("search.go")}</button>
      </form>
      <div class="lang">
        <label class="visually-hidden" for="lang-switch">${t("nav.language")}</label>
        <select id="lang-switch" value=${lang.get()} onChange=${(e) => setLang(e.currentTarget.value)}>
          <option value="en">English</option>
          <option value="ko">한국어</option>
        </select>
      </div>
    </div>
    <nav class="main" aria-label=${t("nav.label")}>
      <ul>
        <${NavLink} href="/" current=${path}>${t("nav.home")}<//>
        ${role === "customer" && html`<${NavLink} href="/cart" current=${path}>${t("nav.cart")}<//>`}
        ${role === "customer" && html`<${NavLink} href="/orders" current=${path}>${t("nav.orders")}<//>`}
        ${account && html`<${NavLink} href="/wallet" current=${path}>${t("nav.wallet")}<//>`}
        ${account && html`<${NavLink} href="/chat" current=${path}>${t("nav.chat")}<//>`}
        ${account && html`<${NavLink} href="/missions" current=${path}>${t("nav.missions")}<//>`}
        ${account && html`<${Bell} path=${path} />`}
        ${role === "seller" && html`<${NavLink} href="/seller" current=${path}>${t("nav.seller")}<//>`}
        ${role === "streamer" && html`<${NavLink} href="/streamer" current=${path}>${t("nav.streamer")}<//>`}
        ${role === "admin" && html`<${NavLink} href="/admin" current=${path}>${t("nav.admin")}<//>`}
        ${account && html`<${NavLink} href="/profile" current=${path}>${t("nav.profile")}<//>`}
        ${account && html`<li><button type="button" class="link" onClick=${signOut}>${t("nav.logout")}</button></li>`}
        ${!account && html`<${NavLink} href="/login" current=${path}>${t("nav.login")}<//>`}
        ${!account && html`<${NavLink} href="/signup" current=${path}>${t("nav.signup")}<//>`}
      </ul>
    </nav>
  </header>`;
}

const loaded = new Map();

function Page({ found, account }) {
  const { route, params } = found;
  const [module, setModule] = useState(loaded.get(route.load));
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (loaded.has(route.load)) {
      setModule(loaded.get(route.load));
      return;
    }
    setModule(undefined);
    route.load().then(
      (m) => {
        loaded.set(route.load, m);
        setModule(m);
      },
      () => setFailed(true),
    );
  }, [route]);
  if (failed) return html`<p role="alert">${t("error.page_load")}</p>`;
  if (!module) return html`<${Loading} />`;
  const View = module[route.view];
  return html`<${View} params=${params} account=${account} />`;
}

function Forbidden() {
  return html`<section><h1>${t("forbidden.title")}</h1><p>${t("forbidden.text")}</p><a href="/">${t("nav.home")}</a></section>`;
}

function NotFound() {
  return html`<section><h1>${t("notfound.title")}</h1><p>${t("notfound.text")}</p><a href="/">${t("nav.home")}</a></section>`;
}

function App() {
  const loc = useStore(location$);
  const current = useStore(session);
  useStore(lang);
  const isExpired = useStore(expired);
  const mainRef = useRef(null);
  const found = resolve(loc.path);
  const account = current ? current.account : null;
  const needsLogin = found && (found.route.auth || found.route.roles) && current === null;

  useEffect(() => {
    document.title = `${found ? t(found.route.title) : t("notfound.title")} · ${t("app.name")}`;
  });
  useEffect(() => {
    if (mainRef.current && document.activeElement !== document.body && !mainRef.current.contains(document.activeElement)) {
      mainRef.current.focus({ preventScroll: true });
    }
  }, [loc.path]);
  useEffect(() => {
    if (needsLogin || (isExpired && loc.path !== "/login")) {
      expired.set(false);
      navigate(`/login?next=${encodeURIComponent(here())}`, { replace: true });
    }
  }, [needsLogin, isExpired, loc.path]);

  // Public pages render before the session is known (the home page shows its cached feed).
  const guarded = found && (found.route.auth || found.route.roles);
  let body;
  if (!found) body = html`<${NotFound} />`;
  else if (guarded && (current === undefined || needsLogin)) body = html`<${Loading} />`;
  else if (found.route.roles && !found.route.roles.includes(account.role)) body = html`<${Forbidden} />`;
  else body = html`<${Page} key=${loc.path} found=${found} account=${current === undefined ? undefined : account} />`;

  return html`<a class="skip" href="#main">${t("nav.skip")}</a>
    <${Header} account=${account} path=${loc.path} />
    <main id="main" tabindex="-1" ref=${mainRef}>${body}</main>
    <footer>${t("footer.text")}</footer>`;
}

render(html`<${App} />`, document.getElementById("app"));
restore();
