// Money as points with thousands separators, times in the viewer's own time zone.
import { lang } from "./i18n.js";

const locale = () => (lang.get() === "ko" ? "ko-KR" : "en-US");

export function money(points) {
  if (points === null || points === undefined) return "—";
  return `${new Intl.NumberFormat(locale()).format(points)} P`;
}

export function number(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

export function time(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

/// The value for an <input type="datetime-local"> showing `date` in local time.
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
