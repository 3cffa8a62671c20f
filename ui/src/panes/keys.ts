// Keys: rotate the data key (with progress) and change the passphrase.
import * as api from "../api";
import { el, notice } from "../dom";
import { errorText } from "../format";
import { progressText, rotatedText } from "../logic";
import { hooks, state } from "../state";
import { passphraseStrength } from "../strength";

const PASS_FIELDS = ["pw-current", "pw-new", "pw-confirm"];

async function rotate(): Promise<void> {
  const b = el<HTMLButtonElement>("rotate-key");
  b.disabled = true;
  notice("rotate-message", "info", null);
  el("rotate-status").hidden = false;
  el("rotate-text").textContent = progressText(0, 0);
  let records = 0; // what the progress counted: the number the result repeats
  const stop = await api.onRotationProgress(({ done, total }) => {
    const p = el<HTMLProgressElement>("rotate-progress");
    p.max = Math.max(1, total);
    p.value = done;
    records = total;
    el("rotate-text").textContent = progressText(done, total);
  });
  try {
    const f = await api.rotateKey();
    hooks.facts(f);
    notice("rotate-message", "success", rotatedText(f.generation, records, f.recordCount ?? 0));
  } catch (e) {
    notice("rotate-message", "failure", `Not rotated: ${errorText(e)} The old key stays in force.`);
  } finally {
    stop();
    el("rotate-status").hidden = true;
    b.disabled = false;
  }
}

async function changePassphrase(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const [cur, nw, conf] = PASS_FIELDS.map((id) => el<HTMLInputElement>(id)) as [HTMLInputElement, HTMLInputElement, HTMLInputElement];
  notice("keys-message", "info", null);
  if (nw.value !== conf.value) {
    notice("keys-message", "failure", "The two new passphrases do not match.");
    conf.focus();
    return;
  }
  const [c, n, k] = [cur.value, nw.value, conf.value];
  for (const i of [cur, nw, conf]) i.value = "";
  el("pw-strength").textContent = "";
  const b = el<HTMLButtonElement>("pw-submit");
  b.disabled = true;
  b.textContent = "Changing…";
  try {
    hooks.facts(await api.changePassphrase(c, n, k));
    notice("keys-message", "success", "Passphrase changed. Use the new one from now on.");
  } catch (e) {
    notice("keys-message", "failure", errorText(e));
    cur.focus();
  } finally {
    b.disabled = false;
    b.textContent = "Change passphrase";
  }
}

/** Wires the pane once. */
export function mount(): void {
  el("rotate-key").addEventListener("click", () => void rotate());
  const nw = el<HTMLInputElement>("pw-new");
  nw.addEventListener("input", () => {
    // The rule is Rust's: the shortest new passphrase it accepts.
    const st = passphraseStrength(nw.value, state.minPassphraseChars);
    el("pw-strength").textContent = nw.value ? `${st.label}. ${st.advice}` : "";
  });
  el<HTMLFormElement>("passwd-form").addEventListener("submit", (ev) => void changePassphrase(ev));
}

/** Forgets what was typed (on lock). */
export function clear(): void {
  for (const id of ["keys-message", "rotate-message"]) notice(id, "info", null);
  for (const id of PASS_FIELDS) el<HTMLInputElement>(id).value = "";
}
