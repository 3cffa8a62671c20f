// The connect wizard: provider, client, scopes (or a custom provider's URLs), then the
// wait for the browser sign-in, which can be cancelled.
import * as api from "../api";
import { el, h, show } from "../dom";
import { errorText } from "../format";
import { connectFormProblem, secretWarning } from "../logic";
import { openDetail, register, setPane } from "../nav";
import { state } from "../state";
import type { ConnectForm } from "../types";
import { load } from "./connections";

const FIELDS = ["connect-name", "connect-client-id", "connect-scopes", "connect-authorize", "connect-token-url", "connect-revocation"];

function formValue(): ConnectForm {
  const v = (id: string): string => el<HTMLInputElement>(id).value;
  return {
    name: v("connect-name"),
    provider: v("connect-provider"),
    clientId: v("connect-client-id"),
    clientSecret: v("connect-secret"),
    scopes: v("connect-scopes"),
    authorizeUrl: v("connect-authorize"),
    tokenUrl: v("connect-token-url"),
    revocationUrl: v("connect-revocation"),
  };
}

function update(): void {
  const f = formValue();
  el("custom-fields").hidden = f.provider !== "custom";
  show("secret-warning", secretWarning(state.providers.find((p) => p.name === f.provider), f.clientSecret));
}

async function open(): Promise<void> {
  show("connect-error", null);
  el("connect-form").hidden = false;
  el("connect-waiting").hidden = true;
  setPane("connect");
  try {
    state.providers = await api.providers();
  } catch (e) {
    show("connect-error", errorText(e));
  }
  const sel = el<HTMLSelectElement>("connect-provider");
  const keep = sel.value;
  sel.replaceChildren(
    ...state.providers.map((p) => h("option", { value: p.name }, `${p.name} (${p.source})`)),
    h("option", { value: "custom" }, "Custom provider…"),
  );
  if (keep) sel.value = keep;
  update();
}

async function submit(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const f = formValue();
  const problem = connectFormProblem(f);
  show("connect-error", problem);
  if (problem) return;
  el<HTMLInputElement>("connect-secret").value = "";
  el("connect-form").hidden = true;
  el("connect-waiting").hidden = false;
  el("connect-cancel").focus();
  try {
    const c = await api.connect(f);
    for (const id of FIELDS) el<HTMLInputElement>(id).value = "";
    await load();
    openDetail(c.name);
    const checked = c.checkError
      ? `The connection check failed: ${c.checkError}`
      : c.check.length > 0
        ? `Connection check: ${c.check.map(([k, v]) => `${k} ${v}`).join(", ")}.`
        : "No connection check for this provider.";
    show("detail-message", `Connected “${c.name}” to ${c.providerName}. ${checked}`);
  } catch (e) {
    show("connect-error", errorText(e));
    el("connect-form").hidden = false;
    el("connect-name").focus();
  } finally {
    el("connect-waiting").hidden = true;
  }
}

/** Wires the pane once. */
export function mount(): void {
  register("connect", { focus: "connect-name" });
  el("connect-open").addEventListener("click", () => void open());
  el("connect-back").addEventListener("click", () => {
    void api.cancelConnect();
    setPane("connections");
  });
  for (const id of ["connect-provider", "connect-secret"]) {
    el(id).addEventListener("input", update);
    el(id).addEventListener("change", update);
  }
  el("connect-cancel").addEventListener("click", () => void api.cancelConnect());
  el<HTMLFormElement>("connect-form").addEventListener("submit", (ev) => void submit(ev));
}

/** Forgets what was typed (on lock). */
export function clear(): void {
  show("connect-error", null);
  el<HTMLInputElement>("connect-secret").value = "";
}
