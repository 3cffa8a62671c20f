// The timeline: each connection's access and refresh token lifetimes against now.
import { el, h, now, svg } from "../dom";
import { clockTime, countdown, timeline } from "../logic";
import { register } from "../nav";
import { onConnections, state } from "../state";

function render(): void {
  const box = el("timeline-box");
  if (state.conns.length === 0) {
    box.replaceChildren(h("p", { class: "lead" }, "No connections to show."));
    return;
  }
  const labelW = 150;
  const plotW = 600;
  const rowH = 34;
  const top = 28;
  const tl = timeline(state.conns, now(), plotW);
  const height = top + tl.rows.length * rowH + 14;
  const root = svg("svg", {
    viewBox: `0 0 ${labelW + plotW + 10} ${height}`,
    role: "img",
    "aria-labelledby": "timeline-desc",
    class: "timeline",
    id: "timeline",
  });
  const desc = tl.rows
    .map((r) => `${r.name}: ${r.key ? "key" : "access token"} ${r.access ? "shown" : "with no expiry"}${r.refresh ? ", refresh token shown" : ""}`)
    .join("; ");
  root.append(svg("title", { id: "timeline-desc" }, `Expiry timeline. ${desc}.`));
  for (const t of tl.ticks) {
    root.append(
      svg("line", { x1: labelW + t.x, x2: labelW + t.x, y1: top - 6, y2: height, class: "tl-grid" }),
      svg("text", { x: labelW + t.x, y: top - 10, class: "tl-tick", "text-anchor": t.anchor }, t.label),
    );
  }
  const t = now();
  tl.rows.forEach((r, i) => {
    const y = top + i * rowH;
    const c = state.conns.find((x) => x.name === r.name);
    const when = (u: number | null): string => (u === null ? "no expiry given" : `${countdown(u, t)} (${clockTime(u, t)})`);
    root.append(svg("text", { x: 0, y: y + 20, class: "tl-name" }, r.name));
    if (r.refresh) {
      root.append(
        withTitle(
          svg("rect", { x: labelW + r.refresh.x0, y: y + 6, width: Math.max(2, r.refresh.x1 - r.refresh.x0), height: 20, rx: 4, class: "tl-refresh" }),
          `${r.name}: refresh token lapses ${when(c?.refreshExpiresAt ?? null)} if unused`,
        ),
      );
    }
    if (r.access) {
      root.append(
        withTitle(
          svg("rect", { x: labelW + r.access.x0, y: y + 10, width: Math.max(2, r.access.x1 - r.access.x0), height: 12, rx: 3, class: `tl-access tl-${r.status}${r.key ? " tl-key" : ""}` }),
          `${r.name}: ${r.key ? (c?.kind === "api-key" ? "API key" : "token") : "access token"} expires ${when(c?.expiresAt ?? null)}`,
        ),
        svg("text", { x: labelW + Math.min(r.access.x1 + 4, plotW - 4), y: y + 20, class: "tl-value", "text-anchor": r.access.x1 + 4 > plotW - 60 ? "end" : "start" }, countdown(c?.expiresAt ?? null, t).replace(/^in /, "")),
      );
    }
  });
  root.append(
    svg("line", { x1: labelW + tl.nowX, x2: labelW + tl.nowX, y1: top - 6, y2: height, class: "tl-now" }),
    svg("text", { x: labelW + tl.nowX - 3, y: height - 2, class: "tl-tick", "text-anchor": "end" }, "now"),
  );
  box.replaceChildren(root);
}

/** `e` with a hover text (an SVG `<title>` child: what the bar's values are). */
function withTitle<E extends SVGElement>(e: E, text: string): E {
  e.append(svg("title", {}, text));
  return e;
}

/** Every second while shown: the bars' countdowns follow the clock. */
export function tick(): void {
  if (state.pane === "timeline") render();
}

/** Wires the pane once. */
export function mount(): void {
  register("timeline", { shown: render });
  onConnections(() => {
    if (state.pane === "timeline") render();
  });
}

/** Forgets what was drawn (on lock). */
export function clear(): void {
  el("timeline-box").replaceChildren();
}
