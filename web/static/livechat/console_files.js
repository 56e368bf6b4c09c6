// The console's attachments (a plugin of console.js): send files into a chat, show the files in the transcript, list them
// beside the candidate's details.
//
// - "Attach" in #composer-tools picks a file (PDF, Word, PNG/JPEG/GIF/WebP image or plain text, 10 MB at most; the server
//   decides by content) and sends it to POST /api/v1/live-chats/{id}/attachments with the session cookie and the page's
//   CSRF token. Progress and refusals are said in words under the tools; the file shows in the transcript when the
//   chat's own line for it arrives on the socket, like any line.
// - A line whose body carries `attachment` becomes a download link with the file's name and size. Images also show a
//   small preview, drawn from a blob: URL of the file fetched with the session (no token ever goes into a URL).
// - #files-box lists the chat's files (GET /api/v1/live-chats/{id}/attachments), newest last.
// Text from the network goes in with textContent only (console_util.js h()).

import { $, h, clockOf } from "./console_util.js";

const MAX_BYTES = 10 * 1024 * 1024;
const ACCEPT = [".pdf", ".doc", ".docx", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", "application/pdf", "application/msword",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "image/png", "image/jpeg", "image/gif", "image/webp",
  "text/plain"].join(",");
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const PREVIEW_MAX = 4 * 1024 * 1024;  // larger images are downloaded, not previewed

export function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

export function install(app) {
  const tools = $("composer-tools");
  if (!tools) return;
  const files = new Files(app, tools);
  window.fairmeetFiles = files;  // for tests and debugging
}

class Files {
  constructor(app, tools) {
    this.app = app;
    this.lists = new Map();     // chat id -> Map(attachment id -> item)
    this.loaded = new Set();    // chats whose list came from the server (lines add to it as they arrive)
    this.loading = new Map();   // chat id -> promise of the list
    this.previews = new Map();  // chat id -> [blob: URLs] to revoke when the chat goes
    this.busy = false;

    this.input = h("input", { type: "file", accept: ACCEPT, hidden: true, tabindex: "-1", "aria-hidden": "true", id: "attach-file" });
    this.button = h("button", { class: "btn small tool attach", type: "button", id: "attach-button",
      title: "Send a file: PDF, Word, image or plain text, up to 10 MB", text: "Attach" });
    this.status = h("span", { class: "small attachstatus", id: "attach-status", role: "status", "aria-live": "polite" });
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const file = this.input.files && this.input.files[0];
      this.input.value = "";
      if (file) this.send(file);
    });
    tools.append(this.button, this.input, this.status);

    app.on("head", (chat) => this.renderButton(chat));
    app.on("select", (chat) => {
      if (this.statusFor !== chat.id) this.say("");
      this.renderButton(chat);
    });
    app.on("line", (chat, ev, node) => this.onLine(chat, ev, node));
    app.on("detail", (chat) => this.onDetail(chat));
    app.on("removed", (chat) => this.forget(chat));

    const chat = app.current();
    if (chat) {
      this.renderButton(chat);
      if (chat.detail) this.onDetail(chat);
    }
    // Lines that arrived before this module loaded were drawn as text: find their files and draw them again.
    for (const c of app.chats.values()) if (c.seqs.size) this.catchUp(c);
  }

  // ---------------------------------------------------------------------------------- sending

  writable(chat) {
    if (!chat) return false;
    const you = chat.detail ? chat.detail.you : null;
    if (chat.status === "note") return true;  // whoever answers a note first owns it (the server decides)
    return chat.status === "active" && (!you || you === "owner" || you === "visible");
  }

  renderButton(chat) {
    if (!chat || chat.id !== this.app.selected) return;
    const ok = this.writable(chat);
    this.button.disabled = this.busy || !ok;
    const you = chat.detail ? chat.detail.you : null;
    this.button.title = ok ? "Send a file: PDF, Word, image or plain text, up to 10 MB"
      : you === "invisible" ? "You're monitoring invisibly: join the chat to send files."
        : "Files can be sent while the chat is open.";
  }

  say(text, bad = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", bad);
  }

  send(file) {
    const chat = this.app.current();
    if (!chat || this.busy) return;
    this.statusFor = chat.id;
    if (file.size > MAX_BYTES) {
      this.say(`${file.name} is ${fileSize(file.size)}: files can be 10 MB at most.`, true);
      return;
    }
    if (file.size === 0) {
      this.say(`${file.name} is empty.`, true);
      return;
    }
    this.busy = true;
    this.renderButton(chat);
    this.say(`Sending ${file.name}…`);
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${this.app.boot.api}/live-chats/${chat.id}/attachments`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", this.app.csrf);
    xhr.withCredentials = true;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total) this.say(`Sending ${file.name}… ${Math.floor((e.loaded / e.total) * 100)}%`);
    });
    const done = (text, bad) => {
      this.busy = false;
      this.say(text, bad);
      const current = this.app.current();
      if (current) this.renderButton(current);
    };
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201 && body) {
        this.remember(chat, { ...body, by: body.by || this.app.me.name });
        done(`Sent ${body.name} (${fileSize(body.size)}).`, false);
        return;
      }
      const message = (body && body.error && body.error.message)
        || (xhr.status === 413 ? "Files can be 10 MB at most." : `Fairmeet answered ${xhr.status}; try again.`);
      if (xhr.status === 401) this.app.banner("Your sign-in has expired. Reload the page to sign in again.", true);
      done(`${file.name} was not sent: ${message}`, true);
    });
    xhr.addEventListener("error", () => done(`${file.name} was not sent: no connection to Fairmeet. Try again in a moment.`, true));
    xhr.addEventListener("abort", () => done(`${file.name} was not sent.`, true));
    xhr.send(form);
  }

  // ---------------------------------------------------------------------------------- the transcript

  url(chat, id) {
    return `${this.app.boot.api}/live-chats/${chat.id}/attachments/${Number(id)}`;
  }

  onLine(chat, ev, node) {
    const att = ev && ev.body && ev.body.attachment;
    if (!att || !node || typeof att.id !== "number") return;
    this.drawLine(chat, att, node);
    this.remember(chat, {
      id: att.id, name: att.name, size: att.size, type: att.type, at: ev.at,
      side: ev.author && ev.author.role === "candidate" ? "candidate" : "staff",
      by: (ev.author && ev.author.name) || (ev.body && ev.body.name) || "",
    });
  }

  drawLine(chat, att, node) {
    const text = node.querySelector(".text");
    if (!text || node.dataset.attachment) return;
    node.dataset.attachment = String(att.id);
    node.classList.add("hasfile");
    const name = String(att.name || "file");
    const link = h("a", { class: "filelink linkish", href: this.url(chat, att.id), download: name,
      "aria-label": `Download ${name}, ${fileSize(att.size)}` },
    h("span", { class: "filename", text: name }), " ", h("span", { class: "filesize", text: `(${fileSize(att.size)})` }));
    text.replaceChildren(link);
    if (IMAGE_TYPES.has(att.type) && Number(att.size) <= PREVIEW_MAX) this.preview(chat, att, text);
  }

  async preview(chat, att, text) {
    let response;
    try {
      response = await fetch(this.url(chat, att.id), { credentials: "same-origin", cache: "no-store" });
    } catch {
      return;  // the link still works
    }
    if (!response.ok || !this.app.chats.has(chat.id)) return;
    const blob = await response.blob();
    if (!IMAGE_TYPES.has(blob.type)) return;
    const src = URL.createObjectURL(blob);
    if (!this.previews.has(chat.id)) this.previews.set(chat.id, []);
    this.previews.get(chat.id).push(src);
    const img = h("img", { class: "filepreview", src, alt: `Preview of ${att.name}` });
    const box = $("transcripts");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    img.addEventListener("load", () => this.app.scrollDown(chat, atBottom));
    text.append(img);
  }

  // Lines ingested before this module was installed: fetch the chat's lines once and draw the files among them.
  async catchUp(chat) {
    const r = await this.app.api("GET", `/live-chats/${chat.id}/messages?after=0`);
    if (!r.ok || !this.app.chats.has(chat.id)) return;
    for (const ev of r.body.messages || []) {
      const att = ev.body && ev.body.attachment;
      if (!att) continue;
      const node = chat.list.querySelector(`li[data-seq="${Number(ev.seq)}"]`);
      if (node) this.onLine(chat, ev, node);
    }
  }

  // ---------------------------------------------------------------------------------- the Files list

  remember(chat, item) {
    if (!this.lists.has(chat.id)) this.lists.set(chat.id, new Map());
    const list = this.lists.get(chat.id);
    list.set(item.id, { ...list.get(item.id), ...item });
    if (chat.id === this.app.selected && this.loaded.has(chat.id)) this.renderList(chat);
  }

  async onDetail(chat) {
    if (chat.id !== this.app.selected) return;
    this.renderButton(chat);
    if (this.loaded.has(chat.id)) {
      this.renderList(chat);
      return;
    }
    this.renderList(chat, "Loading files…");
    if (!this.loading.has(chat.id)) {
      this.loading.set(chat.id, this.app.api("GET", `/live-chats/${chat.id}/attachments`));
    }
    const r = await this.loading.get(chat.id);
    this.loading.delete(chat.id);
    if (!this.app.chats.has(chat.id)) return;
    if (!r.ok) {
      if (chat.id === this.app.selected) this.renderList(chat, `Files can't be listed: ${r.error.message}`);
      return;
    }
    for (const item of r.body.attachments || []) this.remember(chat, item);
    this.loaded.add(chat.id);
    if (chat.id === this.app.selected) this.renderList(chat);
  }

  renderList(chat, message = "") {
    const box = $("files-box");
    if (!box) return;
    const items = [...(this.lists.get(chat.id) || new Map()).values()].sort((a, b) => a.id - b.id);
    const body = message ? h("p", { class: "muted small", text: message })
      : items.length === 0 ? h("p", { class: "muted small", text: "No files yet. Use Attach to send one; files the candidate sends show here too." })
        : h("ul", { class: "filelist", "aria-label": "Files in this chat" }, ...items.map((item) => {
          const bits = [fileSize(item.size), item.side === "candidate" ? `from ${item.by || chat.name}` : `from ${item.by || "staff"}`];
          if (item.at) bits.push(clockOf(item.at));
          return h("li", {},
            h("a", { href: this.url(chat, item.id), download: String(item.name || "file"), text: String(item.name || "file") }),
            h("span", { class: "muted small", text: ` ${bits.join(" · ")}` }));
        }));
    box.replaceChildren(h("h3", { text: `Files${items.length ? ` (${items.length})` : ""}` }), body);
  }

  forget(chat) {
    for (const src of this.previews.get(chat.id) || []) URL.revokeObjectURL(src);
    this.previews.delete(chat.id);
    this.lists.delete(chat.id);
    this.loaded.delete(chat.id);
  }
}
