// Client-side routing over the History API: the server answers index.html for every app
// path, so a reload or a link from an email opens the same page.
import { createStore } from "./store.js";

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export const location$ = createStore(current());

export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) {
    location$.set(current());
    return;
  }
  history[replace ? "replaceState" : "pushState"](null, "", to);
  location$.set(current());
  window.scrollTo(0, 0);
}

addEventListener("popstate", () => location$.set(current()));

// Same-origin links navigate in place (modified clicks still open new tabs).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest && event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  if (a.pathname.startsWith("/api/") || a.pathname.startsWith("/swagger-ui")) return;
  event.preventDefault();
  navigate(a.pathname + a.search);
});

/// Matches `/orders/:id` against a path; returns the parameters or null.
export function match(pattern, path) {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

/// The path (with query) to come back to after logging in.
export function here() {
  return location.pathname + location.search;
}
