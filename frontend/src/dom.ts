// Building DOM nodes. Text always goes in as text nodes: data is never parsed as HTML.

type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replace the children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A data table; the first `textColumns` columns hold text (left-aligned), the rest numbers (right-aligned). */
export function table(headers: string[], rows: Child[][], textColumns = 1): HTMLTableElement {
  const cls = (i: number) => (i < textColumns ? "text" : "num");
  return h(
    "table", { class: "data" },
    h("thead", {}, h("tr", {}, ...headers.map((x, i) => h("th", { scope: "col", class: cls(i) }, x)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => h("td", { class: cls(i) }, c))))),
  );
}
