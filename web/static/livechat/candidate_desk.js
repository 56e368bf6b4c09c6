// The candidate chat's desk parts: the rating prompt (stars or smileys, as the event chose, with an optional comment)
// once staff ask for it, and what a transfer to a colleague looks like.

import { el } from "./candidate.js";

// Drawn as SVG, not emoji or font symbols: they look the same on every system, fonts or not.
const STAR = "M12 2.5l2.9 6.2 6.8.7-5.1 4.6 1.5 6.7L12 17.3l-6.1 3.4 1.5-6.7-5.1-4.6 6.8-.7z";
const MOUTHS = { 1: "M8 16.5q4-3.5 8 0", 2: "M8.5 15.5h7", 3: "M8 14q4 4 8 0" };
const SMILEYS = [["1", "Not good"], ["2", "Okay"], ["3", "Great"]];

function drawing(kind, value) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `lc-rateicon lc-${kind}`);
  const add = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    svg.append(node);
  };
  if (kind === "star") {
    add("path", { d: STAR });
  } else {
    add("circle", { cx: "12", cy: "12", r: "9.5", class: "lc-face" });
    add("circle", { cx: "9", cy: "10", r: "1.2", class: "lc-eye" });
    add("circle", { cx: "15", cy: "10", r: "1.2", class: "lc-eye" });
    add("path", { d: MOUTHS[value], class: "lc-mouth" });
  }
  return svg;
}

class DeskParts {
  constructor(chat) {
    this.chat = chat;
    this.rating = null;     // {style, scale, score, rated}
    this.box = null;
    this.transferTo = "";
    chat.on("welcome", (view) => this.onView(view));
    chat.on("line", (event) => this.onLine(event));
    chat.on("status", (status) => this.onStatus(status));
  }

  onView(view) {
    if (view.rating) {
      this.rating = view.rating;
      if (!view.rating.rated) this.prompt();
    }
    if (view.status === "transfer") this.transferLine();
  }

  onLine(event) {
    const body = event.body || {};
    const live = event.seq > this.chat.welcomeSeq;
    if (event.kind === "bot" && body.rating_request && live && !(this.rating && this.rating.rated)) {
      this.rating = { ...body.rating_request, score: null, rated: false };
      this.prompt();
    }
    if (event.kind === "notice" && body.event === "forwarded") {
      this.transferTo = body.to || "";
      if (this.chat.status === "transfer") this.transferLine();
    }
  }

  transferLine() {
    this.chat.setStatusLine(`You're being transferred to ${this.transferTo || "a colleague"}. Stay here: they'll be with you in a moment.`);
  }

  onStatus(status) {
    if (status === "active" && this.chat.recruiter) this.chat.setStatusLine("");
    if (status === "transfer") this.transferLine();
    // The footer is rebuilt on every status: keep an unanswered prompt visible.
    if (this.box && this.rating && !this.rating.rated) this.place();
  }

  place() {
    const foot = document.getElementById("lc-foot");
    if (foot && this.box && !foot.contains(this.box)) foot.prepend(this.box);
  }

  prompt() {
    if (!this.rating || this.rating.rated) return;
    const smileys = this.rating.style === "smileys";
    const scale = this.rating.scale || (smileys ? 3 : 5);
    const name = `lc-rate-${this.chat.chatId}`;
    const options = smileys ? SMILEYS.slice(0, scale)
      : Array.from({ length: scale }, (_, i) => [String(i + 1), `${i + 1} star${i ? "s" : ""}`]);
    const group = el("div", { class: `lc-rateopts ${smileys ? "lc-smileys" : "lc-stars"}`, role: "radiogroup", "aria-label": "Your rating" });
    for (const [value, label] of options) {
      const input = el("input", { type: "radio", name, value, id: `${name}-${value}`, class: "lc-sr" });
      const lab = el("label", { for: `${name}-${value}`, title: label }, drawing(smileys ? "smiley" : "star", value), el("span", { class: "lc-sr", text: label }));
      group.append(input, lab);
    }
    group.addEventListener("change", () => {
      const picked = Number(group.querySelector("input:checked")?.value || 0);
      if (!smileys) for (const lab of group.querySelectorAll("label")) lab.classList.toggle("on", Number(lab.htmlFor.split("-").pop()) <= picked);
    });
    const comment = el("textarea", { rows: "2", maxlength: "1000", placeholder: "Anything to add? (optional)", "aria-label": "Comment (optional)" });
    const error = el("p", { class: "lc-hint", role: "alert" });
    const send = el("button", { type: "submit", class: "btn primary", text: "Send rating" });
    const later = el("button", { type: "button", class: "btn", text: "Not now" });
    const form = el("form", { class: "lc-card lc-rate" },
      el("p", { class: "lc-ratehead", text: "How was this chat?" }), group, comment, error, el("div", { class: "lc-actions" }, send, later));
    later.addEventListener("click", () => { form.remove(); this.box = null; });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const score = Number(group.querySelector("input:checked")?.value || 0);
      if (!score) { error.textContent = "Pick a rating first."; return; }
      send.disabled = true;
      const r = await this.chat.call("/rating", { method: "POST", body: { score, comment: comment.value } });
      send.disabled = false;
      if (!r.ok) { error.textContent = r.error.message; return; }
      this.rating = { ...this.rating, score, rated: true };
      form.replaceChildren(el("p", { class: "lc-ratehead", text: "Thank you for your rating!" }));
      setTimeout(() => { form.remove(); this.box = null; }, 4000);
    });
    if (this.box) this.box.remove();
    this.box = form;
    this.place();
  }
}

export function install(chat) {
  chat.desk = new DeskParts(chat);
}
