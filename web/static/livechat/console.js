// The recruiter's side of live chat: the Chats console (templates/livechat/staff_console.html) and the
// job req form's helpers (staff_job_edit.html). No framework, no build step.
//
// Everything that comes from the network goes onto the page with textContent, never innerHTML:
// candidates are strangers, and some will send markup and template syntax on purpose.
//
// The console speaks docs/livechat.md: JSON under /api/v1 (session cookie + X-CSRF-Token on writes)
// and the console socket /ws/live/console (hello, heartbeat, watch each open chat from the last seq
// seen, reconnect with backoff and resume).

//
// Modules: console_util.js (helpers), console_alerts.js (chime, notifications), console_desk.js (offers, join, forward,
// invite, leave, ratings), console_compose.js (saved replies, articles, emojis, repeated-message warning, reminders),
// console_files.js (attachments), console_jobform.js (the job req form). They hook in through Console.on(...).

import { $, h, webLink, clockOf, waited, randomId, linkified } from "./console_util.js";
import { Alerts } from "./console_alerts.js";
import { Hooks, loadPlugins } from "./hooks.js";
import { enhanceJobPage } from "./console_jobform.js";

const STATUS_LABELS = { active: "Active", note: "Note", ended: "Ended by candidate", waiting: "Waiting", away: "Away", transfer: "Being transferred" };

// ------------------------------------------------------------------------------------------ console

export class Console {
  constructor(root) {
    this.root = root;
    this.boot = JSON.parse(root.dataset.boot);
    this.csrf = root.dataset.csrf;
    this.me = this.boot.me;
    this.agent = { ...this.boot.agent };
    // Waiting times count on the server's clock, whatever the browser's clock says.
    this.clockOffset = Date.parse(this.boot.server_now) - Date.now();
    this.chats = new Map();      // id -> chat state (see addChat)
    this.order = [];             // chat ids in list order
    this.queues = new Map();     // queue name -> last queue frame
    this.seenWaiting = new Set();
    this.notes = new Map();
    this.selected = null;
    this.alerts = new Alerts(this);

    this.connId = randomId("console-").slice(0, 40);
    this.ws = null;
    this.welcomed = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastRx = 0;
    this.downSince = null;
    this.typingSentAt = 0;
    this.typingChat = null;
    this.typingIdle = null;
    this.notesTimer = null;
    this.notesFor = null;
    this.detailLoads = new Map();
    this.taking = new Set();     // chats this tab is taking: their "assigned" frame is no news
    // Plugins (console_desk.js, console_compose.js, console_files.js) hook in here; see on() and emit().
    this.hooks = new Hooks("console");  // frame(msg), select(chat), head(chat), detail(chat), line(chat, ev, node), removed(chat), end-open, end-body
    this.beforeSend = [];        // async (chat, text) => false to keep a line from being sent (e.g. a warning the person cancels)

    this.bindSeat();
    this.bindQueue();
    this.bindComposer();
    this.bindDetail();
    this.bindEnd();
    this.bindKeys();

    for (const c of this.boot.chats) this.addChat(c);
    for (const n of this.boot.notes) this.notes.set(n.id, n);
    this.renderNotes();
    this.renderQueues();
    if (this.order.length) this.select(this.order[0], { focus: false });

    setInterval(() => this.tick(), 1000);
    document.addEventListener("visibilitychange", () => {
      const chat = this.chats.get(this.selected);
      if (!document.hidden && chat && chat.unread) {
        chat.unread = 0;
        this.renderTab(chat);
      }
    });
    this.connect();
    window.fairmeetConsole = this;
  }

  serverNow() {
    return Date.now() + this.clockOffset;
  }

  // -------------------------------------------------------------------------------- plugin hooks

  on(name, fn) {
    this.hooks.on(name, fn);
  }

  emit(name, ...args) {
    this.hooks.emit(name, ...args);
  }

  current() {
    return this.chats.get(this.selected) || null;
  }

  // Puts text into the composer at the cursor (saved replies, articles, emojis).
  insertText(text) {
    const box = $("composer-text");
    if (box.disabled) return;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
    box.focus();
    this.typed();
  }

  // Sends a line without the composer (e.g. one paragraph of a saved reply); `extra` rides in the chat frame (auto: true).
  sendText(chatId, text, extra = {}) {
    const chat = this.chats.get(chatId);
    if (!chat || !text.trim()) return false;
    this.queueLine(chat, text.trim(), extra);
    return true;
  }

  // -------------------------------------------------------------------------------- HTTP

  async api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.boot.api + path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      return { ok: false, status: 0, body: null, error: { code: "network", message: "No connection to Fairmeet; try again in a moment." } };
    }
    let data = null;
    try { data = await response.json(); } catch { /* an empty or non-JSON answer */ }
    let error = null;
    if (!response.ok) {
      error = (data && data.error) || { code: "http", message: `Fairmeet answered ${response.status}; try again.` };
      if (response.status === 401) this.banner("Your sign-in has expired. Reload the page to sign in again.", true);
    }
    return { ok: response.ok, status: response.status, body: data, error };
  }

  toast(text, kind = "") {
    const box = $("toast");
    box.textContent = text;
    box.className = `toast ${kind}`;
    box.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  banner(text, sticky = false) {
    const box = $("con-banner");
    if (!text) {
      if (!this.bannerSticky) box.hidden = true;
      return;
    }
    box.textContent = text;
    box.hidden = false;
    this.bannerSticky = sticky;
  }

  // -------------------------------------------------------------------------------- the seat

  bindSeat() {
    const form = $("seat-form");
    let timer = null;
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("change", (e) => {
      if (e.target.name === "notify_desktop" && e.target.checked) this.askDesktop();
      if (e.target.name === "available" && e.target.checked && form.elements.notify_desktop.checked) this.askDesktop();
      clearTimeout(timer);
      timer = setTimeout(() => this.saveSeat(), e.target.name === "capacity" ? 500 : 0);
    });
    $("test-alert").addEventListener("click", async () => {
      this.alerts.unlockAudio();
      if (this.agent.notify_desktop) await this.askDesktop();
      this.alerts.chime();
      const permission = "Notification" in window ? Notification.permission : "unsupported";
      if (this.agent.notify_desktop && permission === "granted") {
        try { new Notification("Fairmeet chats", { body: "Alerts work: you'll hear and see new candidates.", tag: "live-test" }); } catch { /* ignore */ }
      }
      $("seat-status").textContent = permission === "denied" && this.agent.notify_desktop
        ? "Chime played. Desktop notifications are blocked in this browser's site settings."
        : "Chime played.";
    });
  }

  async askDesktop() {
    const answer = await this.alerts.askPermission();
    if (answer === "denied") $("seat-status").textContent = "Desktop notifications are blocked in this browser's site settings.";
    else if (answer === "unsupported") $("seat-status").textContent = "This browser can't show desktop notifications.";
  }

  async saveSeat() {
    const f = $("seat-form").elements;
    const capacity = Number.parseInt(f.capacity.value, 10);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 20) {
      $("seat-status").textContent = "Chats at once: a number from 1 to 20.";
      f.capacity.setAttribute("aria-invalid", "true");
      return;
    }
    f.capacity.removeAttribute("aria-invalid");
    const body = {
      available: f.available.checked, capacity, auto_assign: f.auto_assign.checked,
      notify_desktop: f.notify_desktop.checked, notify_sound: f.notify_sound.checked, notify_email: f.notify_email.checked,
    };
    $("seat-status").textContent = "Saving…";
    const r = await this.api("PUT", "/live-agent", body);
    if (r.ok) {
      this.setAgent(r.body);
      $("seat-status").textContent = "Saved.";
    } else {
      $("seat-status").textContent = r.error.message;
    }
  }

  setAgent(agent) {
    if (!agent) return;
    this.agent = { ...this.agent, ...agent };
    const f = $("seat-form").elements;
    for (const name of ["available", "auto_assign", "notify_desktop", "notify_sound", "notify_email"]) {
      if (document.activeElement !== f[name]) f[name].checked = !!this.agent[name];
    }
    if (document.activeElement !== f.capacity) f.capacity.value = this.agent.capacity;
    this.renderSeatSummary();
  }

  renderSeatSummary() {
    // Seats are taken by the chats this person owns; chats they only joined or monitor don't count.
    const active = [...this.chats.values()].filter((c) => c.status === "active" && !(c.detail && c.detail.you && c.detail.you !== "owner")).length;
    $("seat-summary").textContent = this.agent.available ? `Available · ${active}/${this.agent.capacity} chats` : "Not available";
    $("seat-dot").classList.toggle("on", !!this.agent.available);
  }

  // -------------------------------------------------------------------------------- queues

  bindQueue() {
    $("take-next").addEventListener("click", () => this.takeNext());
  }

  onQueue(msg) {
    const first = !this.queues.has(msg.queue);
    this.queues.set(msg.queue, msg);
    const fresh = [];
    for (const w of msg.waiting || []) {
      if (!this.seenWaiting.has(w.id)) {
        this.seenWaiting.add(w.id);
        if (!first) fresh.push(w);
      }
    }
    this.renderQueues();
    this.syncNotes(msg, first);
    if (fresh.length) {
      const w = fresh[0];
      const more = fresh.length > 1 ? ` and ${fresh.length - 1} more` : "";
      this.alerts.raise(`${w.name} is waiting${more}`, w.title ? `About ${w.title}` : "A candidate is waiting to chat.", null);
    }
  }

  // Notes left in this queue and not answered yet: new ones alert, ones a colleague answered disappear.
  syncNotes(msg, first) {
    if (!msg.notes) return;
    const listed = new Set(msg.notes.map((n) => n.id));
    let changed = false;
    for (const [id, n] of this.notes) {
      if (n.queue === msg.queue && !listed.has(id)) { this.notes.delete(id); changed = true; }
    }
    for (const n of msg.notes) {
      if (!this.notes.has(n.id) && !this.chats.has(n.id)) {
        this.notes.set(n.id, n);
        changed = true;
        if (!first) this.alerts.raise(`${n.name} left a note`, n.title ? `About ${n.title}` : "Answer it from your chats.", null);
      }
    }
    if (changed) this.renderNotes();
  }

  dropWaiting(chatId) {
    for (const frame of this.queues.values()) {
      frame.waiting = (frame.waiting || []).filter((w) => w.id !== chatId);
    }
    this.renderQueues();
  }

  renderQueues() {
    const box = $("queues");
    const focusedTake = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.take : null;
    box.replaceChildren();
    let total = 0;
    const names = [...this.queues.keys()].sort();
    const quiet = [];
    for (const name of names) {
      const frame = this.queues.get(name);
      // Chats forwarded to this queue come first (they were already being served), then the line.
      const waiting = [...(frame.transfers || []).map((t) => ({ ...t, forwarded: true })), ...(frame.waiting || [])];
      total += waiting.length;
      if (!waiting.length) {
        if (!name.startsWith("user:")) quiet.push(frame.label || name);
        continue;
      }
      const staffing = frame.staffing || {};
      const list = h("ul", { class: "queue", "aria-label": `Waiting for ${frame.label || name}` });
      for (const w of waiting) {
        const take = h("button", { class: "btn small", type: "button", text: "Take", "aria-label": `Take ${w.name}`, dataset: { take: String(w.id) } });
        take.addEventListener("click", () => this.take(w.id, take));
        list.append(h("li", { class: "qrow", dataset: { chatId: String(w.id) } },
          h("div", { class: "qwho" }, h("strong", { text: w.name }), w.forwarded ? h("span", { class: "badge", text: "Forwarded" }) : null,
            w.title ? h("span", { class: "small muted", text: w.title }) : null),
          h("span", { class: "waited", title: "Waiting for", dataset: { since: w.since || "" }, text: this.waitedText(w.since) }),
          take));
      }
      box.append(h("div", { class: "queuegroup" },
        names.filter((n) => !n.startsWith("user:")).length > 1 || name.startsWith("user:") ? h("div", { class: "queuehead" },
          h("h3", { text: frame.label || name }),
          h("span", { class: "small muted", text: `${staffing.online ?? 0} online · ${staffing.free ?? 0} free seats` })) : null,
        list));
    }
    $("waiting-count").textContent = String(total);
    $("take-next").disabled = total === 0;
    $("queue-empty").hidden = total > 0;
    if (names.length) $("queue-empty").textContent = "Nobody is waiting.";
    const served = $("queue-names");
    served.textContent = quiet.length && names.length > 1 ? `${total ? "Also answering" : "Answering"}: ${quiet.join(" · ")}` : "";
    served.hidden = !served.textContent;
    if (focusedTake) {
      const again = box.querySelector(`[data-take="${CSS.escape(focusedTake)}"]`);
      if (again) again.focus();
      else $("take-next").focus();
    }
  }

  waitedText(since) {
    const t = Date.parse(since || "");
    return Number.isNaN(t) ? "" : waited((this.serverNow() - t) / 1000);
  }

  tick() {
    for (const node of this.root.querySelectorAll("[data-since]")) {
      const text = this.waitedText(node.dataset.since);
      if (node.textContent !== text) node.textContent = text;
    }
    const now = Date.now();
    for (const chat of this.chats.values()) {
      if (chat.typing && chat.typing.until < now) {
        chat.typing = null;
        if (chat.id === this.selected) this.renderTyping();
      }
    }
  }

  async take(chatId, button) {
    if (button) button.disabled = true;
    this.taking.add(chatId);
    const r = await this.api("POST", `/live-chats/${chatId}/take`);
    this.taking.delete(chatId);
    if (r.ok) {
      this.dropWaiting(chatId);
      this.addChat(this.summaryOf(r.body), r.body);
      this.select(chatId);
      $("composer-text").focus({ preventScroll: true });
      return;
    }
    if (button) button.disabled = false;
    if (r.status === 409 && r.error.code === "already_taken") {
      this.toast("Someone else took it.");
      this.dropWaiting(chatId);
    } else if (r.status === 404) {
      this.toast("That candidate is no longer waiting.");
      this.dropWaiting(chatId);
    } else {
      this.toast(r.error.message, "error");
    }
  }

  async takeNext() {
    const button = $("take-next");
    button.disabled = true;
    this.takingNext = (this.takingNext || 0) + 1;
    const r = await this.api("POST", "/live-chats/take-next");
    setTimeout(() => { this.takingNext -= 1; }, 1000);
    button.disabled = false;
    if (r.ok) {
      this.dropWaiting(r.body.id);
      this.addChat(this.summaryOf(r.body), r.body);
      this.select(r.body.id);
      $("composer-text").focus({ preventScroll: true });
    } else {
      this.toast(r.error.code === "queue_empty" ? "Nobody is waiting right now." : r.error.message, r.status === 409 ? "" : "error");
      this.renderQueues();
    }
  }

  // -------------------------------------------------------------------------------- notes

  renderNotes() {
    const list = $("note-list");
    list.replaceChildren();
    for (const n of this.notes.values()) {
      const open = h("button", { class: "btn small", type: "button", text: "Open", "aria-label": `Open the note from ${n.name}` });
      open.addEventListener("click", () => {
        this.notes.delete(n.id);
        this.renderNotes();
        this.addChat({ ...n, status: "note" });
        this.select(n.id);
      });
      list.append(h("li", { class: "qrow" },
        h("div", { class: "qwho" }, h("strong", { text: n.name }), n.title ? h("span", { class: "small muted", text: n.title }) : null),
        h("span", { class: "waited", dataset: { since: n.since || "" }, text: this.waitedText(n.since) }),
        open));
    }
    $("notes-count").textContent = String(this.notes.size);
    $("notes-empty").hidden = this.notes.size > 0;
    $("notes-empty").closest(".card").classList.toggle("isempty", this.notes.size === 0);
  }

  // -------------------------------------------------------------------------------- chats

  summaryOf(view) {
    return {
      id: view.id, name: (view.candidate && view.candidate.name) || view.name || "Candidate",
      title: (view.job && view.job.title) || (view.company && `${view.company.name} booth`) || view.title || "",
      status: view.status, kind: view.kind, queue: view.queue,
    };
  }

  addChat(summary, detail = null) {
    let chat = this.chats.get(summary.id);
    if (chat) {
      if (detail) this.setDetail(chat, detail);
      return chat;
    }
    chat = {
      id: summary.id, name: summary.name, title: summary.title || "", status: summary.status || "active",
      contig: 0, seqs: new Set(), baseline: null, pending: new Map(), unread: 0, detail: null,
      typing: null, draft: "", fillTimer: null, watched: false,
      list: h("ol", { class: "transcript", "aria-label": `Conversation with ${summary.name}`, "aria-live": "polite", hidden: true }),
      tab: null,
    };
    chat.tab = h("button", { type: "button", role: "tab", class: "chattab", id: `tab-${chat.id}`, "aria-selected": "false", tabindex: "-1",
      "aria-controls": "chat-pane", dataset: { chatId: String(chat.id) } });
    chat.tab.addEventListener("click", () => this.select(chat.id, { focus: false }));
    chat.tab.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.step(e.key === "ArrowDown" ? 1 : -1, true);
      }
    });
    this.chats.set(chat.id, chat);
    this.order.push(chat.id);
    $("transcripts").append(chat.list);
    $("chat-list").append(chat.tab);
    if (detail) this.setDetail(chat, detail);
    this.renderTab(chat);
    this.renderListState();
    if (this.welcomed) this.watch(chat);
    return chat;
  }

  removeChat(chatId) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    this.sendFrame({ type: "unwatch", chat: chatId });
    this.emit("removed", chat);
    chat.list.remove();
    chat.tab.remove();
    clearTimeout(chat.fillTimer);
    this.chats.delete(chatId);
    const index = this.order.indexOf(chatId);
    this.order.splice(index, 1);
    if (this.selected === chatId) {
      this.selected = null;
      const next = this.order[Math.min(index, this.order.length - 1)];
      if (next !== undefined) this.select(next, { focus: false });
      else this.showEmpty();
    }
    this.renderListState();
  }

  renderListState() {
    $("mine-count").textContent = String(this.order.length);
    this.renderSeatSummary();
    $("mine-empty").hidden = this.order.length > 0;
    $("switch-hint").hidden = this.order.length < 2;
  }

  renderTab(chat) {
    const parts = [h("span", { class: "tabname", text: chat.name })];
    const sub = [];
    if (chat.title) sub.push(chat.title);
    if (chat.status === "ended") sub.push("ended");
    if (chat.status === "note") sub.push("note");
    if (chat.typing) sub.push("typing…");
    parts.push(h("span", { class: "tabsub small muted", text: sub.join(" · ") }));
    if (chat.unread) parts.push(h("span", { class: "count unread", text: String(chat.unread), "aria-label": `${chat.unread} unread` }));
    chat.tab.replaceChildren(...parts);
    chat.tab.classList.toggle("ended", chat.status === "ended");
    this.renderSeatSummary();
  }

  showEmpty() {
    $("chat-main").hidden = true;
    $("pane-empty").hidden = false;
    $("detail").hidden = true;
    $("detail-empty").hidden = false;
  }

  select(chatId, { focus = false } = {}) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const previous = this.chats.get(this.selected);
    if (previous && previous !== chat) {
      previous.draft = $("composer-text").value;
      this.stopTyping();
      this.flushNotes();
    }
    this.selected = chatId;
    for (const c of this.chats.values()) {
      const on = c === chat;
      c.tab.setAttribute("aria-selected", on ? "true" : "false");
      c.tab.tabIndex = on ? 0 : -1;
      c.list.hidden = !on;
    }
    $("pane-empty").hidden = true;
    $("chat-main").hidden = false;
    $("composer-text").value = chat.draft;
    chat.unread = 0;
    this.renderTab(chat);
    this.renderHead(chat);
    this.renderTyping();
    this.scrollDown(chat, true);
    this.renderDetail(chat);
    this.loadDetail(chat);
    this.emit("select", chat);
    if (focus) chat.tab.focus();
    if (window.matchMedia("(max-width: 900px)").matches && document.activeElement === chat.tab) {
      $("chat-pane").scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  step(direction, focusTab = false) {
    if (!this.order.length) return;
    const at = this.order.indexOf(this.selected);
    const next = this.order[(at + direction + this.order.length) % this.order.length];
    this.select(next, { focus: focusTab });
  }

  renderHead(chat) {
    $("chat-title").textContent = chat.name;
    $("chat-sub").textContent = chat.title;
    const status = $("chat-status");
    status.textContent = STATUS_LABELS[chat.status] || chat.status;
    status.className = `badge live-${chat.status}`;
    const open = chat.status === "active" || chat.status === "note";
    $("composer-text").disabled = !open;
    $("send").disabled = !open;
    $("composer-text").placeholder = !open ? "This chat has ended. End it with a next step to file it in History."
      : chat.status === "note" ? "Your reply reaches them by email, with a link to continue the chat…" : "Write a message…";
    $("end-chat").textContent = chat.status === "ended" ? "File chat" : "End chat";
    this.emit("head", chat);
  }

  scrollDown(chat, force = false) {
    const box = $("transcripts");
    if (chat.id !== this.selected) return;
    const near = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    if (force || near) box.scrollTop = box.scrollHeight;
  }

  // -------------------------------------------------------------------------------- transcript

  lineKind(ev) {
    if (ev.kind === "notice") return "notice";
    if (ev.kind === "bot" || (ev.body && ev.body.bot)) return "bot";
    if (ev.author && ev.author.id === this.me.id) return "me";
    if (!ev.author || ev.author.role === "candidate") return "candidate";
    return "staff";
  }

  lineNode(chat, ev) {
    const kind = this.lineKind(ev);
    const text = String((ev.body && ev.body.text) || "");
    const time = h("time", { class: "small muted", datetime: ev.at || "", text: clockOf(ev.at) });
    if (kind === "notice") {
      return h("li", { class: "line notice", dataset: { seq: String(ev.seq) } }, h("span", { text }), " ", time);
    }
    let author = "";
    if (kind === "bot") author = "";
    else if (kind === "me") author = "You";
    else if (kind === "candidate") author = (ev.author && ev.author.name) || (ev.body && ev.body.name) || chat.name;
    else author = (ev.author && ev.author.name) || "Recruiter";
    const isNote = ev.body && ev.body.note;
    return h("li", { class: `line ${kind}${isNote ? " isnote" : ""}`, dataset: { seq: String(ev.seq) } },
      h("div", { class: "bubble" },
        h("div", { class: "meta" }, author ? h("span", { class: "author", text: author }) : null,
          kind === "bot" ? h("span", { class: "badge", text: "Bot" }) : null,
          ev.body && ev.body.auto ? h("span", { class: "badge", text: "Automatic" }) : null,
          isNote ? h("span", { class: "badge status-pending", text: ev.body.callback ? "Note · call back" : "Note" }) : null,
          time),
        h("div", { class: "text" }, ...linkified(text))));
  }

  ingest(chat, ev, { live = true } = {}) {
    if (typeof ev.seq !== "number" || chat.seqs.has(ev.seq)) return;
    chat.seqs.add(ev.seq);
    if (ev.client_id && chat.pending.has(ev.client_id)) {
      chat.pending.get(ev.client_id).node.remove();
      chat.pending.delete(ev.client_id);
    }
    const node = this.lineNode(chat, ev);
    this.emit("line", chat, ev, node);
    // In seq order; lines still being sent stay last.
    let before = null;
    for (const child of chat.list.children) {
      const s = child.dataset.seq ? Number(child.dataset.seq) : Infinity;
      if (s > ev.seq) { before = child; break; }
    }
    chat.list.insertBefore(node, before);
    if (ev.seq === chat.contig + 1) {
      chat.contig = ev.seq;
      while (chat.seqs.has(chat.contig + 1)) chat.contig += 1;
    } else if (ev.seq > chat.contig + 1) {
      this.scheduleFill(chat);
    }
    if (ev.kind === "notice" && ev.body && ev.body.event === "resume") this.loadDetail(chat, true);
    const kind = this.lineKind(ev);
    const isNew = live && chat.baseline !== null && ev.seq > chat.baseline;
    if (isNew && kind === "candidate") {
      if (chat.id !== this.selected || document.hidden) {
        chat.unread += 1;
        this.renderTab(chat);
      }
      if (chat.typing) { chat.typing = null; this.renderTyping(); this.renderTab(chat); }
      if (chat.id !== this.selected || document.hidden || !document.hasFocus()) {
        this.alerts.raise(`${chat.name}: new message`, String(ev.body.text || "").slice(0, 120), chat.id);
      }
    }
    this.scrollDown(chat, kind === "me");
  }

  // A gap in the numbering: fetch what is missing over HTTP (entries the socket doesn't carry leave holes for good).
  scheduleFill(chat) {
    if (chat.fillTimer) return;
    chat.fillTimer = setTimeout(async () => {
      chat.fillTimer = null;
      const from = chat.contig;
      const r = await this.api("GET", `/live-chats/${chat.id}/messages?after=${from}`);
      if (!r.ok || !this.chats.has(chat.id)) return;
      for (const ev of r.body.messages || []) this.ingest(chat, ev);
      const top = Math.max(chat.contig, ...chat.seqs);
      chat.contig = Math.max(chat.contig, top);
    }, 1200);
  }

  // -------------------------------------------------------------------------------- composer

  bindComposer() {
    const text = $("composer-text");
    $("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendLine();
    });
    text.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      if (e.ctrlKey || e.metaKey || !e.shiftKey) {
        e.preventDefault();
        this.sendLine();
      }
    });
    text.addEventListener("input", () => this.typed());
    text.addEventListener("blur", () => this.stopTyping());
  }

  async sendLine() {
    const chat = this.chats.get(this.selected);
    const box = $("composer-text");
    const text = box.value.trim();
    if (!chat || !text || box.disabled) return;
    if (text.length > 4000) {
      this.toast("A message is at most 4000 characters.", "error");
      return;
    }
    for (const check of this.beforeSend) {
      if ((await check(chat, text)) === false) return;
    }
    if (box.value.trim() !== text) return;  // edited while a check asked something
    box.value = "";
    chat.draft = "";
    this.stopTyping();
    this.queueLine(chat, text);
  }

  queueLine(chat, text, extra = {}) {
    const clientId = randomId("m");
    const node = h("li", { class: "line me pending" },
      h("div", { class: "bubble" },
        h("div", { class: "meta" }, h("span", { class: "author", text: "You" }), h("span", { class: "small muted state", text: "Sending…" })),
        h("div", { class: "text", text })));
    chat.list.append(node);
    chat.pending.set(clientId, { text, extra, node, sentAt: 0, tries: 0 });
    this.flushOutbox(chat);
    this.scrollDown(chat, true);
  }

  flushOutbox(only = null) {
    if (!this.welcomed) return;
    const now = Date.now();
    for (const chat of only ? [only] : this.chats.values()) {
      for (const [clientId, item] of chat.pending) {
        if (item.failed || (item.sentAt && now - item.sentAt < 8000)) continue;
        // The same client_id every time: the server stores a line once however often it arrives.
        if (this.sendFrame({ type: "chat", chat: chat.id, client_id: clientId, text: item.text, ...(item.extra || {}) })) {
          item.sentAt = now;
          item.tries += 1;
        }
      }
    }
  }

  onAck(msg) {
    const chat = this.chats.get(msg.chat);
    if (!chat) return;
    const item = chat.pending.get(msg.client_id);
    if (!item) return;
    chat.pending.delete(msg.client_id);
    item.node.remove();
    this.ingest(chat, {
      seq: msg.seq, kind: "message", author: { id: this.me.id, name: this.me.name, role: "recruiter" },
      body: { text: item.text, ...(item.extra || {}) }, at: new Date(this.serverNow()).toISOString(), client_id: msg.client_id,
    });
  }

  onLineError(msg) {
    for (const chat of this.chats.values()) {
      const item = chat.pending.get(msg.client_id);
      if (!item) continue;
      if (msg.code === "busy" || msg.code === "rate_limited") {
        item.sentAt = Date.now();  // tried again by the outbox check
        return true;
      }
      item.failed = true;
      const state = item.node.querySelector(".state");
      state.textContent = `Not sent: ${msg.message}`;
      item.node.classList.add("failed");
      const retry = h("button", { class: "linkish small", type: "button", text: "Try again" });
      retry.addEventListener("click", () => {
        item.failed = false;
        item.sentAt = 0;
        item.node.classList.remove("failed");
        state.textContent = "Sending…";
        retry.remove();
        this.flushOutbox(chat);
      });
      item.node.querySelector(".meta").append(retry);
      return true;
    }
    return false;
  }

  typed() {
    const chat = this.chats.get(this.selected);
    if (!chat || chat.status !== "active") return;
    const now = Date.now();
    if (this.typingChat !== chat.id || now - this.typingSentAt > 3000) {
      this.sendFrame({ type: "typing", chat: chat.id, active: true });
      this.typingSentAt = now;
      this.typingChat = chat.id;
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), 4000);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (this.typingChat !== null) {
      this.sendFrame({ type: "typing", chat: this.typingChat, active: false });
      this.typingChat = null;
      this.typingSentAt = 0;
    }
  }

  onTyping(msg) {
    const chat = this.chats.get(msg.chat);
    if (!chat) return;
    chat.typing = msg.active ? { name: msg.name || chat.name, until: Date.now() + 8000 } : null;
    this.renderTab(chat);
    if (chat.id === this.selected) this.renderTyping();
  }

  renderTyping() {
    const chat = this.chats.get(this.selected);
    $("typing").textContent = chat && chat.typing ? `${chat.typing.name} is typing…` : "";
  }

  // -------------------------------------------------------------------------------- details

  bindDetail() {
    $("contact-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const chat = this.chats.get(this.selected);
      if (!chat) return;
      const f = e.target.elements;
      $("contact-status").textContent = "Saving…";
      const r = await this.api("PATCH", `/live-chats/${chat.id}`, { name: f.name.value, email: f.email.value, phone: f.phone.value });
      if (r.ok) {
        this.setDetail(chat, r.body, true);
        $("contact-status").textContent = "Saved.";
      } else {
        $("contact-status").textContent = r.error.message;
      }
    });
    const notes = $("notes");
    notes.addEventListener("input", () => {
      this.notesFor = this.selected;
      $("notes-status").textContent = "Not saved yet…";
      clearTimeout(this.notesTimer);
      this.notesTimer = setTimeout(() => this.flushNotes(), 900);
    });
    notes.addEventListener("blur", () => this.flushNotes());
    window.addEventListener("beforeunload", () => this.flushNotes());
  }

  async flushNotes() {
    clearTimeout(this.notesTimer);
    const chatId = this.notesFor;
    if (chatId === null) return;
    this.notesFor = null;
    const chat = this.chats.get(chatId);
    const text = $("notes").value;
    if (chat && chat.detail) chat.detail.private_notes = text;
    if (chatId === this.selected) $("notes-status").textContent = "Saving…";
    const r = await this.api("PATCH", `/live-chats/${chatId}`, { private_notes: text });
    if (chatId !== this.selected) return;
    $("notes-status").textContent = r.ok ? `Saved at ${clockOf(new Date(this.serverNow()).toISOString())}.` : `Not saved: ${r.error.message}`;
  }

  async loadDetail(chat, force = false) {
    if ((chat.detail && !force) || this.detailLoads.has(chat.id)) return;
    const load = this.api("GET", `/live-chats/${chat.id}`);
    this.detailLoads.set(chat.id, load);
    const r = await load;
    this.detailLoads.delete(chat.id);
    if (r.ok && this.chats.has(chat.id)) this.setDetail(chat, r.body);
  }

  setDetail(chat, detail, contactSaved = false) {
    chat.detail = detail;
    const summary = this.summaryOf(detail);
    chat.name = summary.name;
    if (summary.title) chat.title = summary.title;
    if (detail.status && !(chat.status === "ended" && detail.status !== "ended")) chat.status = detail.status;
    this.renderTab(chat);
    if (chat.id === this.selected) {
      this.renderHead(chat);
      this.renderDetail(chat, contactSaved);
    }
  }

  renderDetail(chat, contactSaved = false) {
    const d = chat.detail;
    $("detail-empty").hidden = !!d;
    $("detail").hidden = !d;
    if (!d) {
      $("detail-empty").textContent = "Loading the candidate's details…";
      return;
    }
    const f = $("contact-form").elements;
    const c = d.candidate || {};
    for (const name of ["name", "email", "phone"]) {
      if (document.activeElement !== f[name] || contactSaved) f[name].value = c[name] || "";
    }
    if (!contactSaved) $("contact-status").textContent = "";

    const facts = $("facts");
    facts.replaceChildren();
    const fact = (label, value) => facts.append(h("dt", { text: label }), h("dd", {}, value));
    if (c.sms_consent) fact("Texts", document.createTextNode("Welcome"));
    if (d.job) {
      const job = h("span", {}, h("a", { href: `/live/jobs/${d.job.id}`, text: d.job.title }),
        h("span", { class: "muted small", text: ` ${d.job.company}${d.job.location ? ` · ${d.job.location}` : ""}` }));
      fact("Job req", job);
    }
    if (d.company) fact("Booth", document.createTextNode(d.company.name));
    if (d.event) fact("Event", document.createTextNode(d.event.name));
    if (d.source_url) fact("Came from", webLink(d.source_url));
    if (d.current_url) {
      fact("Now on", d.current_url === d.source_url ? h("span", { class: "muted", text: "the same page" }) : webLink(d.current_url));
    }

    const answers = $("answers");
    answers.replaceChildren();
    for (const a of d.answers || []) {
      answers.append(h("li", {},
        h("span", { text: a.question }), " ",
        h("strong", { class: a.qualified ? "ok" : "no", text: a.answer }),
        h("span", { class: "sr-only", text: a.qualified ? " (qualifies)" : " (does not qualify)" })));
    }
    $("answers-box").hidden = !(d.answers && d.answers.length);

    const fields = $("fields");
    fields.replaceChildren();
    const entries = Object.values(d.fields || {});
    for (const v of entries) fields.append(h("dt", { text: v.label }), h("dd", { text: v.value }));
    $("fields-box").hidden = entries.length === 0;

    const resume = $("resume");
    resume.replaceChildren();
    if (d.resume) {
      const kb = Math.max(1, Math.round((d.resume.size || 0) / 1024));
      resume.append(h("a", { class: "btn small", href: `${this.boot.api}/live-chats/${chat.id}/resume`, download: d.resume.name || "resume",
        text: `Download ${d.resume.name} (${kb} KB)` }));
    } else {
      resume.append(h("span", { class: "muted small", text: "No resume yet. The candidate can add one during the chat." }));
    }
    const notes = $("notes");
    if (document.activeElement !== notes && this.notesFor !== chat.id) {
      notes.value = d.private_notes || "";
      $("notes-status").textContent = "";
    }
    this.emit("detail", chat);
  }

  // -------------------------------------------------------------------------------- ending

  bindEnd() {
    const dialog = $("end-dialog");
    $("end-chat").addEventListener("click", () => this.openEnd());
    $("end-cancel").addEventListener("click", () => dialog.close());
    $("end-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const outcome = e.submitter && e.submitter.value === "follow_up" ? "follow_up" : "finished";
      const chat = this.chats.get(this.endingId);
      const step = $("next-step").value;
      if (!chat) { dialog.close(); return; }
      if (!step) {
        $("end-error").textContent = "Pick a next step.";
        $("next-step").focus();
        return;
      }
      for (const b of dialog.querySelectorAll("button")) b.disabled = true;
      await this.flushNotes();
      const body = { next_step: step, outcome };
      this.emit("end-body", chat, body);  // the ticket's fields (console_desk.js)
      const r = await this.api("POST", `/live-chats/${chat.id}/end`, body);
      for (const b of dialog.querySelectorAll("button")) b.disabled = false;
      if (!r.ok) {
        $("end-error").textContent = r.error.message;
        return;
      }
      dialog.close();
      this.removeChat(chat.id);
      this.toast(`Chat with ${chat.name} filed in History · ${step}${outcome === "follow_up" ? " · follow up" : ""}.`);
      // Follow up: email, forward or offer a time, on a page of its own (a new tab: the chats here stay open).
      if (outcome === "follow_up") window.open(`/live/chats/${chat.id}/follow-up`, "_blank", "noopener");
    });
  }

  async openEnd() {
    const chat = this.chats.get(this.selected);
    if (!chat) return;
    this.endingId = chat.id;
    if (!chat.detail) await this.loadDetail(chat);
    const steps = (chat.detail && chat.detail.next_steps) || ["Interview", "Screen", "Pipeline", "Not a fit"];
    const select = $("next-step");
    select.replaceChildren(h("option", { value: "", text: "Choose a next step…" }), ...steps.map((s) => h("option", { value: s, text: s })));
    if (chat.detail && chat.detail.next_step) select.value = chat.detail.next_step;
    $("end-title").textContent = `End the chat with ${chat.name}`;
    this.emit("end-open", chat);
    $("end-error").textContent = "";
    $("end-dialog").showModal();
    select.focus();
  }

  // -------------------------------------------------------------------------------- keyboard

  bindKeys() {
    document.addEventListener("keydown", (e) => {
      if ($("end-dialog").open) return;
      const altArrow = e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "ArrowUp" || e.key === "ArrowDown");
      const bracket = e.ctrlKey && !e.altKey && (e.key === "[" || e.key === "]" || e.code === "BracketLeft" || e.code === "BracketRight");
      if ((!altArrow && !bracket) || this.order.length < 2) return;
      e.preventDefault();
      const back = e.key === "ArrowUp" || e.key === "[" || e.code === "BracketLeft";
      const inTabs = document.activeElement && document.activeElement.getAttribute("role") === "tab";
      this.step(back ? -1 : 1, inTabs);
    });
  }

  // -------------------------------------------------------------------------------- the socket

  connect() {
    if (!this.boot.staff) return;
    clearTimeout(this.retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}${this.boot.ws}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastRx = Date.now();
      ws.send(JSON.stringify({ type: "hello", v: 1, conn: this.connId }));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastRx = Date.now();
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      this.onFrame(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      if (this.downSince === null) this.downSince = Date.now();
      if (event.code === 4401) {
        this.banner("Sign in again as a recruiter or organizer to answer chats. Reload the page after signing in.", true);
        return;
      }
      this.scheduleReconnect();
    };
    if (!this.beatTimer) this.beatTimer = setInterval(() => this.beat(), 5000);
  }

  // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … at most 15 s between tries.
  scheduleReconnect() {
    clearTimeout(this.retryTimer);
    const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    if (Date.now() - this.downSince > 1500 || this.attempt > 1) {
      this.banner(`Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s… Your messages wait and are sent when it's back.`);
    }
  }

  beat() {
    if (!this.welcomed || !this.ws) return;
    const now = Date.now();
    if (now - this.lastRx > 65000) {
      // Nothing heard for a long time: the socket is dead even if the browser hasn't noticed.
      const ws = this.ws;
      this.ws = null;
      this.welcomed = false;
      ws.close();
      if (this.downSince === null) this.downSince = now;
      this.scheduleReconnect();
      return;
    }
    if (!this.lastBeat || now - this.lastBeat >= 25000) {
      this.sendFrame({ type: "heartbeat" });
      this.lastBeat = now;
    }
    this.flushOutbox();
  }

  sendFrame(msg) {
    if (!this.ws || !this.welcomed || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  watch(chat) {
    this.sendFrame({ type: "watch", chat: chat.id, last_seq: chat.contig || null });
  }

  onFrame(msg) {
    this.emit("frame", msg);
    switch (msg.type) {
      case "welcome": this.onWelcome(msg); break;
      case "queue": this.onQueue(msg); break;
      case "assigned": this.onAssigned(msg); break;
      case "watching": this.onWatching(msg); break;
      case "event": {
        const chat = this.chats.get(msg.chat);
        if (chat) this.ingest(chat, msg);
        break;
      }
      case "typing": this.onTyping(msg); break;
      case "status": this.onStatus(msg); break;
      case "page": this.onPage(msg); break;
      case "ack": this.onAck(msg); break;
      case "error": this.onError(msg); break;
      default: break;  // pong, or something newer than this page
    }
  }

  onWelcome(msg) {
    this.welcomed = true;
    this.attempt = 0;
    this.downSince = null;
    this.lastBeat = Date.now();
    this.banner("");
    this.setAgent(msg.agent);
    // Queues this person no longer answers disappear; the others come back in queue frames.
    const names = new Set(msg.queues || []);
    for (const name of [...this.queues.keys()]) if (!names.has(name)) this.queues.delete(name);
    this.renderQueues();
    for (const chat of this.chats.values()) this.watch(chat);
    this.flushOutbox();
  }

  onWatching(msg) {
    const chat = this.chats.get(msg.chat);
    if (!chat) return;
    chat.watched = true;
    if (chat.baseline === null) chat.baseline = msg.seq;
    if (msg.status && msg.status !== chat.status) {
      chat.status = msg.status;
      this.renderTab(chat);
      if (chat.id === this.selected) this.renderHead(chat);
    }
  }

  async onAssigned(msg) {
    if (this.chats.has(msg.chat)) return;
    const ours = this.taking.has(msg.chat) || this.takingNext > 0;
    const r = await this.api("GET", `/live-chats/${msg.chat}`);
    if (!r.ok || this.chats.has(msg.chat)) return;
    this.dropWaiting(msg.chat);
    const chat = this.addChat(this.summaryOf(r.body), r.body);
    if (this.selected === null) this.select(chat.id);
    if (!ours) this.alerts.raise(`New chat: ${chat.name}`, chat.title ? `About ${chat.title}` : "A candidate is now chatting with you.", chat.id);
  }

  onStatus(msg) {
    const chat = this.chats.get(msg.chat);
    if (!chat) return;
    const before = chat.status;
    chat.status = msg.status;
    this.renderTab(chat);
    if (chat.id === this.selected) this.renderHead(chat);
    if (msg.status === "ended" && before !== "ended") {
      if (chat.id !== this.selected) { chat.unread += 1; this.renderTab(chat); }
      this.alerts.raise(`${chat.name} left the chat`, "Pick a next step to file it in History.", chat.id);
    }
  }

  onPage(msg) {
    const chat = this.chats.get(msg.chat);
    if (!chat || !chat.detail) return;
    chat.detail.current_url = msg.url;
    if (chat.id === this.selected) this.renderDetail(chat);
  }

  onError(msg) {
    if (msg.client_id && this.onLineError(msg)) return;
    if (msg.code === "busy") return;
    this.toast(msg.message || "Something went wrong.", "error");
  }
}

const root = $("console-app");
if (root && root.dataset.boot) {
  const app = new Console(root);
  loadPlugins(app, ["console_desk.js", "console_compose.js", "console_files.js"]);  // after the core: a failing one never takes the chats down
}
enhanceJobPage();
