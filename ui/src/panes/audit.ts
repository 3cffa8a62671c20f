// The audit log: verified on open, filtered by text, event and authentication.
import * as api from "../api";
import { el, h, now } from "../dom";
import { errorText, formatAge } from "../format";
import { auditDetail, auditEvents, auditVerdict, clockTime, eventLabel, filterAudit } from "../logic";
import { register } from "../nav";
import { state } from "../state";

async function load(): Promise<void> {
  const v = el("audit-verdict");
  v.textContent = "Verifying…";
  let audit;
  try {
    audit = state.audit = await api.auditLog();
  } catch (e) {
    v.textContent = errorText(e);
    v.dataset.ok = "false";
    return;
  }
  v.dataset.ok = String(audit.intact);
  v.textContent = audit.intact
    ? auditVerdict(audit.lines.length, audit.authenticated)
    : `The audit log is BROKEN: ${audit.broken}. Someone or something changed ${audit.path}.`;
  const sel = el<HTMLSelectElement>("audit-event");
  const keep = sel.value;
  sel.replaceChildren(
    h("option", { value: "" }, "All events"),
    ...auditEvents(audit.lines).map((e) => h("option", { value: e }, eventLabel(e))),
  );
  sel.value = keep;
  render();
}

function render(): void {
  const audit = state.audit;
  if (!audit) return;
  const lines = filterAudit(audit.lines, {
    text: el<HTMLInputElement>("audit-filter").value,
    event: el<HTMLSelectElement>("audit-event").value,
    unauthenticatedOnly: el<HTMLInputElement>("audit-unauth").checked,
  });
  const t = now();
  el("audit-count").textContent = `Showing ${lines.length} of ${audit.lines.length} lines`;
  el("audit-lines").replaceChildren(
    ...lines.slice(0, 500).map((l) =>
      h(
        "li",
        { class: l.authenticated ? "" : "unauth" },
        h("span", { class: "when", title: `line ${l.seq}, ${new Date(l.ts * 1000).toISOString()}` }, `${clockTime(l.ts, t)} · ${formatAge(l.ts, t)}`),
        h("span", { class: "event" }, eventLabel(l.event)),
        h("span", { class: "fields", title: auditDetail(l.fields).detail }, auditDetail(l.fields).text),
        l.authenticated ? "" : h("span", { class: "badge tone-info", title: "Written while the vault was locked, so not signed with the audit key; the chain still covers it." }, "unsigned"),
      ),
    ),
  );
}

/** Wires the pane once. */
export function mount(): void {
  register("audit", { shown: () => void load() });
  el("audit-reload").addEventListener("click", () => void load());
  for (const id of ["audit-filter", "audit-event", "audit-unauth"]) {
    el(id).addEventListener("input", render);
    el(id).addEventListener("change", render);
  }
}

/** Forgets what was shown (on lock). */
export function clear(): void {
  el("audit-lines").replaceChildren();
}
