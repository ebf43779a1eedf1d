// Public names of accounts (`GET /accounts/{id}`), fetched once each per page load.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";

/// Public names of accounts, fetched once each.
const names = new Map();
export function useNames(ids) {
  const [, setTick] = useState(0);
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    const missing = [...new Set(ids)].filter((id) => !names.has(id));
    if (!missing.length) return;
    Promise.all(missing.map((id) => api(`/accounts/${id}`).then((p) => names.set(id, p.name), () => names.set(id, `#${id}`)))).then(() =>
      setTick((n) => n + 1),
    );
  }, [key]);
  return (id) => names.get(id) || `#${id}`;
}
