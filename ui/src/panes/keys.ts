// Keys: rotate the data key (with progress) and change the passphrase.
import * as api from "../api";
import { el, notice } from "../dom";
import { errorText, isCancelled } from "../format";
import { progressText, rotatedText } from "../logic";
import { hooks } from "../state";

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
  notice("keys-message", "info", null);
  const b = el<HTMLButtonElement>("pw-submit");
  b.disabled = true;
  b.textContent = "Waiting for the passphrases…";
  try {
    hooks.facts(await api.changePassphrase());
    notice("keys-message", "success", "Passphrase changed. Use the new one from now on.");
  } catch (e) {
    if (!isCancelled(e)) notice("keys-message", "failure", errorText(e));
  } finally {
    b.disabled = false;
    b.textContent = "Change passphrase…";
    b.focus();
  }
}

/** Wires the pane once. */
export function mount(): void {
  el("rotate-key").addEventListener("click", () => void rotate());
  el<HTMLFormElement>("passwd-form").addEventListener("submit", (ev) => void changePassphrase(ev));
}

/** Forgets what was said (on lock). */
export function clear(): void {
  for (const id of ["keys-message", "rotate-message"]) notice(id, "info", null);
}
