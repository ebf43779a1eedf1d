// Every string of the app, in English (the default) and Korean: the browser's first
// preferred language picks Korean, and the language switch overrides it (remembered).
import { createStore } from "./store.js";
import en from "./i18n/en.js";
import ko from "./i18n/ko.js";

export const catalogs = { en, ko };
const KEY = "app.lang";

function initial() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && catalogs[saved]) return saved;
  } catch {
    // Storage may be unavailable (private mode); fall back to the browser's choice.
  }
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return first.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export const lang = createStore(initial());
document.documentElement.lang = lang.get();

export function setLang(next) {
  if (!catalogs[next]) return;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Not remembered, but still switched for this visit.
  }
  document.documentElement.lang = next;
  lang.set(next);
}

/// `t("cart.total", { n: 3 })`: the string for the current language, `{name}`s filled in.
export function t(key, params) {
  const text = catalogs[lang.get()][key] ?? en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/// The message for an API error: ours for its code when we have one, else the server's.
export function errorText(error) {
  if (!error) return "";
  const key = `error.${error.code}`;
  if (catalogs[lang.get()][key]) return t(key);
  return error.message || t("error.unknown");
}
