// The unread notification count for the header's bell, kept current while signed in: read
// once, then moved by the `notification` frames of the chat socket (which stays open while
// signed in, so notifications arrive live on every page) and re-read after a reconnect or
// a `resync`. Pages listen to the new notifications themselves with `onNotification`.
import { api, session } from "./api.js";
import * as live from "./live.js";
import { createStore } from "./store.js";

export const unread = createStore(0);
const listeners = new Set();
let stop = null;
let reading = 0;

/// Re-reads the count from the server (also after marking notifications read).
export async function recount() {
  const mine = ++reading;
  try {
    const result = await api("/notifications/unread-count");
    if (mine === reading) unread.set(result.count);
  } catch {
    // Kept as it was; the next frame or page view reads it again.
  }
}

function start() {
  if (stop) return;
  recount();
  stop = live.listen((event) => {
    if (event.type === "notification" && event.notification) {
      if (typeof event.unread_count === "number") unread.set(event.unread_count);
      else if (!event.notification.read) unread.set((n) => n + 1);
      for (const listener of [...listeners]) listener(event.notification);
    } else if ((event.type === "open" && event.reconnect) || event.type === "resync") recount();
  });
}

function end() {
  if (stop) stop();
  stop = null;
  unread.set(0);
}

session.subscribe((s) => (s ? start() : end()));

/// Calls `listener(notification)` for each live notification; returns the function that stops.
export function onNotification(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
