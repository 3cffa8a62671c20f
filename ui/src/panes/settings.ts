// Settings: auto-lock, refresh lead, notifications, the tray on close; and where the vault is.
import * as api from "../api";
import { el, h, notice } from "../dom";
import { errorText, isCancelled } from "../format";
import { settingsProblem } from "../logic";
import { register } from "../nav";
import { hooks, state } from "../state";

/** The form holds changes not saved yet: they are kept across tab switches, and said. */
let dirty = false;

function setDirty(on: boolean): void {
  dirty = on;
  el("settings-discard").hidden = !on;
  if (on) notice("settings-message", "warning", "Unsaved changes: Save settings to keep them.");
}

async function load(): Promise<void> {
  if (dirty) {
    setDirty(true); // coming back to unsaved changes: still there, and said
    return;
  }
  try {
    const v = await api.getSettings();
    const sel = el<HTMLSelectElement>("set-autolock");
    sel.value = String(v.settings.autoLockMinutes);
    if (sel.value === "") {
      sel.append(h("option", { value: String(v.settings.autoLockMinutes) }, `${v.settings.autoLockMinutes} minutes`));
      sel.value = String(v.settings.autoLockMinutes);
    }
    el<HTMLInputElement>("set-ahead").value = String(v.settings.refreshAheadMinutes);
    el<HTMLInputElement>("set-notify").checked = v.settings.notifications;
    el<HTMLInputElement>("set-tray").checked = v.settings.keepRunningInTray;
    notice("settings-message", "warning", v.problem);
    el("settings-facts").replaceChildren(
      ...[...state.contextFacts, ["Data directory", v.dataDir], ["Providers file", v.providersFile ?? "—"]].map(([k, val]) =>
        h("div", { class: "fact" }, h("dt", {}, k!), h("dd", { class: "mono" }, val!)),
      ),
    );
  } catch (e) {
    notice("settings-message", "failure", errorText(e));
  }
}

async function save(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const settings = {
    autoLockMinutes: Number(el<HTMLSelectElement>("set-autolock").value),
    refreshAheadMinutes: Number(el<HTMLInputElement>("set-ahead").value),
    notifications: el<HTMLInputElement>("set-notify").checked,
    keepRunningInTray: el<HTMLInputElement>("set-tray").checked,
  };
  const problem = settingsProblem(settings);
  if (problem) {
    notice("settings-message", "failure", problem);
    return;
  }
  try {
    await api.saveSettings(settings);
    setDirty(false);
    notice("settings-message", "success", "Saved. The auto-lock counts from now.");
    hooks.settingsChanged(settings.autoLockMinutes);
  } catch (e) {
    notice("settings-message", "failure", `Not saved: ${errorText(e)}`);
  }
}

async function backup(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const path = el<HTMLInputElement>("backup-path").value;
  const own = el<HTMLInputElement>("backup-own").checked;
  const button = el<HTMLButtonElement>("backup-save");
  button.disabled = true;
  try {
    const done = await api.backupVault(path, own);
    notice("backup-message", "success", done.message);
  } catch (e) {
    if (!isCancelled(e)) notice("backup-message", "failure", `Not written: ${errorText(e)}`);
  } finally {
    button.disabled = false;
  }
}

async function restore(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const path = el<HTMLInputElement>("restore-path").value;
  const moved = el<HTMLInputElement>("restore-moved").checked;
  const button = el<HTMLButtonElement>("restore-run");
  button.disabled = true;
  try {
    const done = await api.restoreBackup(path, moved);
    notice("restore-message", done.message.includes("copies") ? "warning" : "success", done.message);
  } catch (e) {
    if (!isCancelled(e)) notice("restore-message", "failure", `Not restored: ${errorText(e)}`);
  } finally {
    button.disabled = false;
  }
}

/** Wires the pane once. */
export function mount(): void {
  el<HTMLFormElement>("backup-form").addEventListener("submit", (ev) => void backup(ev));
  el<HTMLFormElement>("restore-form").addEventListener("submit", (ev) => void restore(ev));
  register("settings", { shown: () => void load() });
  el<HTMLFormElement>("settings-form").addEventListener("submit", (ev) => void save(ev));
  for (const id of ["set-autolock", "set-ahead", "set-notify", "set-tray"]) {
    el(id).addEventListener("input", () => setDirty(true));
    el(id).addEventListener("change", () => setDirty(true));
  }
  el("settings-discard").addEventListener("click", () => {
    setDirty(false);
    notice("settings-message", "info", null);
    void load();
  });
}

/** Forgets unsaved changes (on lock). */
export function clear(): void {
  setDirty(false);
  for (const id of ["settings-message", "backup-message", "restore-message"]) notice(id, "info", null);
}
