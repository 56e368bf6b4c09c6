// The candidate chat's emoji picker (a plugin of candidate.js): a button in the composer row, shown when the chat view says
// the event allows candidate emojis (`emoji`), opening a small grid; a chosen emoji goes into the message box at the cursor.
// Keyboard: the arrow keys move in the grid, Enter or Space inserts, Esc closes and returns to the button.

import { el, svgIcon } from "./candidate.js";

const EMOJIS = [
  ["🙂", "slightly smiling face"], ["😊", "smiling face with smiling eyes"], ["😀", "grinning face"], ["😉", "winking face"],
  ["👋", "waving hand"], ["👍", "thumbs up"], ["🙏", "folded hands"], ["👏", "clapping hands"],
  ["🎉", "party popper"], ["✅", "check mark"], ["🤔", "thinking face"], ["😅", "grinning face with sweat"],
];
const COLUMNS = 4;

export function install(chat) {
  const picker = new EmojiPicker(chat);
  chat.on("welcome", (view) => picker.allow(!!(view && view.emoji)));
  chat.on("composer", (form, row) => picker.attach(form, row));
  // The composer (or the welcome) may have come before this plugin loaded.
  if (chat.view) picker.allow(!!chat.view.emoji);
  const form = document.querySelector("#lc .lc-compose");
  if (form) picker.attach(form, form.querySelector(".lc-row"));
}

class EmojiPicker {
  constructor(chat) {
    this.chat = chat;
    this.allowed = false;
    this.button = null;
    this.panel = null;
    this.n = 0;
  }

  allow(on) {
    this.allowed = on;
    if (this.button) this.button.hidden = !on;
    if (!on) this.close(false);
  }

  attach(form, row) {
    if (!row || row.querySelector(".lc-emoji")) return;
    const id = `lc-emojis-${++this.n}`;
    const button = el("button", { type: "button", class: "btn lc-emoji", "aria-label": "Add an emoji", title: "Add an emoji", "aria-expanded": "false",
      "aria-controls": id }, svgIcon("M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM8.5 14.5q3.5 3 7 0M9 9.5h.01M15 9.5h.01"));  // drawn: no emoji font needed
    const panel = el("div", { id, class: "lc-emojipanel", role: "group", "aria-label": "Emojis", hidden: true });
    EMOJIS.forEach(([emoji, name], i) => {
      const b = el("button", { type: "button", class: "lc-emojibtn", "aria-label": name, title: name, tabindex: i === 0 ? "0" : "-1", text: emoji });
      b.addEventListener("click", () => this.insert(emoji));
      b.addEventListener("keydown", (e) => this.key(e, i));
      panel.append(b);
    });
    button.addEventListener("click", () => (panel.hidden ? this.open() : this.close(true)));
    const input = row.querySelector("textarea");
    if (input) row.insertBefore(button, input);
    else row.append(button);
    row.before(panel);
    this.button = button;
    this.panel = panel;
    button.hidden = !this.allowed;
  }

  open() {
    if (!this.panel) return;
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    (this.panel.querySelector("[tabindex='0']") || this.panel.firstElementChild).focus();
  }

  close(focusButton) {
    if (!this.panel || this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (focusButton) this.button.focus();
  }

  insert(emoji) {
    const input = document.getElementById("lc-text");
    this.close(false);
    if (!input || input.disabled) return;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    if (input.value.length - (end - start) + emoji.length > 4000) return;
    input.value = input.value.slice(0, start) + emoji + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + emoji.length;
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));  // resizes the box and says "typing"
  }

  key(e, i) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    let next = null;
    if (e.key in moves) next = i + moves[e.key];
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = EMOJIS.length - 1;
    else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();  // in the widget, Esc would close the whole chat
      this.close(true);
      return;
    }
    if (next === null) return;
    e.preventDefault();
    next = Math.max(0, Math.min(EMOJIS.length - 1, next));
    const buttons = [...this.panel.children];
    for (const b of buttons) b.tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  }
}
