// The client of the public HTTP API, and the session. The access token lives in memory
// only; the refresh token is kept in localStorage so that a reload (or another tab) can get
// a new access token silently. Refreshes are serialised, within the tab and across tabs
// (Web Locks), because a refresh token works once: reusing a rotated one ends the session.
import { createStore } from "./store.js";

const BASE = "/api/v1";
const REFRESH_KEY = "app.refresh_token";
/// Renew the access token this long before it expires.
const EARLY_MS = 30_000;

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "unknown");
    this.details = error.details || {};
  }

  /// Problems by field name (`validation_failed`).
  get fields() {
    return this.details.fields || {};
  }
}

/// `{account}` while signed in, `null` otherwise; `undefined` until the first check is done.
export const session = createStore(undefined);
/// Set when a request found the session over: the app sends the user to log in and back.
export const expired = createStore(false);

let access = null; // { token, expiresAt }
let refreshing = null;

function storedRefresh() {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefresh(token) {
  try {
    if (token) localStorage.setItem(REFRESH_KEY, token);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    // Without storage the session lasts as long as the page.
  }
}

function accept(result) {
  access = { token: result.access_token, expiresAt: Date.now() + result.expires_in * 1000 };
  storeRefresh(result.refresh_token);
  session.set({ account: result.account });
}

function endSession() {
  access = null;
  storeRefresh(null);
  session.set(null);
}

async function send(path, { method = "GET", body, key, token, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (key) init.headers["Idempotency-Key"] = key;
  if (token) init.headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "The server cannot be reached." } });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function rotate() {
  // Another tab may have rotated it while we waited for the lock: read it now.
  const token = storedRefresh();
  if (!token) {
    endSession();
    return false;
  }
  try {
    accept(await send("/auth/refresh", { method: "POST", body: { refresh_token: token } }));
    return true;
  } catch (e) {
    if (e.status === 401 || e.status === 400) {
      endSession();
      return false;
    }
    throw e;
  }
}

/// Gets a fresh access token from the refresh token; false when the session is over.
export function refresh() {
  if (!refreshing) {
    const run = navigator.locks ? navigator.locks.request("app-refresh", rotate) : rotate();
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function accessToken() {
  if (access && access.expiresAt - EARLY_MS > Date.now()) return access.token;
  if (!storedRefresh()) return null;
  return (await refresh()) ? access.token : null;
}

/// The current access token (renewed when due), for the chat socket.
export const currentAccessToken = accessToken;

/// Calls the API. `auth: "optional"` sends the token only when signed in; `key` sets the
/// Idempotency-Key. A 401 renews the access token once and retries; when that fails the
/// session is over and `expired` tells the app.
export async function api(path, options = {}) {
  const { auth = true } = options;
  if (!auth) return send(path, options);
  const token = await accessToken();
  if (!token && auth === true) {
    expired.set(true);
    throw new ApiError(401, { error: { code: "unauthenticated", message: "Please log in." } });
  }
  try {
    return await send(path, { ...options, token });
  } catch (e) {
    if (e.status !== 401 || !token) throw e;
    if (await refresh()) return send(path, { ...options, token: access.token });
    expired.set(true);
    throw e;
  }
}

/// Restores the session at start-up from the stored refresh token.
export async function restore() {
  if (!storedRefresh()) {
    session.set(null);
    return;
  }
  try {
    await refresh();
  } catch {
    // The server is unreachable: stay signed out for now; the next request retries.
    if (session.get() === undefined) session.set(null);
  }
}

export async function login(email, password) {
  accept(await send("/auth/login", { method: "POST", body: { email, password } }));
  expired.set(false);
}

export async function logout() {
  const token = storedRefresh();
  endSession();
  if (token) {
    try {
      await send("/auth/logout", { method: "POST", body: { refresh_token: token } });
    } catch {
      // Signed out here either way; the server ends the session when the token expires.
    }
  }
}

/// Replaces the signed-in account (after a profile change).
export function updateAccount(account) {
  session.set({ account });
}

export function signedIn() {
  return Boolean(session.get());
}

export function role() {
  const s = session.get();
  return s ? s.account.role : null;
}

/// A fresh key for one money-moving intent (kept while that intent is retried).
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/// The country for the feed (`X-Country`), from the browser's preferred language region.
export function country() {
  return (window.__boot && window.__boot.country) || null;
}

/// `?a=1&b=2` from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
