// The chat WebSocket (`/chat/ws`): one socket per tab while a page listens, reconnected with
// backoff (with a fresh access token) when it drops. Listeners get the server's frames
// (`message`, `resync`, …) and `{type: "open", reconnect}` so they can catch up with
// `?after=` on what they missed.
import { currentAccessToken, session } from "./api.js";

const listeners = new Set();
const pending = new Map();
let socket = null;
let connecting = false;
let opened = false;
let attempts = 0;
let counter = 0;
let retryTimer = null;

function emit(event) {
  for (const listener of [...listeners]) listener(event);
}

function settle(clientId, error, message) {
  const waiting = pending.get(clientId);
  if (!waiting) return;
  pending.delete(clientId);
  clearTimeout(waiting.timer);
  if (error) waiting.reject(error);
  else waiting.resolve(message);
}

async function connect() {
  if (socket || connecting || !listeners.size) return;
  connecting = true;
  let token = null;
  try {
    token = await currentAccessToken();
  } catch {
    token = null;
  }
  connecting = false;
  if (!token || !listeners.size || socket) {
    if (listeners.size && session.get()) retry();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/chat/ws?access_token=${encodeURIComponent(token)}`);
  socket = ws;
  ws.onopen = () => {
    attempts = 0;
    emit({ type: "open", reconnect: opened });
    opened = true;
  };
  ws.onmessage = (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "ack") settle(frame.client_id, null, frame.message);
    else if (frame.type === "error" && frame.client_id) settle(frame.client_id, frame);
    else emit(frame);
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    for (const id of [...pending.keys()]) settle(id, { code: "network", message: "The connection dropped." });
    emit({ type: "closed" });
    if (listeners.size && session.get()) retry();
  };
}

function retry() {
  clearTimeout(retryTimer);
  const delay = Math.min(15000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
  attempts++;
  retryTimer = setTimeout(connect, delay);
}

/// Listens to the socket's events; returns the function that stops listening.
export function listen(listener) {
  listeners.add(listener);
  connect();
  return () => {
    listeners.delete(listener);
    if (!listeners.size) close();
  };
}

export function isOpen() {
  return Boolean(socket && socket.readyState === WebSocket.OPEN);
}

export function close() {
  clearTimeout(retryTimer);
  opened = false;
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close();
  }
}

/// Sends a message over the socket; resolves with the stored message (the `ack`).
export function send(roomId, body) {
  if (!isOpen()) return Promise.reject({ code: "network", message: "Not connected." });
  const clientId = `c${++counter}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(clientId, { code: "network", message: "No answer from the server." }), 10000);
    pending.set(clientId, { resolve, reject, timer });
    socket.send(JSON.stringify({ type: "send", room_id: roomId, body, client_id: clientId }));
  });
}

session.subscribe((s) => {
  if (s === null) close();
});
