// The console's composer tools (a plugin of console.js): saved replies, articles, emojis, the repeated-message warning and
// the "still with you" reminder.
//
// - Saved replies: a searchable picker (type to filter, ↑/↓ and Enter to insert). Insert puts the whole reply into the message
//   box to edit before sending; "Send in pieces" sends each paragraph (split on blank lines) as its own message, in order.
// - Articles: the event's knowledge base; insert an article's text, or a link to its public page.
// - Emojis: a small grid, shown only when the event's desk settings allow staff emojis (the chat detail's desk.emoji_staff).
// - Before a line goes out, a check asks when the same text (trimmed, case and spaces ignored) is already in the chat from
//   staff or the bot.
// - When the candidate's latest message has waited longer than desk.remind_seconds without a staff reply, #chat-bar says so,
//   with a button that sends an automatic "still with you" update.
// Text from the network goes in with textContent only (console_util.js h()).

import { $, h } from "./console_util.js";

const UPDATE_TEXT = "I'm still with you: looking into this, one moment please.";
const REPEAT_QUESTION = "You (or the bot) already sent this message in this chat. Send it again?";
const MAX_LINE = 4000;
const EMOJIS = [
  ["🙂", "slightly smiling face"], ["😊", "smiling face with smiling eyes"], ["😀", "grinning face"], ["😉", "winking face"],
  ["👋", "waving hand"], ["👍", "thumbs up"], ["🙏", "folded hands"], ["👏", "clapping hands"],
  ["🎉", "party popper"], ["✅", "check mark"], ["💡", "light bulb"], ["🤝", "handshake"],
  ["📅", "calendar"], ["📍", "pin"], ["⏳", "hourglass"], ["❤️", "red heart"],
];
const EMOJI_COLUMNS = 4;

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

export function normalize(text) {
  return String(text || "").normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase();
}

export function pieces(text) {
  return String(text || "").replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/).map((p) => p.trim()).filter(Boolean);
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

export function install(app) {
  const tools = $("composer-tools");
  if (!tools) return;
  const compose = new Compose(app, tools);
  window.fairmeetCompose = compose;  // for tests and debugging
}

// ------------------------------------------------------------------------------------------ a searchable picker

// One panel under the tool buttons: a search box (a combobox over a listbox of results), a preview of the active result and
// the actions for it. Used for saved replies and for articles.
class Picker {
  constructor(compose, { name, label, placeholder, empty, search, describe, actions }) {
    this.compose = compose;
    this.app = compose.app;
    this.name = name;
    this.search = search;        // async (query) => items
    this.describe = describe;    // item => {title, sub, preview}
    this.actions = actions;      // [{label(item), run(item), enabled(item) -> "" | reason, primary}]
    this.items = [];
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    this.emptyText = empty;
    const id = nextId(name);
    this.button = h("button", { class: "btn small tool", type: "button", "aria-expanded": "false", "aria-controls": `${id}-panel`, text: label });
    this.input = h("input", {
      type: "search", id: `${id}-q`, role: "combobox", "aria-expanded": "true", "aria-autocomplete": "list", "aria-controls": `${id}-list`,
      autocomplete: "off", spellcheck: "false", maxlength: "200", placeholder,
    });
    this.list = h("ul", { id: `${id}-list`, role: "listbox", class: "pickerlist", "aria-label": `${label}: results` });
    this.status = h("p", { class: "small muted pickerstatus", role: "status", "aria-live": "polite" });
    this.preview = h("div", { class: "pickerpreview", "aria-label": "Preview", role: "region" });
    this.buttons = h("div", { class: "actions pickeractions" });
    this.panel = h("section", { id: `${id}-panel`, class: "picker", role: "dialog", "aria-label": label, hidden: true },
      h("div", { class: "pickerhead" },
        h("label", { for: `${id}-q`, class: "sr-only", text: `Search ${label.toLowerCase()}` }),
        this.input,
        h("button", { class: "btn small", type: "button", text: "Close", "aria-label": `Close ${label.toLowerCase()}`, onclick: () => this.close(true) })),
      h("p", { class: "small muted pickerhint", text: "↑/↓ to choose, Enter to insert, Esc to close." }),
      this.status, this.list, this.preview, this.buttons);
    this.button.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close(true)));
    this.input.addEventListener("input", () => this.queue());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.close(true);
      }
    });
  }

  open() {
    this.compose.closePanels(this);
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.input.focus();
    this.input.select();
    this.run();
  }

  close(focusButton = false) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    clearTimeout(this.timer);
    if (focusButton) this.button.focus();
  }

  queue() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 180);
  }

  async run() {
    const mine = ++this.seq;
    const query = this.input.value.trim();
    this.status.textContent = "Searching…";
    let items;
    try {
      items = await this.search(query);
    } catch (err) {
      if (mine !== this.seq) return;
      this.items = [];
      this.active = -1;
      this.render();
      this.status.textContent = err.message || "Couldn't search; try again.";
      return;
    }
    if (mine !== this.seq) return;  // a newer search has started: its answer counts
    this.items = items;
    this.active = items.length ? 0 : -1;
    this.render();
    this.status.textContent = items.length ? `${items.length} result${items.length === 1 ? "" : "s"}.` : (query ? `Nothing matches “${query}”.` : this.emptyText);
  }

  render() {
    this.list.replaceChildren();
    this.items.forEach((item, i) => {
      const d = this.describe(item);
      const option = h("li", { role: "option", id: `${this.list.id}-${i}`, class: "pickeroption", "aria-selected": i === this.active ? "true" : "false" },
        h("span", { class: "pickertitle", text: d.title }), d.sub ? h("span", { class: "small muted", text: d.sub }) : null);
      option.addEventListener("mousedown", (e) => e.preventDefault());  // keep the focus in the search box
      option.addEventListener("click", () => {
        this.setActive(i);
        this.primary();
      });
      this.list.append(option);
    });
    this.list.hidden = !this.items.length;
    this.setActive(this.active);
  }

  setActive(i) {
    this.active = i;
    for (const [n, node] of [...this.list.children].entries()) node.setAttribute("aria-selected", n === i ? "true" : "false");
    const node = this.list.children[i];
    if (node) {
      this.input.setAttribute("aria-activedescendant", node.id);
      node.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
    this.renderPreview();
  }

  current() {
    return this.items[this.active] || null;
  }

  renderPreview() {
    const item = this.current();
    this.preview.replaceChildren();
    this.buttons.replaceChildren();
    this.preview.hidden = !item;
    if (!item) return;
    for (const text of this.describe(item).preview) this.preview.append(h("p", { text }));
    for (const action of this.actions) {
      if (action.shown && !action.shown(item)) continue;
      const reason = this.compose.blocked() || (action.enabled ? action.enabled(item) : "");
      const button = h("button", { class: `btn small${action.primary ? " primary" : ""}`, type: "button", text: action.label(item), disabled: !!reason,
        title: reason || null });
      button.addEventListener("click", () => this.act(action, item));
      this.buttons.append(button);
      if (reason && action.primary) this.buttons.append(h("span", { class: "small muted", text: reason }));
    }
  }

  primary() {
    const item = this.current();
    const action = this.actions.find((a) => a.primary);
    if (!item || !action) return;
    const reason = this.compose.blocked() || (action.enabled ? action.enabled(item) : "");
    if (reason) {
      this.status.textContent = reason;
      return;
    }
    this.act(action, item);
  }

  async act(action, item) {
    this.close(false);
    await action.run(item);
  }

  onKey(e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!this.items.length) return;
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.setActive((this.active + step + this.items.length) % this.items.length);
    } else if (e.key === "Home" && this.items.length && e.ctrlKey) {
      e.preventDefault();
      this.setActive(0);
    } else if (e.key === "End" && this.items.length && e.ctrlKey) {
      e.preventDefault();
      this.setActive(this.items.length - 1);
    } else if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      clearTimeout(this.timer);
      this.primary();
    }
  }
}

// ------------------------------------------------------------------------------------------ the plugin

class Compose {
  constructor(app, tools) {
    this.app = app;
    this.tools = tools;
    this.waits = new Map();    // chat id -> {cand: {seq, at}, staff: seq}
    this.announced = null;     // the chat whose reminder was last announced
    this.replies = new Picker(this, {
      name: "replies", label: "Saved replies", placeholder: "Search your saved replies…",
      empty: "No saved replies yet: add them on the Saved replies page.",
      search: (q) => this.fetchList(`/live-replies${q ? `?q=${encodeURIComponent(q)}` : ""}`),
      describe: (r) => ({ title: r.title, sub: r.scope === "shared" ? `Shared · ${r.event ? r.event.name : ""}` : (r.keywords || ""), preview: r.paragraphs }),
      actions: [
        { label: () => "Insert", primary: true, run: (r) => this.app.insertText(r.body) },
        { label: (r) => `Send in pieces (${r.paragraphs.length} messages)`, shown: (r) => r.paragraphs.length > 1, run: (r) => this.sendPieces(r.paragraphs) },
      ],
    });
    this.articles = new Picker(this, {
      name: "articles", label: "Articles", placeholder: "Search the event's articles…",
      empty: "No articles for this chat's event yet.",
      search: async (q) => {
        // The chat's event's articles; all of the caller's events' when the chat has none (or its event isn't theirs).
        const chat = this.app.current();
        const event = chat && chat.detail && chat.detail.event;
        const query = q ? `q=${encodeURIComponent(q)}` : "";
        if (event) {
          const found = await this.fetchList(`/live-articles?event_id=${encodeURIComponent(event.id)}${query ? `&${query}` : ""}`, true);
          if (found !== null) return found;
        }
        return this.fetchList(`/live-articles${query ? `?${query}` : ""}`);
      },
      describe: (a) => ({ title: a.title, sub: a.published ? a.event.name : `Draft · ${a.event.name}`, preview: pieces(a.body).slice(0, 4) }),
      actions: [
        { label: () => "Insert link", primary: true, enabled: (a) => (a.url ? "" : "A draft has no public page yet."),
          run: (a) => this.app.insertText(`${a.title}: ${a.url}`) },
        { label: () => "Insert text", enabled: (a) => (articleText(a).length > MAX_LINE ? "Too long for one message: send the link." : ""),
          run: (a) => this.app.insertText(articleText(a)) },
      ],
    });
    this.buildEmojis();
    // The panels open above the tool buttons, over the transcript, so the message box stays where it is.
    this.box = h("div", { class: "composebox", role: "group", "aria-label": "Composer tools" },
      this.replies.button, this.articles.button, this.emojiButton, this.replies.panel, this.articles.panel, this.emojiPanel);
    tools.prepend(this.box);
    this.buildReminder();
    this.buildDialog();

    app.beforeSend.push((chat, text) => this.checkRepeat(chat, [text]));
    app.on("line", (chat, ev) => this.onLine(chat, ev));
    app.on("detail", (chat) => this.onDetail(chat));
    app.on("select", (chat) => this.onSelect(chat));
    app.on("head", (chat) => { if (chat === this.app.current()) this.tick(); });
    app.on("removed", (chat) => { this.waits.delete(chat.id); this.tick(); });
    // Lines already on screen before this plugin loaded.
    for (const chat of app.chats.values()) this.scan(chat);
    const chat = app.current();
    if (chat) this.onSelect(chat);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.emojiPanel.hidden && this.emojiPanel.contains(document.activeElement)) {
        e.preventDefault();
        this.closeEmojis(true);
      }
    });
    document.addEventListener("pointerdown", (e) => {  // a click elsewhere closes an open panel
      if (!this.box.contains(e.target)) this.closePanels();
    });
    setInterval(() => this.tick(), 1000);
  }

  blocked() {
    const box = $("composer-text");
    return !this.app.current() || !box || box.disabled ? "This chat is closed for new messages." : "";
  }

  async fetchList(path, nullIfMissing = false) {
    const r = await this.app.api("GET", path);
    if (r.status === 404 && nullIfMissing) return null;
    if (!r.ok) throw new Error(r.error ? r.error.message : "Couldn't search; try again.");
    return Array.isArray(r.body) ? r.body : [];
  }

  closePanels(except = null) {
    if (except !== this.replies) this.replies.close();
    if (except !== this.articles) this.articles.close();
    if (except !== "emoji") this.closeEmojis();
  }

  // ---------------------------------------------------------------------------- send in pieces

  async sendPieces(parts) {
    const chat = this.app.current();
    if (!chat || this.blocked()) return;
    const lines = parts.filter((p) => p.trim()).map((p) => p.trim().slice(0, MAX_LINE));
    if (!lines.length) return;
    if ((await this.checkRepeat(chat, lines)) === false) return;
    for (const line of lines) this.app.sendText(chat.id, line);
    this.app.toast(`Sent in ${lines.length} message${lines.length === 1 ? "" : "s"}.`);
    $("composer-text").focus();
  }

  // ---------------------------------------------------------------------------- emojis

  buildEmojis() {
    this.emojiButton = h("button", { class: "btn small tool emoji", type: "button", "aria-label": "Insert an emoji", title: "Insert an emoji",
      "aria-expanded": "false", "aria-controls": "compose-emojis", hidden: true, text: "Emoji" });
    this.emojiPanel = h("div", { id: "compose-emojis", class: "emojipanel", role: "group", "aria-label": "Emojis", hidden: true });
    EMOJIS.forEach(([emoji, name], i) => {
      const b = h("button", { type: "button", class: "emojibtn", "aria-label": name, title: name, tabindex: i === 0 ? "0" : "-1", text: emoji });
      b.addEventListener("click", () => {
        this.closeEmojis();
        this.app.insertText(emoji);
      });
      b.addEventListener("keydown", (e) => this.emojiKey(e, i));
      this.emojiPanel.append(b);
    });
    this.emojiButton.addEventListener("click", () => (this.emojiPanel.hidden ? this.openEmojis() : this.closeEmojis(true)));
  }

  openEmojis() {
    this.closePanels("emoji");
    this.emojiPanel.hidden = false;
    this.emojiButton.setAttribute("aria-expanded", "true");
    const first = this.emojiPanel.querySelector("[tabindex='0']") || this.emojiPanel.firstElementChild;
    first.focus();
  }

  closeEmojis(focusButton = false) {
    if (this.emojiPanel.hidden) return;
    this.emojiPanel.hidden = true;
    this.emojiButton.setAttribute("aria-expanded", "false");
    if (focusButton) this.emojiButton.focus();
  }

  emojiKey(e, i) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: EMOJI_COLUMNS, ArrowUp: -EMOJI_COLUMNS };
    let next = null;
    if (e.key in moves) next = i + moves[e.key];
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = EMOJIS.length - 1;
    else if (e.key === "Escape") {
      e.preventDefault();
      this.closeEmojis(true);
      return;
    }
    if (next === null) return;
    e.preventDefault();
    next = Math.max(0, Math.min(EMOJIS.length - 1, next));
    const buttons = [...this.emojiPanel.children];
    for (const b of buttons) b.tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  }

  onDetail(chat) {
    if (chat === this.app.current()) this.showEmoji(chat);
    this.tick();
  }

  onSelect(chat) {
    this.closePanels();
    this.showEmoji(chat);
    this.announced = null;
    this.tick();
  }

  showEmoji(chat) {
    const desk = chat && chat.detail && chat.detail.desk;
    const on = !!(desk && desk.emoji_staff);
    this.emojiButton.hidden = !on;
    if (!on) this.closeEmojis();
  }

  // ---------------------------------------------------------------------------- repeated messages

  buildDialog() {
    this.dialog = h("dialog", { class: "card deskdialog repeatdialog", "aria-labelledby": "repeat-title", "aria-describedby": "repeat-earlier" });
    this.dialogEarlier = h("p", { class: "small muted", id: "repeat-earlier" });
    this.dialogYes = h("button", { class: "btn primary", type: "button", text: "Send again" });
    this.dialogNo = h("button", { class: "btn", type: "button", text: "Cancel" });
    this.dialog.append(h("h2", { id: "repeat-title", class: "repeattitle", text: REPEAT_QUESTION }), this.dialogEarlier,
      h("div", { class: "actions" }, this.dialogYes, this.dialogNo));
    (this.app.root || document.body).append(this.dialog);
  }

  // The staff's and the bot's earlier lines of a chat, from the transcript on screen, or the messages API when it is incomplete.
  async earlierLines(chat) {
    const lines = [];
    for (const node of chat.list.querySelectorAll("li.line.me, li.line.staff, li.line.bot")) {
      const text = node.querySelector(".text");
      const who = node.classList.contains("bot") ? "the bot" : node.classList.contains("me") ? "you" : ((node.querySelector(".author") || {}).textContent || "a colleague");
      if (text) lines.push({ text: text.textContent, who, at: (node.querySelector("time") || {}).textContent || "" });
    }
    const known = chat.detail && chat.detail.last_seq;
    if (chat.contig === 0 || (known && chat.contig < known)) {
      const r = await this.app.api("GET", `/live-chats/${chat.id}/messages?after=0`);
      if (r.ok && r.body) {
        for (const ev of r.body.messages || []) {
          const kind = this.app.lineKind(ev);
          if (kind === "candidate" || kind === "notice") continue;
          const who = kind === "bot" ? "the bot" : kind === "me" ? "you" : (ev.author && ev.author.name) || "a colleague";
          lines.push({ text: String((ev.body && ev.body.text) || ""), who, at: "" });
        }
      }
    }
    return lines;
  }

  async checkRepeat(chat, texts) {
    const wanted = new Set(texts.map(normalize).filter(Boolean));
    if (!wanted.size) return true;
    const earlier = (await this.earlierLines(chat)).find((l) => wanted.has(normalize(l.text)));
    if (!earlier) return true;
    return this.ask(`Sent before by ${earlier.who}${earlier.at ? ` at ${earlier.at}` : ""}: “${earlier.text.slice(0, 140)}${earlier.text.length > 140 ? "…" : ""}”`);
  }

  ask(earlierText) {
    if (this.dialog.open) return Promise.resolve(false);
    this.dialogEarlier.textContent = earlierText;
    const back = document.activeElement;
    return new Promise((resolve) => {
      const done = (answer) => {
        this.dialogYes.onclick = null;
        this.dialogNo.onclick = null;
        this.dialog.onclose = null;
        if (this.dialog.open) this.dialog.close();
        if (back && back.focus) back.focus();
        resolve(answer);
      };
      this.dialogYes.onclick = () => done(true);
      this.dialogNo.onclick = () => done(false);
      this.dialog.onclose = () => done(false);  // Esc
      this.dialog.showModal();
      this.dialogNo.focus();  // the safe answer first: a second Enter doesn't repeat the line
    });
  }

  // ---------------------------------------------------------------------------- the "still with you" reminder

  buildReminder() {
    this.reminderText = h("span", { class: "remindtext" });
    this.reminderButton = h("button", { class: "btn small", type: "button", text: "Send an update" });
    this.reminderButton.addEventListener("click", () => this.sendUpdate());
    this.reminderLive = h("span", { class: "sr-only", role: "status", "aria-live": "polite" });
    this.reminder = h("div", { class: "reminder", hidden: true }, h("span", { class: "reminddot", "aria-hidden": "true" }), this.reminderText,
      this.reminderButton, this.reminderLive);
  }

  onLine(chat, ev) {
    if (typeof ev.seq !== "number" || ev.kind !== "message") return;
    const kind = this.app.lineKind(ev);
    if (kind === "candidate") this.note(chat, true, ev.seq, ev.at);
    else if (kind === "me" || kind === "staff") this.note(chat, false, ev.seq, ev.at);
    if (chat === this.app.current()) this.tick();
  }

  // The transcript already on screen (lines that arrived before this plugin was installed).
  scan(chat) {
    for (const node of chat.list.querySelectorAll("li.line[data-seq]")) {
      const seq = Number(node.dataset.seq);
      const time = node.querySelector("time");
      if (node.classList.contains("candidate")) this.note(chat, true, seq, time ? time.getAttribute("datetime") : "");
      else if (node.classList.contains("me") || node.classList.contains("staff")) this.note(chat, false, seq, "");
    }
  }

  note(chat, fromCandidate, seq, at) {
    if (!Number.isFinite(seq)) return;
    const w = this.waits.get(chat.id) || { cand: null, staff: 0 };
    if (!fromCandidate) w.staff = Math.max(w.staff, seq);
    else if (!w.cand || seq > w.cand.seq) w.cand = { seq, at: Date.parse(at || "") || this.app.serverNow() };
    this.waits.set(chat.id, w);
  }

  // Seconds the candidate's latest message has waited for a staff reply, or null.
  waitedFor(chat) {
    if (!chat || chat.status !== "active") return null;
    const w = this.waits.get(chat.id);
    if (!w || !w.cand || w.staff > w.cand.seq || chat.pending.size) return null;
    return (this.app.serverNow() - w.cand.at) / 1000;
  }

  tick() {
    const chat = this.app.current();
    const desk = chat && chat.detail && chat.detail.desk;
    const limit = desk && Number.isFinite(desk.remind_seconds) ? desk.remind_seconds : 90;
    const waited = this.waitedFor(chat);
    const show = limit > 0 && waited !== null && waited > limit && !this.blocked();  // not for who can't write (e.g. monitoring unseen)
    const bar = $("chat-bar");
    if (!bar) return;
    if (!show) {
      if (!this.reminder.hidden) {
        this.reminder.hidden = true;
        this.reminderLive.textContent = "";
        this.refreshBar(bar);
      }
      return;
    }
    if (this.reminder.parentNode !== bar) bar.prepend(this.reminder);  // the bar is shared with other plugins: stay in it
    const text = `${chat.name} has waited ${clock(waited)} for a reply`;
    if (this.reminderText.textContent !== text) this.reminderText.textContent = text;
    if (this.reminder.hidden || this.announced !== chat.id) {
      this.reminder.hidden = false;
      this.announced = chat.id;
      this.reminderLive.textContent = `${chat.name} has waited more than ${clock(limit)} for a reply.`;
      this.reminderButton.setAttribute("aria-label", `Send ${chat.name} an update: ${UPDATE_TEXT}`);
    }
    this.refreshBar(bar);
  }

  refreshBar(bar) {
    const visible = [...bar.children].some((c) => !c.hidden);
    if (visible && bar.hidden) bar.hidden = false;
    else if (!visible && !bar.hidden && bar.textContent.trim() === "") bar.hidden = true;
  }

  sendUpdate() {
    const chat = this.app.current();
    if (!chat || this.blocked()) return;
    if (this.app.sendText(chat.id, UPDATE_TEXT, { auto: true })) {
      this.reminder.hidden = true;
      this.reminderLive.textContent = "";
      this.refreshBar($("chat-bar"));
      $("composer-text").focus();
    }
  }
}

function articleText(a) {
  return `${a.title}\n\n${a.body}`;
}
