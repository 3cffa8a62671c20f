// Settings: auto-lock, refresh lead, notifications; and where the vault is.
import * as api from "../api";
import { el, h, show } from "../dom";
import { errorText } from "../format";
import { settingsProblem } from "../logic";
import { register } from "../nav";
import { hooks, state } from "../state";

async function load(): Promise<void> {
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
    show("settings-error", v.problem);
    el("settings-facts").replaceChildren(
      ...[...state.contextFacts, ["Data directory", v.dataDir], ["Providers file", v.providersFile ?? "—"]].map(([k, val]) =>
        h("div", { class: "fact" }, h("dt", {}, k!), h("dd", { class: "mono" }, val!)),
      ),
    );
  } catch (e) {
    show("settings-error", errorText(e));
  }
}

async function save(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  show("settings-message", null);
  const settings = {
    autoLockMinutes: Number(el<HTMLSelectElement>("set-autolock").value),
    refreshAheadMinutes: Number(el<HTMLInputElement>("set-ahead").value),
    notifications: el<HTMLInputElement>("set-notify").checked,
  };
  const problem = settingsProblem(settings);
  show("settings-error", problem);
  if (problem) return;
  try {
    await api.saveSettings(settings);
    show("settings-message", "Saved. The auto-lock counts from now.");
    hooks.settingsChanged(settings.autoLockMinutes);
  } catch (e) {
    show("settings-error", errorText(e));
  }
}

/** Wires the pane once. */
export function mount(): void {
  register("settings", { shown: () => void load() });
  el<HTMLFormElement>("settings-form").addEventListener("submit", (ev) => void save(ev));
}
