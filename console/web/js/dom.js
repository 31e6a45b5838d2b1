// Elements from plain values: text is always a text node, never parsed as HTML, so nothing an order
// carries (a buyer's name, a seller's note) can become markup in an operator's browser.

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "indeterminate"]);

export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "testid") element.dataset.testid = value;
    else if (key.startsWith("on") && typeof value === "function") element[key] = value;
    else if (PROPERTIES.has(key)) element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.append(child);
    else element.append(document.createTextNode(String(child)));
  }
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
}

// A unique id for a label's `for`, so that two forms on one page never share one.
let serial = 0;
export function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

// A data table as every page draws one: a caption, column headers ([label, numeric]), the rows given.
export function table(caption, testid, headers, rows) {
  return h(
    "table",
    { class: "table", testid },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map(([label, numeric]) => h("th", { scope: "col", class: numeric ? "num" : null }, label)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

// <input type=datetime-local> gives no offset; the API wants one, so the browser's own is added.
// Empty or unreadable: null.
export function withLocalOffset(value) {
  if (!value) return null;
  const when = new Date(value);
  if (Number.isNaN(when.getTime())) return null;
  const offset = -when.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const mm = String(Math.abs(offset) % 60).padStart(2, "0");
  return `${value.length === 16 ? `${value}:00` : value}${sign}${hh}:${mm}`;
}
