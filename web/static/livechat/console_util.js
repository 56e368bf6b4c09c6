// Small helpers shared by the console's modules: DOM building (textContent only), times, ids.

export const $ = (id) => document.getElementById(id);

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function webLink(url, text) {
  // Only http(s) addresses become links (never javascript: or data:).
  const value = String(url || "");
  if (/^https?:\/\//i.test(value)) {
    return h("a", { href: value, target: "_blank", rel: "noopener noreferrer", text: text || value });
  }
  return document.createTextNode(value || "—");
}

// Text with its http(s) addresses as links (rel=noopener noreferrer, a new tab); everything else stays text.
export function linkified(text) {
  const out = [];
  let last = 0;
  for (const match of String(text).matchAll(/https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi)) {
    if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
    out.push(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

export function twoDigits(n) {
  return String(n).padStart(2, "0");
}

export function waited(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const rest = `${twoDigits(Math.floor((s % 3600) / 60))}:${twoDigits(s % 60)}`;
  return hours ? `${hours}:${rest}` : rest;
}

// "14:03": 24-hour, in the zone the pages use for this person (<body data-tz>, the footer names it), as the server shows times.
const clockFormat = (() => {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: document.body.dataset.tz || undefined });
  } catch {
    return new Intl.DateTimeFormat("en-GB", options);
  }
})();

export function clockOf(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return clockFormat.format(d);
}

export function randomId(prefix) {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
