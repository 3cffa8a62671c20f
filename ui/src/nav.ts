// Which pane shows: the tabs, and the hooks a pane registers to be told it is shown or
// left. Panes register themselves; this module imports none of them.
import { el } from "./dom";
import { state, type Pane, type Tab } from "./state";

export const TABS: Tab[] = ["connections", "timeline", "keys", "audit", "settings"];

interface PaneHooks {
  /** The pane was shown. */
  shown?: () => void;
  /** Another pane replaced it. */
  left?: () => void;
  /** What gets the focus when it is shown. */
  focus?: string;
}

const panes: Partial<Record<Pane, PaneHooks>> = {};

/** A pane's hooks. */
export function register(p: Pane, hooks: PaneHooks): void {
  panes[p] = hooks;
}

/** Shows pane `p`. */
export function setPane(p: Pane, focus = true): void {
  if (state.pane !== p) panes[state.pane]?.left?.();
  state.pane = p;
  const tab: Tab = p === "connect" || p === "addkey" || p === "detail" ? "connections" : p;
  for (const t of TABS) {
    const b = el(`tab-${t}`);
    b.setAttribute("aria-selected", String(t === tab));
    b.tabIndex = t === tab ? 0 : -1;
  }
  for (const id of [...TABS, "connect", "addkey", "detail"]) el(`panel-${id}`).hidden = id !== p;
  panes[p]?.shown?.();
  const target = panes[p]?.focus;
  if (focus && target) el(target).focus();
}

/** Shows connection `name` in the detail pane. */
export function openDetail(name: string): void {
  state.selected = name;
  setPane("detail");
}

/** The tab bar: click, or arrow keys / Home / End as a tablist. */
export function wireTabs(): void {
  for (const t of TABS) {
    const b = el(`tab-${t}`);
    b.addEventListener("click", () => setPane(t));
    b.addEventListener("keydown", (e) => {
      const i = TABS.indexOf(t);
      const j =
        e.key === "ArrowRight" ? (i + 1) % TABS.length
        : e.key === "ArrowLeft" ? (i + TABS.length - 1) % TABS.length
        : e.key === "Home" ? 0
        : e.key === "End" ? TABS.length - 1
        : -1;
      if (j < 0) return;
      e.preventDefault();
      setPane(TABS[j]!);
      el(`tab-${TABS[j]}`).focus();
    });
  }
}
