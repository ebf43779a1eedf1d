// Shared components and hooks: labelled fields, error boxes, money and times, paging, the
// endless-scroll sentinel and data loading.
import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { errorText, t } from "./i18n.js";
import { money, time } from "./format.js";

export const html = htm.bind(h);

let ids = 0;
/// A stable unique id for label/field pairs.
export function useId(prefix = "f") {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++ids}`;
  return ref.current;
}

/// A labelled input (or `as="textarea" | "select"`), with its problem announced.
export function Field({ label, hint, problem, as = "input", children, ...props }) {
  const id = useId();
  const described = [hint && `${id}-hint`, problem && `${id}-problem`].filter(Boolean).join(" ") || undefined;
  const control = h(as, { id, "aria-describedby": described, "aria-invalid": problem ? "true" : undefined, ...props }, children);
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${hint && html`<div class="hint" id=${`${id}-hint`}>${hint}</div>`}
    ${control}
    ${problem && html`<div class="problem" id=${`${id}-problem`}>${problem}</div>`}
  </div>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="alert error" role="alert">${typeof error === "string" ? error : errorText(error)}</div>`;
}

export function Notice({ kind = "info", children }) {
  return html`<div class=${`alert ${kind}`} role="status">${children}</div>`;
}

export function Money({ value }) {
  return html`<span class="money">${money(value)}</span>`;
}

export function Time({ value }) {
  return value ? html`<time datetime=${value}>${time(value)}</time>` : html`<span>—</span>`;
}

export function Loading() {
  return html`<p class="muted" role="status">${t("common.loading")}</p>`;
}

export function Status({ value }) {
  return html`<span class="status">${t(`status.${value}`)}</span>`;
}

/// Previous / next over a `{page, size, total}` list.
export function Pager({ page, size, total, onPage }) {
  const pages = Math.max(1, Math.ceil(total / size));
  if (pages <= 1) return null;
  return html`<nav class="pager" aria-label=${t("common.pages")}>
    <button class="secondary" disabled=${page <= 0} onClick=${() => onPage(page - 1)}>${t("common.previous")}</button>
    <span>${t("common.page_of", { page: page + 1, pages })}</span>
    <button class="secondary" disabled=${page + 1 >= pages} onClick=${() => onPage(page + 1)}>${t("common.next")}</button>
  </nav>`;
}

/// Loads `fn()` when `deps` change: `{data, error, loading, reload, setData}`.
export function useAsync(fn, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const run = useRef(0);
  const load = useCallback(() => {
    const mine = ++run.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    fn().then(
      (data) => mine === run.current && setState({ data, error: null, loading: false }),
      (error) => mine === run.current && setState((s) => ({ ...s, error, loading: false })),
    );
  }, deps);
  useEffect(() => {
    load();
    return () => {
      run.current++;
    };
  }, [load]);
  const setData = (data) => setState((s) => ({ ...s, data: typeof data === "function" ? data(s.data) : data }));
  return { ...state, reload: load, setData };
}

/// A cursor list (`?before=&limit=`, answered with `items` and `next_before`) loaded a page
/// at a time: `fetchPage(before)` loads one, `more` loads the next (hand it to a `Sentinel`),
/// and a change of `deps` starts again from the first page. An item already listed (one that
/// arrived live, say) is not listed twice. `next` is `undefined` before the first page and
/// `null` after the last: `{items, setItems, next, busy, error, more}`.
export function useCursorList(fetchPage, deps) {
  const [items, setItems] = useState([]);
  const [next, setNext] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    setItems([]);
    setError(null);
    setNext(undefined);
  }, deps);
  const more = useCallback(async () => {
    if (busy || next === null) return;
    setBusy(true);
    try {
      const page = await fetchPage(next);
      setItems((old) => (next === undefined ? page.items : [...old, ...page.items.filter((n) => !old.some((o) => o.id === n.id))]));
      setNext(page.next_before ?? null);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, [busy, next, ...deps]);
  useEffect(() => {
    if (next === undefined && !busy && !error) more();
  }, [next, busy, error]);
  return { items, setItems, next, busy, error, more };
}

/// Calls `onVisible` whenever the returned element's sentinel scrolls into view.
export function Sentinel({ onVisible, root }) {
  const ref = useRef(null);
  useEffect(() => {
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onVisible(), {
      root: root ? root.current : null,
      rootMargin: "200px",
    });
    if (ref.current) observer.observe(ref.current);
    return () => observer.disconnect();
  }, [onVisible]);
  return html`<div ref=${ref} class="sentinel" aria-hidden="true"></div>`;
}

/// A form submission with a pending flag and the API error it ended with.
export function useSubmit(action) {
  const [state, setState] = useState({ pending: false, error: null });
  const submit = async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    if (state.pending) return undefined;
    setState({ pending: true, error: null });
    try {
      const result = await action(event);
      setState({ pending: false, error: null });
      return result;
    } catch (error) {
      setState({ pending: false, error });
      return undefined;
    }
  };
  return { ...state, submit, setError: (error) => setState({ pending: false, error }) };
}

/// The problem the server reported for `field` (validation_failed), translated when known.
export function problemOf(error, field) {
  if (!error || !error.fields) return undefined;
  return error.fields[field];
}
