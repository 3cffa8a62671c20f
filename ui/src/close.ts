// Closing the window while a sign-in waits for the browser, when closing would quit (the
// "keep running in the tray" setting off, or no tray): the Rust side keeps the window and
// sends `close-requested`; the page asks in #close-box. Keep leaves everything as it was
// (the focus goes back where it was); Quit quits, which stops the sign-in.
import * as api from "./api";
import { el } from "./dom";

const box = el("close-box");
const keep = el<HTMLButtonElement>("close-keep");
const quit = el<HTMLButtonElement>("close-quit");
/** What had the focus before the question: it gets it back on Keep. */
let before: HTMLElement | null = null;

function ask(): void {
  if (box.hidden) {
    const a = document.activeElement;
    before = a instanceof HTMLElement && !box.contains(a) ? a : null;
  }
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
  keep.focus();
}

function keepOpen(): void {
  box.hidden = true;
  // Back where the person was, if it is still shown; else the visible screen's heading.
  const back =
    before?.isConnected && before.getClientRects().length > 0
      ? before
      : document.querySelector<HTMLElement>("main > section:not([hidden]) h1");
  before = null;
  back?.focus();
}

async function quitNow(): Promise<void> {
  keep.disabled = quit.disabled = true;
  quit.textContent = "Quitting…";
  try {
    await api.quitApp();
  } catch {
    // Only without the Rust side: the window stays, and says nothing went.
    keep.disabled = quit.disabled = false;
    quit.textContent = "Quit";
  }
}

/** Wires the question once. */
export function mount(): void {
  keep.addEventListener("click", keepOpen);
  quit.addEventListener("click", () => void quitNow());
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      keepOpen();
    }
  });
  void api.onCloseRequested(ask).catch(() => {});
}
