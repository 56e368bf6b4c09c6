// The console's desk operations (docs/livechat.md, "The desk"): chats offered to this person to accept in time (a
// pop-up with a countdown and the chime), colleagues' ongoing chats to join visibly, monitor invisibly or take over,
// and in a chat: invite a colleague, forward to a colleague or a team, leave (the last one out makes a ticket), ask for
// a rating. The candidate's current page and who else is in the chat show in the bar under the chat's header.

import { $, h, webLink } from "./console_util.js";

const REASONS = { route: "New chat", forward: "Forwarded to you", invite: "Invitation to join" };
const ONGOING_EVERY = 15000;

function dialog(id, title, ...content) {
  const old = $(id);
  if (old) old.remove();
  const box = h("dialog", { id, class: "card enddialog deskdialog", "aria-labelledby": `${id}-title` },
    h("form", { method: "dialog", class: "stack" }, h("h2", { id: `${id}-title`, text: title }), ...content));
  ($("console-app") || document.body).append(box);  // inside the console: placed and styled like its other dialogs
  return box;
}

class Desk {
  constructor(app) {
    this.app = app;
    this.offers = new Map();   // chat id -> offer frame
    this.ongoing = [];
    this.colleagues = new Map();  // chat id -> last colleagues answer
    app.on("frame", (msg) => this.onFrame(msg));
    app.on("head", (chat) => this.renderOps(chat));
    app.on("detail", (chat) => this.onDetail(chat));
    app.on("select", (chat) => this.renderBar(chat));
    app.on("removed", () => this.renderBar(null));
    app.on("end-open", (chat) => this.endOpen(chat));
    app.on("end-body", (chat, body) => this.endBody(chat, body));
    app.on("line", (chat, ev, node) => this.onLine(chat, ev, node));
    this.addEndFields();
    this.loadOffers();
    this.loadOngoing();
    setInterval(() => this.tick(), 1000);
    setInterval(() => this.loadOngoing(), ONGOING_EVERY);
    const current = app.current();
    if (current) this.renderOps(current);
  }

  // ------------------------------------------------------------------------------ frames

  onFrame(msg) {
    if (msg.type === "welcome") {
      this.loadOffers();
      this.loadOngoing();
    } else if (msg.type === "offer") {
      this.addOffer(msg, true);
    } else if (msg.type === "offer_gone") {
      const offer = this.offers.get(msg.chat);
      this.dropOffer(msg.chat);
      if (offer && msg.outcome === "expired") this.app.toast(`The chat with ${offer.name} went to someone else: the time to accept ran out.`);
      if (offer && msg.outcome === "withdrawn") this.app.toast(`${offer.name}'s chat is no longer offered to you.`);
    } else if (msg.type === "members") {
      const chat = this.app.chats.get(msg.chat);
      if (chat) this.app.loadDetail(chat, true);
      this.loadOngoing();
    } else if (msg.type === "unwatched") {
      const chat = this.app.chats.get(msg.chat);
      if (chat) {
        this.app.removeChat(chat.id);
        this.app.toast(`The chat with ${chat.name} is no longer yours: a colleague has it now.`);
      }
      this.loadOngoing();
    } else if (msg.type === "page") {
      const chat = this.app.current();
      if (chat && chat.id === msg.chat) this.renderBar(chat);
    } else if (msg.type === "status" && this.app.chats.has(msg.chat)) {
      this.app.loadDetail(this.app.chats.get(msg.chat), true);  // who owns it may have changed (a forward accepted, a take-over)
      clearTimeout(this.ongoingTimer);
      this.ongoingTimer = setTimeout(() => this.loadOngoing(), 400);
    } else if (msg.type === "status" || msg.type === "queue") {
      // A chat was taken, ended or changed hands somewhere in this person's queues: colleagues' chats may have changed.
      clearTimeout(this.ongoingTimer);
      this.ongoingTimer = setTimeout(() => this.loadOngoing(), 400);
    }
  }

  onDetail(chat) {
    const d = chat.detail;
    // No longer in it (taken over, forwarded, left): the chat leaves "My chats" even where a supervisor may still read it.
    if (d && d.you === "observer" && (chat.status === "active" || chat.status === "transfer")) {
      this.app.removeChat(chat.id);
      this.app.toast(`The chat with ${chat.name} is no longer yours: a colleague has it now.`);
      return;
    }
    this.renderBar(chat);
    if (chat.id === this.app.selected) this.renderOps(chat);
  }

  onLine(chat, ev) {
    if (ev.kind === "notice" && ev.body && ev.body.event === "rated" && chat.baseline !== null && ev.seq > chat.baseline) {
      this.app.loadDetail(chat, true);
    }
    // Resolved automatically (the candidate left): the chat leaves the inbox; History keeps it.
    if (ev.kind === "notice" && ev.body && ev.body.event === "resolved" && chat.baseline !== null && ev.seq > chat.baseline) {
      setTimeout(() => {
        if (!this.app.chats.has(chat.id)) return;
        this.app.removeChat(chat.id);
        this.app.toast(`The chat with ${chat.name} was resolved automatically: the candidate left. It's in History.`);
      }, 1500);
    }
  }

  // ------------------------------------------------------------------------------ offers

  async loadOffers() {
    const r = await this.app.api("GET", "/live-offers");
    if (!r.ok) return;
    const listed = new Set();
    for (const offer of r.body || []) {
      listed.add(offer.chat);
      this.addOffer(offer, false);
    }
    for (const id of [...this.offers.keys()]) if (!listed.has(id)) this.dropOffer(id);
  }

  addOffer(offer, alert) {
    const fresh = !this.offers.has(offer.chat);
    this.offers.set(offer.chat, offer);
    this.renderOffers();
    if (fresh && alert) {
      const what = offer.reason === "invite" ? `${offer.by ? offer.by.name : "A colleague"} invites you to a chat` : `${REASONS[offer.reason]}: ${offer.name}`;
      this.app.alerts.raise(what, `${offer.label}. Accept within ${this.left(offer)} s.`, null);
      const first = $("offer-list").querySelector(`[data-chat-id="${offer.chat}"] button`);
      if (first && !this.app.current()) first.focus();
    }
  }

  dropOffer(chatId) {
    if (!this.offers.delete(chatId)) return;
    this.renderOffers();
  }

  left(offer) {
    return Math.max(0, Math.ceil((Date.parse(offer.expires_at) - this.app.serverNow()) / 1000));
  }

  renderOffers() {
    const list = $("offer-list");
    list.replaceChildren();
    for (const offer of this.offers.values()) {
      const accept = h("button", { class: "btn small primary", type: "button", text: offer.reason === "invite" ? "Join" : "Accept",
        "aria-label": `${offer.reason === "invite" ? "Join" : "Accept"} the chat with ${offer.name}` });
      const decline = h("button", { class: "btn small", type: "button", text: "Decline", "aria-label": `Decline the chat with ${offer.name}` });
      accept.addEventListener("click", () => this.answer(offer, "accept", accept));
      decline.addEventListener("click", () => this.answer(offer, "decline", decline));
      const by = offer.by ? ` by ${offer.by.name}` : "";
      list.append(h("li", { class: "offer", dataset: { chatId: String(offer.chat) } },
        h("div", {},
          h("strong", { text: offer.name }),
          h("div", { class: "small muted", text: `${REASONS[offer.reason] || "Offer"}${offer.reason === "route" ? "" : by} · ${offer.label}` }),
          offer.note ? h("p", { class: "offernote small", text: `“${offer.note}”` }) : null,
          h("div", { class: "small offerleft", role: "timer", "aria-live": "off", dataset: { expires: offer.expires_at },
            text: `${this.left(offer)} s left to accept` })),
        h("div", { class: "actions" }, accept, decline)));
    }
    $("offers-count").textContent = String(this.offers.size);
    $("offers").hidden = this.offers.size === 0;
  }

  tick() {
    for (const node of document.querySelectorAll(".offerleft")) {
      const offer = this.offers.get(Number(node.closest("[data-chat-id]").dataset.chatId));
      if (!offer) continue;
      const left = this.left(offer);
      node.textContent = left > 0 ? `${left} s left to accept` : "Time's up: passing it on…";
      node.classList.toggle("urgent", left <= 10);
    }
    this.renderWaited();
  }

  async answer(offer, action, button) {
    button.disabled = true;
    const r = await this.app.api("POST", `/live-chats/${offer.chat}/${action}`);
    button.disabled = false;
    this.dropOffer(offer.chat);
    if (!r.ok) {
      this.app.toast(r.error.message, "error");
      return;
    }
    if (action === "accept" && r.body && r.body.chat && r.body.chat.candidate) this.open(r.body.chat);
  }

  open(view) {
    const chat = this.app.addChat(this.app.summaryOf(view), view);
    this.app.select(chat.id, { focus: false });
    $("chat-title").focus();
    return chat;
  }

  // ------------------------------------------------------------------------------ colleagues' chats

  async loadOngoing() {
    if (this.ongoingLoading) return;
    this.ongoingLoading = true;
    const r = await this.app.api("GET", "/live-chats/ongoing");
    this.ongoingLoading = false;
    if (!r.ok) return;
    this.ongoing = r.body || [];
    this.renderOngoing();
  }

  renderOngoing() {
    const list = $("ongoing-list");
    list.replaceChildren();
    const mine = new Set(this.app.chats.keys());
    const rows = this.ongoing.filter((c) => !mine.has(c.id));
    for (const c of rows) {
      const join = h("button", { class: "btn small", type: "button", text: "Join", "aria-label": `Join the chat with ${c.candidate}` });
      const watch = h("button", { class: "btn small", type: "button", text: "Monitor", title: "Read along without anyone being told",
        "aria-label": `Monitor the chat with ${c.candidate} invisibly` });
      const take = h("button", { class: "btn small", type: "button", text: "Take over", "aria-label": `Take over the chat with ${c.candidate}` });
      join.addEventListener("click", () => this.run(c.id, "join", { invisible: false }, join));
      watch.addEventListener("click", () => this.run(c.id, "join", { invisible: true }, watch));
      take.addEventListener("click", () => this.run(c.id, "take-over", c.owner ? { owner_id: c.owner.id } : {}, take));
      list.append(h("li", { class: "qrow ongoing", dataset: { chatId: String(c.id) } },
        h("div", { class: "qwho" }, h("strong", { text: c.candidate }),
          h("span", { class: "small muted", text: `with ${c.owner ? c.owner.name : "nobody"} · ${c.title || c.label}` }),
          h("span", { class: "small muted waited", dataset: { since: c.taken_at || "" }, text: this.app.waitedText(c.taken_at) })),
        h("div", { class: "actions" }, join, watch, take)));
    }
    $("ongoing-count").textContent = String(rows.length);
    $("ongoing-empty").hidden = rows.length > 0;
  }

  renderWaited() {
    for (const node of document.querySelectorAll("#ongoing-list .waited")) node.textContent = this.app.waitedText(node.dataset.since);
  }

  // Runs an operation on a chat; the answer is the chat as its staff now see it.
  async run(chatId, op, body, button) {
    if (button) button.disabled = true;
    const r = await this.app.api("POST", `/live-chats/${chatId}/${op}`, body);
    if (button) button.disabled = false;
    if (!r.ok) {
      this.app.toast(r.error.code === "owner_changed" ? `${r.error.message} Look again, then try once more.` : r.error.message, "error");
      const chat = this.app.chats.get(chatId);
      if (chat) this.app.loadDetail(chat, true);
      this.loadOngoing();
      return null;
    }
    const view = r.body && r.body.chat;
    if (view && view.candidate) {
      const chat = this.app.chats.get(view.id) || this.open(view);
      this.app.setDetail(chat, view);
    } else if (view) {
      this.app.removeChat(view.id);  // forwarded away: no longer ours to read
    }
    this.loadOngoing();
    return view;
  }

  // ------------------------------------------------------------------------------ the selected chat

  renderOps(chat) {
    const box = $("chat-ops");
    box.replaceChildren();
    const d = chat && chat.detail;
    const you = d ? d.you : "owner";
    const ongoing = chat && chat.status === "active";
    const button = (text, fn, label) => {
      const b = h("button", { class: "btn small", type: "button", text, "aria-label": label || text });
      b.addEventListener("click", () => fn(b));
      box.append(b);
      return b;
    };
    if (ongoing && you === "owner") {
      button("Invite", () => this.openInvite(chat), "Invite a colleague into this chat");
      button("Forward", () => this.openForward(chat), "Forward this chat to a colleague or a team");
    }
    if (ongoing && you === "invisible") {
      button("Join", (b) => this.run(chat.id, "join", { invisible: false }, b), "Join this chat visibly");
    }
    if (ongoing && (you === "invisible" || you === "visible" || you === "observer")) {
      // The owner this person saw: if a colleague took the chat meanwhile, the server says so (409 owner_changed).
      button("Take over", (b) => this.run(chat.id, "take-over", d && d.recruiter ? { owner_id: d.recruiter.id } : {}, b), "Take this chat over");
    }
    if (d && (you === "owner" || you === "visible") && ["active", "ended", "note"].includes(chat.status) && !(d.rating && d.rating.asked)) {
      button("Ask for rating", (b) => this.askRating(chat, b), "Ask the candidate to rate this chat");
    }
    if (ongoing && (you === "owner" || you === "visible" || you === "invisible")) {
      button(you === "invisible" ? "Stop monitoring" : "Leave", () => this.openLeave(chat), you === "invisible" ? "Stop monitoring this chat" : "Leave this chat");
    }
    // Only the owner ends a chat with a next step; others leave it.
    $("end-chat").hidden = !!d && you !== "owner";
    if (d && you === "invisible") {
      const text = $("composer-text");
      text.disabled = true;
      $("send").disabled = true;
      text.placeholder = "You're monitoring this chat invisibly: nobody knows you're here. Join to write.";
    }
  }

  // The desk's part of the bar under the chat's header (other plugins put their own children there, e.g. the reminder).
  renderBar(chat) {
    const bar = $("chat-bar");
    let box = $("chat-bar-desk");
    if (!box) {
      box = h("span", { id: "chat-bar-desk", class: "chatbarbits" });
      bar.append(box);
    }
    const d = chat && chat.detail;
    const bits = [];
    if (d && chat && chat.id === this.app.selected) this.barBits(d, bits);
    box.replaceChildren(...bits);
    box.hidden = bits.length === 0;
    bar.hidden = ![...bar.children].some((c) => !c.hidden);
  }

  barBits(d, bits) {
    if (d.current_url) bits.push(h("span", { class: "pagenow" }, "On ", webLink(d.current_url)));
    const others = (d.members || []).filter((m) => m.id !== this.app.me.id);
    if (d.recruiter && d.recruiter.id !== this.app.me.id && d.you !== "owner") bits.push(h("span", { text: `Owner: ${d.recruiter.name}` }));
    if (others.length) {
      bits.push(h("span", { text: `Also here: ${others.map((m) => `${m.name}${m.mode === "invisible" ? " (monitoring, unseen)" : ""}`).join(", ")}` }));
    }
    if (d.you === "invisible") bits.push(h("span", { class: "badge", text: "Monitoring: the candidate doesn't see you" }));
    if (d.forwarded && d.forwarded.note && d.you === "owner") {
      bits.push(h("span", { class: "fwdnote", text: `Forwarded by ${d.forwarded.by ? d.forwarded.by.name : "a colleague"}: “${d.forwarded.note}”` }));
    }
    if (d.team) bits.push(h("span", { text: `Team: ${d.team.name}` }));
    if (d.rating && d.rating.score) {
      bits.push(h("span", { text: `Rated ${d.rating.score} of ${d.rating.scale}${d.rating.comment ? `: “${d.rating.comment}”` : ""}` }));
    }
    if (d.ticket) bits.push(h("a", { href: d.ticket.url, text: `Ticket #${d.ticket.id} (${d.ticket.status})` }));
  }

  async askRating(chat, button) {
    const view = await this.run(chat.id, "ask-rating", undefined, button);
    if (view) this.app.toast(`${chat.name} was asked to rate this chat.`);
  }

  async loadColleagues(chat) {
    const r = await this.app.api("GET", `/live-chats/${chat.id}/colleagues`);
    if (!r.ok) {
      this.app.toast(r.error.message, "error");
      return null;
    }
    return r.body;
  }

  personOptions(people, onlineOnly) {
    return people.filter((p) => !onlineOnly || p.online).map((p) => h("option", { value: String(p.id),
      text: `${p.name}${p.online ? ` · online, ${p.free_seats} free` : " · offline"}`, disabled: onlineOnly && !p.online }));
  }

  async openForward(chat) {
    const who = await this.loadColleagues(chat);
    if (!who) return;
    const target = h("select", { id: "fwd-target", required: true },
      h("option", { value: "", text: "Choose a colleague or a team…" }),
      who.teams.length ? h("optgroup", { label: "Teams" }, ...who.teams.map((t) => h("option", { value: `team:${t.id}`,
        text: `${t.name} · ${t.online} online` }))) : null,
      h("optgroup", { label: "People online" }, ...who.people.filter((p) => p.online).map((p) => h("option", { value: `user:${p.id}`,
        text: `${p.name} · ${p.free_seats} free seat${p.free_seats === 1 ? "" : "s"}` }))));
    const note = h("textarea", { id: "fwd-note", rows: "3", maxlength: "1000", placeholder: "What should they know? Only staff see this." });
    const error = h("p", { class: "small", role: "alert" });
    const send = h("button", { class: "btn primary", type: "submit", text: "Forward" });
    const cancel = h("button", { class: "btn", type: "button", text: "Cancel" });
    const box = dialog("forward-dialog", `Forward ${chat.name}'s chat`,
      h("label", {}, "To ", target), h("label", {}, "Note for them ", note),
      h("p", { class: "small muted", text: `${chat.name} is told they're being transferred. If nobody accepts in time, the chat goes to the next free person or back to the queue.` }),
      error, h("div", { class: "actions" }, send, cancel));
    cancel.addEventListener("click", () => box.close());
    box.querySelector("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!target.value) { error.textContent = "Choose whom to forward to."; target.focus(); return; }
      const [kind, id] = target.value.split(":");
      const body = { note: note.value, [kind === "team" ? "team_id" : "user_id"]: Number(id) };
      send.disabled = true;
      const r = await this.app.api("POST", `/live-chats/${chat.id}/forward`, body);
      send.disabled = false;
      if (!r.ok) { error.textContent = r.error.message; return; }
      box.close();
      this.app.removeChat(chat.id);
      this.app.toast(`Forwarded ${chat.name} to ${target.selectedOptions[0].textContent.split(" · ")[0]}.`);
    });
    box.showModal();
    target.focus();
  }

  async openInvite(chat) {
    const who = await this.loadColleagues(chat);
    if (!who) return;
    const inChat = new Set(((chat.detail && chat.detail.members) || []).filter((m) => m.mode === "visible").map((m) => m.id));
    const online = who.people.filter((p) => p.online && !inChat.has(p.id));
    const target = h("select", { id: "invite-target", required: true }, h("option", { value: "", text: online.length ? "Choose a colleague…" : "Nobody else is online" }),
      ...online.map((p) => h("option", { value: String(p.id), text: p.name })));
    const note = h("textarea", { id: "invite-note", rows: "2", maxlength: "1000", placeholder: "Why you'd like their help (only staff see this)" });
    const error = h("p", { class: "small", role: "alert" });
    const send = h("button", { class: "btn primary", type: "submit", text: "Invite" });
    const cancel = h("button", { class: "btn", type: "button", text: "Cancel" });
    const box = dialog("invite-dialog", "Invite a colleague", h("label", {}, "Colleague ", target), h("label", {}, "Note ", note),
      h("p", { class: "small muted", text: "You stay in the chat; they join when they accept." }), error, h("div", { class: "actions" }, send, cancel));
    cancel.addEventListener("click", () => box.close());
    box.querySelector("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!target.value) { error.textContent = "Choose a colleague."; target.focus(); return; }
      send.disabled = true;
      const r = await this.app.api("POST", `/live-chats/${chat.id}/invite`, { user_id: Number(target.value), note: note.value });
      send.disabled = false;
      if (!r.ok) { error.textContent = r.error.message; return; }
      box.close();
      this.app.toast(`Invited ${target.selectedOptions[0].textContent}. They'll join when they accept.`);
    });
    box.showModal();
    target.focus();
  }

  async openLeave(chat) {
    const d = chat.detail || {};
    const someoneStays = (d.members || []).some((m) => m.mode === "visible" && m.id !== this.app.me.id);
    if (d.you !== "owner" || someoneStays) {
      const text = d.you === "invisible" ? "Stop monitoring this chat?" : d.you === "owner"
        ? "Leave this chat? A colleague in it takes it over." : "Leave this chat? Everyone in it is told.";
      if (!window.confirm(text)) return;
      const r = await this.app.api("POST", `/live-chats/${chat.id}/leave`, {});
      if (!r.ok) {
        this.app.toast(r.error.message, "error");
        return;
      }
      this.app.removeChat(chat.id);
      this.app.toast(d.you === "invisible" ? `You stopped monitoring the chat with ${chat.name}.` : `You left the chat with ${chat.name}.`);
      this.loadOngoing();
      return;
    }
    const who = await this.loadColleagues(chat);
    const subject = h("input", { id: "leave-subject", maxlength: "200", placeholder: "Default: the candidate's first question" });
    const assignee = h("select", { id: "leave-assignee" }, h("option", { value: "", text: "Nobody yet" }),
      ...(who ? who.people : []).map((p) => h("option", { value: String(p.id), text: p.name })),
      h("option", { value: String(this.app.me.id), text: `Me (${this.app.me.name})` }));
    const mail = h("input", { type: "checkbox", id: "leave-mail" });
    const error = h("p", { class: "small", role: "alert" });
    const go = h("button", { class: "btn primary", type: "submit", text: "Leave and make a ticket" });
    const cancel = h("button", { class: "btn", type: "button", text: "Cancel" });
    const box = dialog("leave-dialog", `Leave the chat with ${chat.name}`,
      h("p", { class: "small", text: "You're the last one here: the chat ends and becomes a follow-up ticket." }),
      h("label", {}, "Ticket subject ", subject), h("label", {}, "Assign to ", assignee),
      h("label", { class: "choice" }, mail, " Email the transcript to the candidate"),
      error, h("div", { class: "actions" }, go, cancel));
    cancel.addEventListener("click", () => box.close());
    box.querySelector("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      go.disabled = true;
      const r = await this.app.api("POST", `/live-chats/${chat.id}/leave`, {
        subject: subject.value, assignee_id: assignee.value ? Number(assignee.value) : null, email_transcript: mail.checked });
      go.disabled = false;
      if (!r.ok) { error.textContent = r.error.message; return; }
      box.close();
      this.app.removeChat(chat.id);
      const ticket = r.body && r.body.chat && r.body.chat.ticket;
      this.app.toast(ticket ? `You left. Ticket #${ticket.id}: “${ticket.subject}”.` : "You left the chat.");
    });
    box.showModal();
    subject.focus();
  }

  // ------------------------------------------------------------------------------ ending: the ticket's fields

  addEndFields() {
    const form = $("end-form");
    if (!form || $("end-ticket")) return;
    const fields = h("fieldset", { id: "end-ticket", class: "stack" }, h("legend", { text: "Ticket" }),
      h("label", {}, "Subject ", h("input", { id: "end-subject", maxlength: "200", placeholder: "Default: the candidate's first question" })),
      h("label", {}, "Status ", h("select", { id: "end-status" },
        h("option", { value: "solved", text: "Solved" }), h("option", { value: "open", text: "Open" }), h("option", { value: "pending", text: "Pending" }))),
      h("label", {}, "Assign to ", h("select", { id: "end-assignee" }, h("option", { value: "", text: "Nobody" }))),
      h("label", { class: "choice" }, h("input", { type: "checkbox", id: "end-mail" }), " Email the transcript to the candidate"));
    form.insertBefore(fields, $("end-error"));
  }

  async endOpen(chat) {
    $("end-subject").value = "";
    $("end-status").value = "solved";
    $("end-mail").checked = false;
    const select = $("end-assignee");
    select.replaceChildren(h("option", { value: "", text: "Nobody" }), h("option", { value: String(this.app.me.id), text: `Me (${this.app.me.name})` }));
    const who = await this.loadColleagues(chat);
    if (who) select.append(...who.people.map((p) => h("option", { value: String(p.id), text: p.name })));
  }

  endBody(chat, body) {
    const assignee = $("end-assignee").value;
    Object.assign(body, { subject: $("end-subject").value, ticket_status: $("end-status").value,
      assignee_id: assignee ? Number(assignee) : null, email_transcript: $("end-mail").checked });
  }
}

export function install(app) {
  app.desk = new Desk(app);
}
