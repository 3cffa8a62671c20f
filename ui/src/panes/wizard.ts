// The connect wizard: provider, client, scopes (or a custom provider's URLs), then the
// wait for the browser sign-in, which can be cancelled.
import * as api from "../api";
import { el, fieldProblem, h, notice, show } from "../dom";
import { errorText, isCancelled } from "../format";
import { checkLabel, connectFormProblem, providerOption, secretWarning, wizardDefaults, type FormProblem } from "../logic";
import { openDetail, register, setPane } from "../nav";
import { state } from "../state";
import type { ConnectForm } from "../types";
import { load } from "./connections";
import { askAccount } from "./detail";

/** Each form value's input. */
const INPUT: Record<keyof ConnectForm, string> = {
  name: "connect-name",
  provider: "connect-provider",
  clientId: "connect-client-id",
  confidential: "connect-confidential",
  scopes: "connect-scopes",
  authorizeUrl: "connect-authorize",
  tokenUrl: "connect-token-url",
  revocationUrl: "connect-revocation",
};

/** Shows `p` beside its field (marked invalid and focused), or clears any problem shown. */
function problem(p: FormProblem | null): void {
  fieldProblem("connect-error", Object.values(INPUT), p?.message ?? null, p ? INPUT[p.field] : null, "connect-submit");
}

/** A failure the sign-in reported (not tied to one field): under the submit button. */
function failed(message: string): void {
  fieldProblem("connect-error", Object.values(INPUT), message, null, "connect-submit");
}

function formValue(): ConnectForm {
  const v = (id: string): string => el<HTMLInputElement>(id).value;
  return {
    name: v("connect-name"),
    provider: v("connect-provider"),
    clientId: v("connect-client-id"),
    confidential: el<HTMLInputElement>("connect-confidential").checked,
    scopes: v("connect-scopes"),
    authorizeUrl: v("connect-authorize"),
    tokenUrl: v("connect-token-url"),
    revocationUrl: v("connect-revocation"),
  };
}

function update(): void {
  const f = formValue();
  el("custom-fields").hidden = f.provider !== "custom";
  const p = state.providers.find((x) => x.name === f.provider);
  show("secret-warning", secretWarning(p, f.confidential));
  const d = wizardDefaults(p);
  el<HTMLInputElement>("connect-client-id").placeholder = d.clientId;
  el<HTMLInputElement>("connect-scopes").placeholder = d.scopes;
}

async function open(): Promise<void> {
  problem(null);
  el("connect-form").hidden = false;
  el("connect-waiting").hidden = true;
  setPane("connect");
  try {
    state.providers = await api.providers();
  } catch (e) {
    failed(errorText(e));
  }
  const sel = el<HTMLSelectElement>("connect-provider");
  const keep = sel.value;
  sel.replaceChildren(
    ...state.providers.map((p) => h("option", { value: p.name }, providerOption(p))),
    h("option", { value: "custom" }, "Custom provider…"),
  );
  if (keep) sel.value = keep;
  update();
}

async function submit(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const f = formValue();
  const bad = connectFormProblem(
    f,
    state.providers.find((x) => x.name === f.provider),
  );
  problem(bad);
  if (bad) return;
  el("connect-form").hidden = true;
  notice("connect-wait-message", "info", null);
  el("connect-waiting").hidden = false;
  el("connect-cancel").focus();
  try {
    const c = await api.connect(f);
    // Typed values go; the provider stays chosen.
    for (const [k, id] of Object.entries(INPUT)) if (k !== "provider" && k !== "confidential") el<HTMLInputElement>(id).value = "";
    el<HTMLInputElement>("connect-confidential").checked = false;
    await load();
    openDetail(c.name);
    const who: [string, string] | null =
      c.account !== null ? ["subjectURN", c.account] : c.application !== null ? ["applicationName", c.application] : null;
    const checked = c.checkError
      ? `The connection check failed: ${c.checkError}`
      : who
        ? `The provider confirms it: ${checkLabel(who[0]).toLowerCase()} ${who[1]}.`
        : c.check.length > 0
          ? "The provider confirmed the connection."
          : "This provider offers no connection check.";
    notice(
      "detail-message",
      c.checkError ? "warning" : "success",
      `Connected “${c.name}” to ${c.providerName}. ${checked}`,
    );
    if (who) askAccount(c.name, `${checkLabel(who[0]).toLowerCase()} ${who[1]}`);
  } catch (e) {
    el("connect-form").hidden = false;
    if (!isCancelled(e)) failed(errorText(e));
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
  for (const id of ["connect-provider", "connect-confidential"]) {
    el(id).addEventListener("input", update);
    el(id).addEventListener("change", update);
  }
  // A problem shown beside a field goes as soon as that field is edited.
  for (const id of Object.values(INPUT)) {
    el(id).addEventListener("input", () => {
      if (el(id).getAttribute("aria-invalid") === "true") problem(null);
    });
  }
  el("connect-cancel").addEventListener("click", () => void api.cancelConnect());
  el("connect-reopen").addEventListener("click", () => {
    void api.reopenSignIn();
    notice("connect-wait-message", "info", "Opened the sign-in again in the browser (the earlier link no longer works).");
  });
  el("connect-copy-link").addEventListener("click", async () => {
    try {
      await api.copySignInLink();
      notice("connect-wait-message", "success", "Sign-in link copied: paste it into a browser. The clipboard is cleared in 30 s.");
    } catch (e) {
      notice("connect-wait-message", "failure", errorText(e));
    }
  });
  el<HTMLFormElement>("connect-form").addEventListener("submit", (ev) => void submit(ev));
}

/** Forgets what was said (on lock). */
export function clear(): void {
  problem(null);
}
