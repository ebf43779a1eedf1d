// Chat: rooms with unread counts and last messages, and one room with live messages over
// the socket, catch-up with `?after=` after a reconnect or a `resync` frame, older messages
// when scrolled to the top, and read marks; blocking a person (and the list of blocked
// people), reporting a message, and messages hidden by the operators.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { t } from "../i18n.js";
import * as live from "../live.js";
import { useNames } from "../names.js";
import { navigate } from "../router.js";
import { ErrorBox, Field, html, Loading, Notice, Sentinel, Time, useAsync, useSubmit } from "../ui.js";
import { ReportButton } from "./report.js";

const PAGE = 50;

function roomName(room, me) {
  if (room.name) return room.name;
  const others = (room.members || []).filter((m) => m.id !== me);
  return others.map((m) => m.name).join(", ") || t("chat.direct");
}

function StartChat() {
  const [q, setQ] = useState("");
  const people = useAsync(() => (q.trim() ? api(`/chat/users${query({ q: q.trim(), page: 0, size: 10 })}`) : Promise.resolve(null)), [q]);
  const open = useSubmit(async (userId) => {
    const room = await api("/chat/rooms/direct", { method: "POST", body: { user_id: userId } });
    navigate(`/chat/${room.id}`);
  });
  return html`<section class="card" aria-labelledby="start-title">
    <h2 id="start-title">${t("chat.start")}</h2>
    <${Field} label=${t("chat.find_people")} type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
    ${people.data &&
    html`<ul class="list">
      ${people.data.items.map(
        (p) => html`<li key=${p.id}><button type="button" class="link" onClick=${() => open.submit(p.id)}>${p.name}</button> <span class="muted">${t(`role.${p.role}`)}</span></li>`,
      )}
    </ul>`}
    <${ErrorBox} error=${open.error} />
  </section>`;
}

/// The people I blocked, each with "Unblock".
function Blocked() {
  const list = useAsync(() => api("/chat/blocks"), []);
  const unblock = useSubmit(async (userId) => {
    await api(`/chat/blocks/${userId}`, { method: "DELETE" });
    list.setData((old) => ({ items: old.items.filter((b) => blockedId(b) !== userId) }));
  });
  const items = (list.data && list.data.items) || [];
  const name = useNames(items.map(blockedId));
  if (!items.length && !list.error) return null;
  return html`<section class="card plain" aria-labelledby="blocked-title">
    <h2 id="blocked-title">${t("chat.blocked_people")}</h2>
    <${ErrorBox} error=${list.error || unblock.error} />
    <ul class="list">
      ${items.map(
        (b) => html`<li key=${blockedId(b)}>${b.name || name(blockedId(b))}
          <button type="button" class="link" onClick=${() => unblock.submit(blockedId(b))} aria-label=${t("chat.unblock_named", { name: b.name || name(blockedId(b)) })}>${t("chat.unblock")}</button></li>`,
      )}
    </ul>
  </section>`;
}

/// A block entry names the blocked account as `user_id` (or `id` with its profile).
const blockedId = (b) => b.user_id ?? b.blocked_id ?? b.id;

export function Rooms({ account }) {
  const rooms = useAsync(() => api("/chat/rooms"), []);
  useEffect(() => live.listen((e) => (e.type === "message" || (e.type === "open" && e.reconnect) || e.type === "resync") && rooms.reload()), []);
  const data = rooms.data;
  return html`<section>
    <h1>${t("nav.chat")}</h1>
    <${ErrorBox} error=${rooms.error} />
    ${!data && !rooms.error && html`<${Loading} />`}
    ${data && data.items.length === 0 && html`<p class="muted">${t("chat.no_rooms")}</p>`}
    ${data &&
    html`<ul class="list">
      ${data.items.map(
        (r) => html`<li key=${r.id}>
          <a href=${`/chat/${r.id}`}>${roomName(r, account.id)}</a>
          ${r.unread_count > 0 && html` <span class="badge" aria-label=${t("chat.unread_n", { n: r.unread_count })}>${r.unread_count}</span>`}
          ${r.last_message && html`<div class="muted">${r.last_message.body} · <${Time} value=${r.last_message.created_at} /></div>`}
        </li>`,
      )}
    </ul>`}
    <${StartChat} />
    <${Blocked} />
  </section>`;
}

/// Adds messages (any order, duplicates allowed) to an ascending list.
function merge(list, more) {
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of more) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function BlockButton({ user }) {
  const blocks = useAsync(() => api("/chat/blocks"), [user.id]);
  const blocked = Boolean(blocks.data && blocks.data.items.some((b) => blockedId(b) === user.id));
  const toggle = useSubmit(async () => {
    if (blocked) {
      await api(`/chat/blocks/${user.id}`, { method: "DELETE" });
      blocks.setData((old) => ({ items: old.items.filter((b) => blockedId(b) !== user.id) }));
    } else {
      const made = await api("/chat/blocks", { method: "POST", body: { user_id: user.id } });
      blocks.setData((old) => ({ items: [...old.items, made || { user_id: user.id }] }));
    }
  });
  if (!blocks.data) return null;
  return html`<div class="actions">
    <button type="button" class=${blocked ? "secondary" : "danger"} onClick=${toggle.submit} disabled=${toggle.pending}>
      ${blocked ? t("chat.unblock_named", { name: user.name }) : t("chat.block_named", { name: user.name })}</button>
    <${ReportButton} targetType="account" targetId=${user.id} label=${t("chat.report_person", { name: user.name })} />
    ${blocked && html`<${Notice}>${t("chat.blocked_note")}<//>`}
    <${ErrorBox} error=${toggle.error} />
  </div>`;
}

export function Room({ params, account }) {
  const roomId = Number(params.id);
  const room = useAsync(() => api(`/chat/rooms/${roomId}`), [roomId]);
  const [messages, setMessages] = useState([]);
  const [older, setOlder] = useState(undefined); // cursor for older messages; null: none left
  const [error, setError] = useState(null);
  const [body, setBody] = useState("");
  const [connected, setConnected] = useState(live.isOpen());
  const box = useRef(null);
  const latest = useRef(0);
  const stickToBottom = useRef(true);
  latest.current = messages.length ? messages[messages.length - 1].id : latest.current;

  const scrollDown = () => {
    if (box.current && stickToBottom.current) box.current.scrollTop = box.current.scrollHeight;
  };

  const catchUp = useCallback(async () => {
    try {
      let after = latest.current;
      for (;;) {
        const page = await api(`/chat/rooms/${roomId}/messages${query({ after, limit: PAGE })}`);
        setMessages((list) => merge(list, page.items));
        if (!page.items.length || page.items.length < PAGE) break;
        after = page.items[page.items.length - 1].id;
      }
    } catch (e) {
      setError(e);
    }
  }, [roomId]);

  useEffect(() => {
    api(`/chat/rooms/${roomId}/messages${query({ limit: PAGE })}`).then((page) => {
      setMessages((list) => merge(list, page.items));
      setOlder(page.next_before ?? null);
    }, setError);
    return live.listen((event) => {
      if (event.type === "message" && event.message.room_id === roomId) setMessages((list) => merge(list, [event.message]));
      else if (event.type === "message_hidden" && event.room_id === roomId) {
        setMessages((list) => list.map((m) => (m.id === event.message_id ? { ...m, body: "", hidden: true } : m)));
      }
      else if (event.type === "open") {
        setConnected(true);
        if (event.reconnect) catchUp();
      } else if (event.type === "resync") catchUp();
      else if (event.type === "closed") setConnected(false);
    });
  }, [roomId]);

  // Read marks: the newest message shown is read.
  const newest = messages.length ? messages[messages.length - 1].id : null;
  useEffect(() => {
    scrollDown();
    if (newest !== null) api(`/chat/rooms/${roomId}/read`, { method: "POST", body: { message_id: newest } }).catch(() => {});
  }, [newest]);

  const loadOlder = useCallback(async () => {
    if (!older || !box.current) return;
    const before = box.current.scrollHeight;
    try {
      const page = await api(`/chat/rooms/${roomId}/messages${query({ before: older, limit: PAGE })}`);
      setOlder(page.next_before ?? null);
      setMessages((list) => merge(list, page.items));
      requestAnimationFrame(() => {
        if (box.current) box.current.scrollTop += box.current.scrollHeight - before;
      });
    } catch (e) {
      setError(e);
    }
  }, [older, roomId]);

  const sendForm = useSubmit(async () => {
    const text = body.trim();
    if (!text) return;
    let message;
    try {
      message = await live.send(roomId, text);
    } catch (e) {
      if (e.code !== "network" || live.isOpen()) throw Object.assign(new Error(e.message), e);
      message = await api(`/chat/rooms/${roomId}/messages`, { method: "POST", body: { body: text } });
    }
    stickToBottom.current = true;
    setMessages((list) => merge(list, [message]));
    setBody("");
  });

  const members = new Map(((room.data && room.data.members) || []).map((m) => [m.id, m.name]));
  // A direct room (two members) can block the other person.
  const people = (room.data && room.data.members) || [];
  const other = people.length === 2 ? people.find((m) => m.id !== account.id) : null;
  if (room.error) return html`<section><h1>${t("nav.chat")}</h1><${ErrorBox} error=${room.error} /></section>`;
  return html`<section class="chat">
    <h1>${room.data ? roomName(room.data, account.id) : t("nav.chat")}</h1>
    <div class="room-bar">
      <p class="muted" role="status">${connected ? t("chat.live") : t("chat.connecting")}</p>
      ${other && html`<${BlockButton} user=${other} />`}
    </div>
    <div class="messages" ref=${box} role="log" aria-label=${t("chat.messages")} tabindex="0"
      onScroll=${(e) => {
        const el = e.currentTarget;
        stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}>
      ${older && html`<${Sentinel} onVisible=${loadOlder} root=${box} />`}
      ${messages.map(
        (m) => html`<div key=${m.id} class=${m.sender_id === account.id ? "msg mine" : "msg"}>
          <span class="meta">${members.get(m.sender_id) || `#${m.sender_id}`} · <${Time} value=${m.created_at} /></span>
          ${m.hidden ? html`<em class="muted">${t("chat.hidden")}</em>` : m.body}
          ${!m.hidden && m.sender_id !== account.id &&
          html`<${ReportButton} targetType="chat_message" targetId=${m.id} label=${t("chat.report_named", { name: members.get(m.sender_id) || `#${m.sender_id}` })} />`}
        </div>`,
      )}
    </div>
    <${ErrorBox} error=${error || sendForm.error} />
    <form class="composer" onSubmit=${sendForm.submit}>
      <label class="visually-hidden" for="message-box">${t("chat.message")}</label>
      <input id="message-box" maxlength="4000" autocomplete="off" value=${body} onInput=${(e) => setBody(e.currentTarget.value)} />
      <button type="submit" disabled=${sendForm.pending || !body.trim()}>${t("chat.send")}</button>
    </form>
  </section>`;
}
