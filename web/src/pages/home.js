// Home: the server-driven feed, row by row. The last feed is kept in localStorage and shown
// at once on the next visit (rows past `meta.expires_at` dropped) while the new one loads.
import { useEffect, useState } from "preact/hooks";
import { api, country, session } from "../api.js";
import { t } from "../i18n.js";
import { money, number } from "../format.js";
import { useStore } from "../store.js";
import { html, Money, Time } from "../ui.js";

const CACHE_KEY = "app.feed";
/// Marked once per page load on the performance timeline (the first-load test reads it).
let firstRowMarked = false;

function live(rows, now = Date.now()) {
  return rows.filter((row) => !(row.meta && row.meta.expires_at) || Date.parse(row.meta.expires_at) > now);
}

function cached() {
  try {
    const feed = JSON.parse(localStorage.getItem(CACHE_KEY) || "null");
    return feed && Array.isArray(feed.rows) ? { ...feed, rows: live(feed.rows) } : null;
  } catch {
    return null;
  }
}

function keep(feed) {
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify(feed));
  } catch {
    // Not kept: the next visit waits for the network.
  }
}

/// Forgets the kept feed (it shows a signed-in user's balance and cart).
export function forgetFeed() {
  try {
    localStorage.removeItem(CACHE_KEY);
  } catch {
    // Nothing kept.
  }
}

session.subscribe((s) => {
  if (s === null) forgetFeed();
});

async function fetchFeed(signedIn) {
  const boot = window.__boot;
  if (!signedIn && boot && boot.feed) {
    // Requested by index.html while the modules loaded; used once.
    const early = await boot.feed;
    boot.feed = null;
    if (early) return early;
  }
  const c = country();
  return api("/feed", { auth: "optional", headers: c ? { "X-Country": c } : {} });
}

/// `app://wallet` links of SDU rows point at the app's own pages.
function appLink(link) {
  if (typeof link !== "string") return "/";
  if (link.startsWith("app://")) return `/${link.slice("app://".length)}`;
  if (link.startsWith("/")) return link;
  return /^https?:\/\//.test(link) ? link : "/";
}

function WalletRow({ data }) {
  return html`<a class="tile" href="/wallet">
    <span class="muted">${t("feed.balance")}</span>
    <div class="big">${data.unavailable ? t("feed.unavailable") : money(data.balance)}</div>
  </a>`;
}

function CartRow({ data }) {
  if (data.unavailable) return html`<p class="muted">${t("feed.unavailable")}</p>`;
  return html`<a class="tile" href="/cart">
    ${data.quantity ? t("feed.cart_summary", { n: number(data.quantity), lines: number(data.lines) }) : t("cart.empty")}
    ${data.quantity > 0 && html`<div class="big">${money(data.total)}</div>`}
  </a>`;
}

const BUTTON_LABELS = { wallet: "nav.wallet", cart: "nav.cart", chat: "nav.chat" };

function QuickButtons({ data }) {
  return html`<div class="quick">
    ${(data.buttons || []).map(
      (b) => html`<a href=${appLink(b.link)}>
        <span>${BUTTON_LABELS[b.id] ? t(BUTTON_LABELS[b.id]) : b.label}</span>
        ${b.badge !== null && b.badge !== undefined && html`<strong>${b.id === "wallet" ? money(b.badge) : number(b.badge)}</strong>`}
      </a>`,
    )}
  </div>`;
}

function ProductCarousel({ data }) {
  return html`<div class="carousel">
    ${(data.items || []).map(
      (p) => html`<a class="tile" href=${`/products/${p.id}`}>
        <h3>${p.name}</h3>
        <div>${p.min_price === null ? "—" : money(p.min_price)}</div>
        ${!p.in_stock && html`<div class="muted">${t("product.sold_out")}</div>`}
      </a>`,
    )}
  </div>`;
}

function Missions({ data }) {
  return html`<ul class="list">
    ${(data.items || []).map(
      (m) => html`<li><a href=${`/missions/${m.id}`}>${m.title}</a>
        <div class="muted">${t("mission.pool")}: <${Money} value=${m.pool} /> · ${t("mission.contributors_n", { n: m.contributors })} · ${t("mission.deadline")} <${Time} value=${m.deadline} /></div></li>`,
    )}
  </ul>`;
}

function Chats({ data }) {
  return html`<div>
    <p>${t("feed.unread_summary", { rooms: data.unread_rooms, messages: data.unread_messages })}</p>
    <ul class="list">
      ${(data.rooms || []).map(
        (r) => html`<li><a href=${`/chat/${r.room_id}`}>${r.name || t("chat.direct")}</a> <span class="badge">${r.unread_count}</span>
          ${r.last_message_preview && html`<div class="muted">${r.last_message_preview}</div>`}</li>`,
      )}
    </ul>
  </div>`;
}

function Banner({ data }) {
  return html`<a class="banner" href=${appLink(data.link_url)} rel="noopener">
    <img src=${data.image_url} alt="" loading="lazy" decoding="async" width="900" height="300" />
    <span>${data.title}</span>
  </a>`;
}

function Notice({ data }) {
  const template = data.template || {};
  return html`<div class="card notice">${template.text || ""}</div>`;
}

/// One renderer per `row_type`; a type not listed is skipped.
const RENDERERS = {
  WALLET_UI: WalletRow,
  CART_UI: CartRow,
  QUICK_BUTTON_UI: QuickButtons,
  PRODUCT_CAROUSEL_UI: ProductCarousel,
  MISSION_UI: Missions,
  CHAT_UI: Chats,
  BANNER_AD: Banner,
  NOTICE_SDU: Notice,
};

/// The rows of a feed response, in order; used by the admin preview too.
export function FeedRows({ rows }) {
  return rows
    .filter((row) => RENDERERS[row.row_type])
    .map((row) => {
      const Renderer = RENDERERS[row.row_type];
      const title = (row.meta && row.meta.title) || "";
      const id = `row-${row.row_id}`;
      return html`<section class="feed-row" key=${row.row_id} data-row-type=${row.row_type} aria-labelledby=${id}>
        <h2 id=${id} class=${row.row_type === "BANNER_AD" ? "visually-hidden" : undefined}>${title}</h2>
        <${Renderer} data=${row.data || {}} meta=${row.meta || {}} />
      </section>`;
    });
}

export function Home({ account }) {
  const [feed, setFeed] = useState(cached);
  const [failed, setFailed] = useState(false);
  const [now, setNow] = useState(Date.now());
  const known = account !== undefined;
  useStore(session);

  useEffect(() => {
    if (!known) return undefined;
    let stale = false;
    fetchFeed(Boolean(account)).then(
      (fresh) => {
        if (stale || !fresh) return;
        setFeed(fresh);
        setFailed(false);
        keep(fresh);
      },
      () => !stale && setFailed(true),
    );
    return () => {
      stale = true;
    };
  }, [known, account && account.id]);

  // Drop each row when it expires.
  const rows = feed ? live(feed.rows, now) : [];
  useEffect(() => {
    const next = Math.min(...rows.map((r) => (r.meta && r.meta.expires_at ? Date.parse(r.meta.expires_at) : Infinity)));
    if (!Number.isFinite(next)) return undefined;
    const timer = setTimeout(() => setNow(Date.now()), Math.max(0, next - Date.now()) + 50);
    return () => clearTimeout(timer);
  }, [feed, now]);

  useEffect(() => {
    if (rows.length && !firstRowMarked) {
      firstRowMarked = true;
      performance.mark("feed:first-row");
    }
  }, [rows.length]);

  return html`<div class="feed">
    <h1 class="visually-hidden">${t("nav.home")}</h1>
    ${failed && !feed && html`<p role="alert">${t("feed.failed")}</p>`}
    ${!feed && !failed && html`<p class="muted" role="status">${t("common.loading")}</p>`}
    <${FeedRows} rows=${rows} />
  </div>`;
}
