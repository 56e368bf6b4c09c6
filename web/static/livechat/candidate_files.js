// The candidate chat's attachments (a plugin of candidate.js): send a file to the recruiter, and get the files of the chat.
//
// - "Attach a file" sits in the composer row beside the résumé button (which stays: a résumé is kept with the chat's
//   details, a file is a line of the conversation). The file goes to POST /api/v1/chats/{id}/attachments with the chat's
//   token; progress and refusals are said in words in the composer's status line. The server decides the type by content
//   (PDF, Word, PNG/JPEG/GIF/WebP image, plain text; 10 MB at most).
// - A line whose body carries `attachment` shows the file's name and size with a Download button. A plain link can't
//   carry the token (it never goes into a URL), so the button fetches the file with the Authorization header and saves it
//   through a blob: URL; images also show a small preview drawn the same way.
// Text from the network goes in with textContent only.

import { el, svgIcon } from "./candidate.js";

const MAX_BYTES = 10 * 1024 * 1024;
const ACCEPT = [".pdf", ".doc", ".docx", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", "application/pdf", "application/msword",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "image/png", "image/jpeg", "image/gif", "image/webp",
  "text/plain"].join(",");
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const PREVIEW_MAX = 4 * 1024 * 1024;
const FILE_ICON = "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z M14 3v5h5 M12 11v6 M9 14h6";
const DOWNLOAD_ICON = "M12 4v11 M7 10l5 5 5-5 M5 20h14";
const HINT = "Attach a file: PDF, Word, image or plain text, up to 10 MB";

function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

export function install(chat) {
  const files = new CandidateFiles(chat);
  window.fairmeetChatFiles = files;  // for tests and debugging
}

class CandidateFiles {
  constructor(chat) {
    this.chat = chat;
    this.busy = false;
    this.blobs = new Map();  // attachment id -> blob (fetched once, for the preview and the download)
    chat.on("composer", (form, row) => this.addButton(form, row));
    chat.on("line", (event, li) => this.onLine(event, li));
    // A composer or lines drawn before this module loaded.
    const form = document.querySelector("#lc-foot form.lc-compose");
    if (form) this.addButton(form, form.querySelector(".lc-row"));
    if (chat.seq > 0) this.catchUp();
  }

  // ---------------------------------------------------------------------------------- sending

  addButton(form, row) {
    if (!form || !row || row.querySelector(".lc-sendfile")) return;
    const input = el("input", { type: "file", class: "lc-hiddenfile", accept: ACCEPT, tabindex: "-1", "aria-hidden": "true" });
    const button = el("button", { type: "button", class: "btn lc-attach lc-sendfile", title: HINT, "aria-label": HINT },
      svgIcon(FILE_ICON), el("span", { class: "lc-attachtext", text: "Attach a file" }));
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (file) this.send(file, form, button);
    });
    row.insertBefore(button, row.querySelector("textarea, input"));
    form.append(input);
  }

  say(form, text, bad = false) {
    let status = form.querySelector(".lc-upload");
    if (!status) {
      status = el("p", { class: "lc-upload", role: "status", "aria-live": "polite" });
      form.append(status);
    }
    status.hidden = !text;
    status.textContent = text;
    status.classList.toggle("lc-err", bad);
  }

  send(file, form, button) {
    const chat = this.chat;
    if (this.busy || !chat.chatId || !chat.token) return;
    if (file.size > MAX_BYTES) {
      this.say(form, `${file.name} is ${fileSize(file.size)}; files can be 10 MB at most.`, true);
      return;
    }
    if (file.size === 0) {
      this.say(form, `${file.name} is empty.`, true);
      return;
    }
    this.busy = true;
    button.disabled = true;
    this.say(form, `Sending ${file.name}…`);
    const body = new FormData();
    body.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/chats/${chat.chatId}/attachments`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Authorization", `Bearer ${chat.token}`);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total) this.say(form, `Sending ${file.name}… ${Math.floor((e.loaded / e.total) * 100)}%`);
    });
    const done = (text, bad) => {
      this.busy = false;
      button.disabled = false;
      this.say(form, text, bad);
    };
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201 && data) {
        done(`Sent ${data.name} (${fileSize(data.size)}).`, false);
        return;
      }
      const message = (data && data.error && data.error.message)
        || (xhr.status === 413 ? "Files can be 10 MB at most." : "Something went wrong; please try again.");
      done(`${file.name} wasn't sent: ${message}`, true);
    });
    xhr.addEventListener("error", () => done(`${file.name} wasn't sent: we couldn't reach the server. Check your connection and try again.`, true));
    xhr.addEventListener("abort", () => done(`${file.name} wasn't sent.`, true));
    xhr.send(body);
  }

  // ---------------------------------------------------------------------------------- files in the conversation

  onLine(event, li) {
    const att = event && event.body && event.body.attachment;
    if (!att || !li || typeof att.id !== "number" || li.dataset.attachment) return;
    li.dataset.attachment = String(att.id);
    li.classList.add("lc-hasfile");
    const text = li.querySelector(".lc-text");
    if (!text) return;
    const name = String(att.name || "file");
    const status = el("span", { class: "lc-filestatus", role: "status", "aria-live": "polite" });
    const download = el("button", { type: "button", class: "btn lc-download", "aria-label": `Download ${name}, ${fileSize(att.size)}` },
      svgIcon(DOWNLOAD_ICON), el("span", { text: "Download" }));
    download.addEventListener("click", () => this.download(att, download, status));
    text.replaceChildren(
      el("span", { class: "lc-file" }, svgIcon(FILE_ICON), el("span", { class: "lc-filename", text: name }),
        el("span", { class: "lc-filesize", text: fileSize(att.size) })),
      download, status);
    if (IMAGE_TYPES.has(att.type) && Number(att.size) <= PREVIEW_MAX) this.preview(att, text);
  }

  async fetchFile(att) {
    if (this.blobs.has(att.id)) return this.blobs.get(att.id);
    const chat = this.chat;
    let response;
    try {
      response = await fetch(`/api/v1/chats/${chat.chatId}/attachments/${Number(att.id)}`, {
        headers: { Authorization: `Bearer ${chat.token}` }, credentials: "omit", cache: "no-store",
      });
    } catch {
      throw new Error("We couldn't reach the server. Check your connection and try again.");
    }
    if (!response.ok) {
      let message = "";
      try { message = ((await response.json()).error || {}).message || ""; } catch { /* not JSON */ }
      throw new Error(message || "This file can't be downloaded right now.");
    }
    const blob = await response.blob();
    this.blobs.set(att.id, blob);
    return blob;
  }

  async download(att, button, status) {
    button.disabled = true;
    status.textContent = "Downloading…";
    try {
      const blob = await this.fetchFile(att);
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: String(att.name || "file"), hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.textContent = "Downloaded.";
    } catch (err) {
      status.textContent = `Not downloaded: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async preview(att, text) {
    let blob;
    try {
      blob = await this.fetchFile(att);
    } catch {
      return;  // the Download button says what is wrong when pressed
    }
    if (!IMAGE_TYPES.has(blob.type)) return;
    const src = URL.createObjectURL(blob);
    const img = el("img", { class: "lc-preview", src, alt: `Preview of ${att.name}` });
    img.addEventListener("load", () => this.chat.scroll());
    text.append(el("div", { class: "lc-previewbox" }, img));
  }

  // Lines drawn before this module loaded show only the file's name: find them (by their text, in order) and add the
  // download button. Lines still being replayed off-screen are looked for there too.
  async catchUp() {
    const r = await this.chat.call(`/messages?after=0`);
    if (!r.ok) return;
    const lines = [...document.querySelectorAll("#lc-log li.lc-msg")];
    if (this.chat.replay && this.chat.replay.list) lines.push(...this.chat.replay.list.querySelectorAll("li.lc-msg"));
    let from = 0;
    for (const event of r.data.messages || []) {
      const att = event.body && event.body.attachment;
      if (!att) continue;
      const at = lines.findIndex((node, i) => i >= from && !node.dataset.attachment
        && (node.querySelector(".lc-text") || {}).textContent === String(event.body.text || ""));
      if (at < 0) continue;
      from = at + 1;
      this.onLine(event, lines[at]);
    }
  }
}
