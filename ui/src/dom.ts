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

/** Unix seconds now. */
export const now = (): number => Date.now() / 1000;
