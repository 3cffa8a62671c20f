// The "Add API key" form: a Pleo API key, verified with Pleo before it is saved (the
// company it acts for is then shown). The key itself is pasted in Token Wallet's own
// window, which the save opens: it never enters the page.
import * as api from "../api";
import { el, fieldProblem, h, notice, now, type Tone } from "../dom";
import { errorText, isCancelled } from "../format";
import { addKeyProblem, expiryGate } from "../logic";
import { openDetail, register, setPane } from "../nav";
import { state } from "../state";
import type { AddKeyForm } from "../types";
import { load } from "./connections";

const INPUT: Record<keyof AddKeyForm, string> = {
  name: "addkey-name",
  provider: "addkey-provider",
  expires: "addkey-expires",
};

/** Shows `message` beside `field` (or under the button), or clears it. */
function problem(message: string | null, field?: keyof AddKeyForm, tone: Tone = "failure"): void {
  fieldProblem("addkey-error", Object.values(INPUT), message, field ? INPUT[field] : null, "addkey-submit", tone);
}

/** Saving without an expiry date was asked about, and the date left empty since. */
let noDateAsked = false;

async function open(): Promise<void> {
  problem(null);
  noDateAsked = false;
  setPane("addkey");
  try {
    state.providers = await api.providers();
  } catch (e) {
    problem(errorText(e));
  }
  const sel = el<HTMLSelectElement>("addkey-provider");
  const keep = sel.value;
  const pleo = state.providers.filter((p) => p.pleo);
  sel.replaceChildren(...pleo.map((p) => h("option", { value: p.name }, p.displayName)));
  if (keep) sel.value = keep;
}

async function submit(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const v = (id: string): string => el<HTMLInputElement>(id).value;
  const form: AddKeyForm = {
    name: v("addkey-name").trim(),
    provider: v("addkey-provider"),
    expires: v("addkey-expires"),
  };
  const bad = addKeyProblem(form, now());
  if (bad) {
    problem(bad.message, bad.field);
    return;
  }
  // A key with no date is saved only when asked twice: nothing could warn before it ends.
  const gate = expiryGate(form.expires, noDateAsked, now());
  noDateAsked = gate?.tone === "warning";
  if (gate) {
    problem(gate.message, "expires", gate.tone);
    return;
  }
  problem(null);
  const button = el<HTMLButtonElement>("addkey-submit");
  button.disabled = true;
  button.textContent = "Waiting for the key…";
  try {
    const c = await api.addApiKey(form);
    for (const id of ["addkey-name", "addkey-expires"]) el<HTMLInputElement>(id).value = "";
    await load();
    openDetail(c.name);
    const company = c.account;
    notice(
      "detail-message",
      "success",
      `Added API key “${c.name}”. ${c.providerName} confirms it acts for ${company ?? "its company"}.`,
    );
  } catch (e) {
    if (!isCancelled(e)) problem(errorText(e));
  } finally {
    button.disabled = false;
    button.textContent = "Verify with Pleo and save";
  }
}

/** Wires the pane once. */
export function mount(): void {
  register("addkey", { focus: "addkey-name" });
  el("addkey-open").addEventListener("click", () => void open());
  el("addkey-back").addEventListener("click", () => setPane("connections"));
  for (const id of Object.values(INPUT)) {
    el(id).addEventListener("input", () => {
      if (el(id).getAttribute("aria-invalid") === "true") problem(null);
    });
  }
  el("addkey-expires").addEventListener("input", () => {
    noDateAsked = false;
  });
  el<HTMLFormElement>("addkey-form").addEventListener("submit", (ev) => void submit(ev));
}

/** Forgets what was said (on lock). */
export function clear(): void {
  problem(null);
}
