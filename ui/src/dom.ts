// The DOM helpers every screen and pane shares. Text goes in through textContent and
// attributes only, never innerHTML.

/** The element with this id (index.html must have it). */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
}

/** A new element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";

/** A new SVG element with attributes and text. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Shows `message` in the element `id`, or hides it (null). */
export function show(id: string, message: string | null): void {
  const p = el(id);
  p.textContent = message ?? "";
  p.hidden = !message;
}

/** What a notice means; its colour says the same everywhere (styles.css `.tone-*`). */
export type Tone = "success" | "warning" | "failure" | "info";

/**
 * Shows a notice in the element `id` (placed beside the action it reports on), or hides it
 * (null). A failure is announced at once (role "alert"), anything else politely.
 */
export function notice(id: string, tone: Tone, message: string | null): void {
  const p = el(id);
  const news = p.hidden || !p.classList.contains(`tone-${tone}`);
  p.textContent = message ?? "";
  p.hidden = !message;
  p.className = `notice tone-${tone}`;
  p.setAttribute("role", tone === "failure" ? "alert" : "status");
  // What an action did is seen where it happened: a notice newly shown is scrolled into
  // view (no further than needed) when the window is too short to show it; one that only
  // updates (a countdown) leaves the scrolling to the person.
  if (message && news) p.scrollIntoView({ block: "nearest" });
}

/**
 * A form's problem: `message` in the line reserved under the input `field` (its
 * `<field>-note`; the input marked invalid, pointing at it, and focused), or, with no
 * field, in the notice `box` after the element `elseAfter`; `null` clears it. Every input
 * in `fields` loses an earlier problem first. Nothing moves: the line under each field is
 * there, empty, before anything is said in it.
 */
export function fieldProblem(
  box: string,
  fields: string[],
  message: string | null,
  field: string | null,
  elseAfter: string,
  tone: Tone = "failure",
): void {
  for (const id of fields) {
    el(id).removeAttribute("aria-invalid");
    const note = document.getElementById(`${id}-note`);
    if (note) {
      note.textContent = "";
      note.classList.remove("tone-failure", "tone-warning", "tone-info", "tone-success");
      note.removeAttribute("role");
    }
  }
  const input = message && field ? el(field) : null;
  const note = input ? document.getElementById(`${field}-note`) : null;
  if (input && note && message) {
    notice(box, tone, null);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-errormessage", note.id);
    note.textContent = message;
    note.classList.add(`tone-${tone}`);
    note.setAttribute("role", tone === "failure" ? "alert" : "status");
    input.focus();
    // In view, whatever the window's height: the field and what is wrong with it.
    note.scrollIntoView({ block: "nearest" });
    return;
  }
  el(elseAfter).after(el(box));
  notice(box, tone, message);
  if (message) el(box).scrollIntoView({ block: "nearest" });
}

/** The wallet's clock minus this window's, in seconds (0 unless they disagree). */
let skew = 0;

/** Follows the wallet's clock, as `walletNow` (Unix seconds) read from Rust: countdowns
 * and badges then agree with the wallet's expiry decisions. A second's difference (the
 * request's own time, whole seconds) is ignored. */
export function followClock(walletNow: number): void {
  const d = walletNow - Date.now() / 1000;
  if (Math.abs(d - skew) > 2) skew = d;
}

/** Unix seconds now, on the wallet's clock. */
export const now = (): number => Date.now() / 1000 + skew;
