// The detail pane's Proxy box: start a proxy to the connection's API (with optional allow
// rules), then see where it listens, what it lets through and its live request count,
// copy its capability (to the clipboard only: it never enters the page) or stop it.
import * as api from "../api";
import { el, notice, type Tone } from "../dom";
import { errorText } from "../format";
import { proxyCountText, proxyRules } from "../logic";
import type { ProxyView } from "../types";

let current: string | null = null;
let polling = false;

function say(tone: Tone, message: string | null): void {
  notice("proxy-error", tone, message);
}

function show(v: ProxyView | null): void {
  el("proxy-setup").hidden = v !== null;
  el("proxy-running").hidden = v === null;
  el("detail-proxy").textContent = v ? "Proxy (running)…" : "Proxy…";
  if (!v) return;
  el("proxy-address").textContent = v.urls.join("  ·  ");
  el("proxy-allowed").textContent = v.allow.length ? v.allow.join(", ") : "everything the token can do";
  el("proxy-count").textContent = proxyCountText(v);
}

/** The pane shows connection `name`: whether its proxy runs. */
export async function showFor(name: string): Promise<void> {
  current = name;
  el("proxy-box").hidden = true;
  say("info", null);
  try {
    const v = await api.proxyStatus(name);
    if (current === name) show(v);
  } catch {
    show(null);
  }
}

/** Every second while the box is open: the live count. */
export async function tick(): Promise<void> {
  if (!current || el("proxy-box").hidden || el("proxy-running").hidden || polling) return;
  polling = true;
  try {
    show(await api.proxyStatus(current));
  } catch {
    // The next tick tries again.
  } finally {
    polling = false;
  }
}

export function hide(): void {
  el("proxy-box").hidden = true;
}

/** Wires the box once; `name()` is the connection shown. */
export function mount(name: () => string): void {
  el("detail-proxy").addEventListener("click", async () => {
    el("proxy-box").hidden = false;
    await showFor(name());
    el("proxy-box").hidden = false;
    (el("proxy-running").hidden ? el("proxy-allow") : el("proxy-copy")).focus();
  });
  el("proxy-cancel").addEventListener("click", () => hide());
  el("proxy-close").addEventListener("click", () => hide());
  el<HTMLFormElement>("proxy-box").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = el<HTMLButtonElement>("proxy-start");
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const v = await api.startProxy(name(), proxyRules(el<HTMLTextAreaElement>("proxy-allow").value));
      show(v);
      say("success", "The proxy runs. Copy its capability for the tool that will call it.");
      el("proxy-copy").focus();
    } catch (e) {
      say("failure", errorText(e));
    } finally {
      button.disabled = false;
      button.textContent = "Start proxy";
    }
  });
  el("proxy-copy").addEventListener("click", async () => {
    try {
      const r = await api.copyProxyCapability(name());
      say("success", `Capability copied; the clipboard is cleared in ${r.clearsInSecs} s. Tools send it as Authorization: Bearer <capability>.`);
    } catch (e) {
      say("failure", errorText(e));
    }
  });
  el("proxy-stop").addEventListener("click", async () => {
    try {
      await api.stopProxy(name());
      show(null);
      say("info", "The proxy stopped: its address and capability no longer work.");
    } catch (e) {
      say("failure", errorText(e));
    }
  });
}
