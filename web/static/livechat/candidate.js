// The candidate's side of a live chat: the pre-chat assistant, the queue, the chat with a recruiter, notes and résumés.
// A plain ES module with no build step, used by templates/livechat/cand_chat.html in these places (data-mode):
//   "widget"    inside the iframe that /widget.js adds to a job site; it talks to that page only by postMessage
//   "page"      on the job req's own page, /jobs/{id}
//   "continue"  on the page a "your recruiter answered" email or text links to
//   "event"     a signed-in member at a live event: a company's booth (/events/{id}/booths/{company}) or the event's
//               support (/events/{id}/support; with data-embed="1" inside the video room's help drawer, which speaks the
//               widget's postMessage protocol from this same origin). No pre-chat questions: one "Start chat" click
//               posts data-start-url with the session cookie and data-csrf; after that the chat is the same as QuickChat.
// Server side: docs/livechat.md (the JSON API and the /ws/live socket). Text from data is always set with textContent.
// The chat's token is kept in sessionStorage (keyed by job id, or by event, booth and person; see `store`) so a reload
// resumes; it never goes into a URL.

import { Hooks, loadPlugins } from "./hooks.js";

const root = document.getElementById("lc");
const $ = (id) => document.getElementById(id);

const JOB = root && root.dataset.job ? Number(root.dataset.job) : null;
const MODE = (root && root.dataset.mode) || "page";
const LINK = (root && root.dataset.link) || "";
const ALLOWED = new Set([window.location.origin, ...parseJson(root && root.dataset.origins, [])]);
// Event mode: where the chat starts, with which CSRF token, for which booth (none: the event's support queue).
const EVENT = MODE === "event" ? {
  startUrl: root.dataset.startUrl || "",
  csrf: root.dataset.csrf || "",
  companyId: root.dataset.companyId ? Number(root.dataset.companyId) : null,
  key: String(root.dataset.store || "event").replace(/[^A-Za-z0-9_-]/g, ""),
} : null;
// In a frame that talks to its host page: the widget on a job site, or the support panel in the video room's drawer.
const FRAMED = MODE === "widget" || (MODE === "event" && root.dataset.embed === "1");
const TEAM = (root && root.dataset.team) || "the recruiters";       // who answers, for "leave a note for …"
const AGENT = (root && root.dataset.agent) || "Recruiter";          // under the name of whoever joined
const HEADING = root ? document.getElementById("lc-title").textContent : "";
const SUBTITLE = root ? document.getElementById("lc-sub").textContent : "";
const STORE = JOB ? `fairmeet-chat-${JOB}` : EVENT ? `fairmeet-event-${EVENT.key}` : `fairmeet-continue-${LINK}`;
const MAX_RESUME = 5 * 1024 * 1024;
const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });  // 24-hour, as the pages
const PHONE_HINT = "Please include the country code, like +49 30 1234567.";

// ------------------------------------------------------------------------------------------ helpers

function parseJson(text, fallback) {
  try {
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

function randomId(bytes = 16) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

function webUrl(value) {
  return typeof value === "string" && /^https?:\/\//i.test(value) && value.length <= 1000 ? value : "";
}

function linkUrl(value) {
  // Same-site paths ("/jobs/3") or http(s) URLs only: never javascript: or data: links.
  if (typeof value !== "string") return "";
  if (/^\/(?!\/)/.test(value)) return value;
  return webUrl(value);
}

function initials(name) {
  const parts = String(name || "").trim().split(/\s+/).filter(Boolean);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

function firstName(name) {
  return String(name || "").trim().split(/\s+/)[0] || "";
}

function fileSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

// Where the chat's credential is kept so that a reload resumes. sessionStorage first. A browser that blocks storage in
// third-party frames (the widget on a job site) still keeps a partitioned cookie (CHIPS): readable only by this frame's
// path on Fairmeet's origin and only under this job site, sent to nothing but this page. The token is never handed to the
// host page. Without either (plain http), the chat lives as long as the page.
const store = {
  kind: null,
  cookie: `fm_chat_${JOB || (EVENT ? `event_${EVENT.key}` : "continue")}`,
  detect() {
    if (this.kind) return this.kind;
    try {
      sessionStorage.setItem("fm-probe", "1");
      sessionStorage.removeItem("fm-probe");
      this.kind = "session";
    } catch {
      this.kind = window.isSecureContext ? "cookie" : "memory";
    }
    return this.kind;
  },
  writeCookie(value, maxAge) {
    document.cookie = `${this.cookie}=${value}; Path=${window.location.pathname}; Secure; SameSite=None; Partitioned${maxAge === null ? "" : `; Max-Age=${maxAge}`}`;
  },
  load() {
    const kind = this.detect();
    try {
      if (kind === "session") return parseJson(sessionStorage.getItem(STORE), null);
      if (kind === "cookie") {
        const found = document.cookie.split("; ").find((c) => c.startsWith(`${this.cookie}=`));
        return found ? parseJson(decodeURIComponent(found.slice(this.cookie.length + 1)), null) : null;
      }
    } catch { /* unreadable: start over */ }
    return null;
  },
  save(value) {
    const kind = this.detect();
    try {
      if (kind === "session") sessionStorage.setItem(STORE, JSON.stringify(value));
      else if (kind === "cookie") this.writeCookie(encodeURIComponent(JSON.stringify(value)), null);
    } catch { /* the chat works; a reload starts over */ }
  },
  forget() {
    const kind = this.detect();
    try {
      if (kind === "session") sessionStorage.removeItem(STORE);
      else if (kind === "cookie") this.writeCookie("", 0);
    } catch { /* nothing kept */ }
  },
};

// Calls go without cookies, on the chat's token; only an event chat's start goes with the session and the page's CSRF token.
async function api(path, { method = "GET", body, form, token, csrf } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (csrf) headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: csrf ? "same-origin" : "omit", cache: "no-store",
      body: form || (body !== undefined ? JSON.stringify(body) : undefined),
    });
  } catch {
    return { ok: false, status: 0, error: { code: "network", message: "We couldn't reach the server. Check your connection and try again." } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch { /* not JSON */ }
  if (response.ok) return { ok: true, status: response.status, data: data || {} };
  const error = (data && data.error) || {};
  return {
    ok: false, status: response.status,
    error: {
      code: error.code || `http_${response.status}`,
      message: error.message || (response.status === 413 ? "That file is too large (5 MB at most)." : "Something went wrong; please try again."),
    },
  };
}

// ------------------------------------------------------------------------------------------ the host page (widget mode)

// In the iframe, the only party we listen to is the page that embeds us (window.parent), on its exact origin: the
// browser's own record of our ancestors when it keeps one, otherwise the referrer; either must be a site the job
// req allows (the server's frame-ancestors says the same). We post to that one origin, never to "*". The video room's
// help drawer is Fairmeet's own page: the same origin, the only one ALLOWED holds in event mode.
const host = {
  origin: null,
  expected: null,
  open: !FRAMED,
  url: "",
  readyWith: null,
  init() {
    if (!FRAMED || window.parent === window) {
      if (MODE !== "widget") this.open = true;
      return;
    }
    try {
      if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) this.expected = window.location.ancestorOrigins[0];
    } catch { /* not offered */ }
    if (!this.expected && document.referrer) {
      try {
        this.expected = new URL(document.referrer).origin;
      } catch { /* no referrer */ }
    }
    if (this.expected && ALLOWED.has(this.expected)) this.origin = this.expected;
    window.addEventListener("message", (e) => this.receive(e));
  },
  receive(e) {
    if (e.source !== window.parent || !ALLOWED.has(e.origin) || (this.expected && e.origin !== this.expected)) return;
    const msg = e.data;
    if (!msg || msg.fairmeet !== 1 || msg.type !== "host") return;
    const first = !this.origin;
    this.origin = e.origin;
    const url = webUrl(msg.url);
    if (url) chat.onHostPage(url);
    const wasOpen = this.open;
    this.open = !!msg.open;
    if (this.open && !wasOpen) chat.onShown();
    if (first && this.readyWith !== null) this.post({ type: "ready", offered: this.readyWith });
  },
  post(msg) {
    if (!FRAMED || !this.origin) return;
    window.parent.postMessage({ ...msg, fairmeet: 1 }, this.origin);
  },
  ready(offered) {
    this.readyWith = offered;
    this.post({ type: "ready", offered });
  },
  close() {
    this.post({ type: "close" });
  },
};

// ------------------------------------------------------------------------------------------ the chat

class CandidateChat {
  constructor() {
    this.cfg = null;
    this.steps = [];
    this.answers = {};
    this.startKey = null;
    this.submitting = false;
    this.started = false;           // the assistant has begun asking
    this.chatId = null;
    this.token = null;
    this.status = null;
    this.view = null;               // the chat as the server last described it
    this.jobUrl = JOB ? `/jobs/${JOB}` : "";
    this.applyUrl = null;
    this.recruiter = null;
    // the socket
    this.ws = null;
    this.welcomed = false;
    this.synced = false;            // the whole log has been replayed once
    this.conn = randomId(12);
    this.attempt = 0;
    this.retryTimer = null;
    this.lastRx = 0;
    this.stopped = false;
    this.seq = 0;                   // highest contiguous seq applied
    this.early = new Map();
    this.gapTimer = null;
    this.replay = null;             // {upTo, list} while the first replay builds off-screen
    this.welcomeSeq = Infinity;
    this.outbox = new Map();        // client_id -> {text, li, sentAt}
    this.resendTries = 0;
    this.resendTimer = null;
    this.typingSent = 0;
    this.typingIdle = null;
    this.typerTimer = null;
    this.unread = 0;
    this.pageSent = "";
    this.waitSince = 0;
    this.noteTimer = null;
    this.noteOffered = false;
    this.position = null;
    this.stick = true;              // the log follows new lines
    this.localPrechat = false;      // this page showed the assistant's exchange itself (see finishReplay)
    this.shownAway = "";
    this.clockOffset = 0;           // server time minus device time, from the latest live event
    this.replayTimer = null;
    // Plugins (candidate_desk.js: ratings, transfers; candidate_files.js: files; candidate_compose.js: emojis) hook in here.
    this.hooks = new Hooks("chat");  // frame(msg), welcome(view), status(status), composer(form, row), line(event, li)
  }

  on(name, fn) {
    this.hooks.on(name, fn);
  }

  emit(name, ...args) {
    this.hooks.emit(name, ...args);
  }

  // The chat's own API with its token (plugins use it too).
  call(path, options = {}) {
    return api(`/api/v1/chats/${this.chatId}${path}`, { ...options, token: this.token });
  }

  // ---------------------------------------------------------------- boot

  async boot() {
    host.init();
    $("lc-end").addEventListener("click", () => this.confirmEnd(true));
    $("lc-confirm-no").addEventListener("click", () => this.confirmEnd(false));
    $("lc-confirm-yes").addEventListener("click", () => this.end());
    if ($("lc-min")) $("lc-min").addEventListener("click", () => host.close());
    root.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && FRAMED) host.close();
    });
    // Stay at the newest line while the reader is there, also when the log's box changes size (status line, footer).
    // A scroll event that arrives after a resize the observer hasn't seen yet says nothing about the reader: skip it.
    const log = $("lc-log");
    let height = log.clientHeight;
    log.addEventListener("scroll", () => {
      if (log.clientHeight === height) this.stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    });
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        height = log.clientHeight;
        if (this.stick) log.scrollTop = log.scrollHeight;
      }).observe(log);
    }
    setInterval(() => this.beat(), 5000);
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.token && !this.ws && !this.stopped) this.reconnectNow();
    });
    if (MODE === "continue") {
      this.bootContinue();
      return;
    }
    if (MODE === "event") {
      this.bootEvent();
      return;
    }
    const saved = store.load();
    if (saved && saved.chat && saved.token) {
      this.resumeSaved(saved);
      host.ready(true);
      this.loadConfig();  // for the hours and the note settings; the chat does not wait for it
      return;
    }
    if (!(await this.loadConfig())) return;
    host.ready(!!this.cfg.offered);
    if (!this.cfg.offered) {
      this.botSay("Chat isn't available for this job right now. Please check back later.");
      this.foot(this.jobLinks());
      return;
    }
    if (MODE === "widget") this.startAssistant();
    else this.offerStart();
  }

  async loadConfig() {
    const tz = timeZone();
    const r = await api(`/api/v1/job-reqs/${JOB}/chat-config${tz ? `?tz=${encodeURIComponent(tz)}` : ""}`);
    if (!r.ok) {
      if (this.chatId) return false;
      this.foot(el("div", { class: "lc-card", role: "alert" },
        el("p", { text: r.status === 404 ? "This job is no longer open." : r.error.message }),
        r.status === 404 ? null : el("button", { type: "button", class: "btn", text: "Try again", onclick: () => { this.foot(); this.boot2(); } })));
      host.ready(false);
      return false;
    }
    this.cfg = r.data;
    if (this.cfg.job) {
      this.jobUrl = linkUrl(this.cfg.job.url) || this.jobUrl;
      if (this.applyUrl === null) this.applyUrl = webUrl(this.cfg.job.apply_url) || null;
    }
    return true;
  }

  async boot2(now = false) {
    if (MODE === "event") {
      this.offerEventStart(now);
      return;
    }
    if (!(await this.loadConfig())) return;
    host.ready(!!this.cfg.offered);
    if (!this.cfg.offered) {
      this.botSay("Chat isn't available for this job right now. Please check back later.");
      return;
    }
    if (MODE === "widget" || now) this.startAssistant(now);
    else this.offerStart();
  }

  resumeSaved(saved) {
    this.chatId = saved.chat;
    this.token = saved.token;
    this.pageSent = saved.page || "";
    this.waitSince = saved.since || Date.now();
    this.setStatusLine("Reconnecting to your chat…");
    this.connect();
  }

  save() {
    store.save({ chat: this.chatId, token: this.token, page: this.pageSent, since: this.waitSince });
  }

  async bootContinue() {
    const saved = store.load();
    if (saved && saved.chat && saved.token) {
      this.resumeSaved(saved);
      return;
    }
    this.setStatusLine("Opening your chat…");
    const r = await api("/api/v1/chats/continue", { method: "POST", body: { link: LINK } });
    if (!r.ok) {
      this.setStatusLine("");
      const expired = r.status === 410 || r.error.code === "link_expired" || r.status === 422;
      this.foot(el("div", { class: "lc-card", role: "alert" },
        el("p", { text: expired ? "This link has expired or isn't valid any more. Links in our emails and texts work for 7 days." : r.error.message }),
        expired ? el("p", { text: "To talk to a recruiter again, start a new chat from the job's page." }) : null,
        expired ? null : el("button", { type: "button", class: "btn", text: "Try again", onclick: () => { this.foot(); this.bootContinue(); } })));
      return;
    }
    this.chatId = r.data.chat_id;
    this.token = r.data.token;
    this.save();
    this.connect();
  }

  // ---------------------------------------------------------------- event mode: a booth or the event's support

  bootEvent() {
    const saved = store.load();
    host.ready(true);
    if (saved && saved.chat && saved.token) {
      this.resumeSaved(saved);
      return;
    }
    this.offerEventStart();
  }

  // The person is signed in, so there is nothing to ask: one click starts the chat (or, now, starts it right away).
  offerEventStart(now = false) {
    this.botSay(root.dataset.intro || "Start a chat and someone will answer shortly.");
    if (now) {
      this.startEvent();
      return;
    }
    // A booth nobody is at says "Leave a message" (the page knows; starting then opens the note form).
    const button = el("button", { type: "button", class: "btn primary lc-start", text: root.dataset.startLabel || "Start chat" });
    button.addEventListener("click", () => {
      button.disabled = true;
      this.startEvent();
    });
    this.foot(button);
    if (host.open && FRAMED) button.focus();
  }

  async startEvent() {
    if (this.submitting) return;
    this.submitting = true;
    this.started = true;
    this.foot(el("p", { class: "lc-wait muted", role: "status", text: "Connecting you…" }));
    const source = (FRAMED && host.url) || window.location.href;
    const body = { source_url: source };
    if (EVENT.companyId) body.company_id = EVENT.companyId;
    const r = await api(EVENT.startUrl, { method: "POST", body, csrf: EVENT.csrf });
    this.submitting = false;
    if (!r.ok) {
      this.eventStartFailed(r);
      return;
    }
    // A second start for a chat still open (another tab, a cleared store) answers with that chat and a new token:
    // its whole log then replays below the greeting.
    const d = r.data;
    this.chatId = d.chat_id;
    this.token = d.token;
    this.pageSent = source;
    this.waitSince = Date.now();
    this.save();
    this.localPrechat = true;
    this.shownAway = d.status === "away" ? d.message || "" : "";
    if (this.shownAway) this.botSay(this.shownAway);
    if (d.status === "waiting") this.showQueue(d.position, d.estimated_wait);
    this.setStatus(d.status);
    this.connect();
  }

  eventStartFailed(r) {
    const { code, message } = r.error;
    this.started = false;
    const again = () => el("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => this.startEvent() });
    if (r.status === 401) {
      this.botSay("You've been signed out. Sign in again to chat.");
      this.foot(el("div", { class: "lc-card" }, el("a", {
        class: "btn primary", href: `/login?next=${encodeURIComponent(FRAMED && host.url ? new URL(host.url).pathname : window.location.pathname)}`,
        target: FRAMED ? "_top" : null, text: "Sign in",
      })));
    } else if (code === "csrf") {
      this.botSay("This page is out of date. Reload it to start a chat.");
      this.foot(el("div", { class: "lc-card" }, el("button", { type: "button", class: "btn primary", text: "Reload", onclick: () => window.location.reload() })));
    } else if (code === "event_not_live" || r.status === 403 || r.status === 404) {
      this.botSay(message);  // closed, not for this person, or gone: trying again changes nothing
      this.foot();
    } else {
      this.botSay(message);
      this.foot(again());
    }
    const target = $("lc-foot").querySelector("a, button");
    if (target) target.focus();
  }

  // ---------------------------------------------------------------- the assistant's questions, one at a time

  offerStart() {
    this.botSay(`Questions about this role? Chat with a recruiter from ${root.dataset.company || "the team"}.`);
    const button = el("button", { type: "button", class: "btn primary lc-start", text: "Chat now" });
    button.addEventListener("click", () => {
      button.disabled = true;
      this.startAssistant(true);
    });
    this.foot(button);
  }

  buildSteps() {
    const cfg = this.cfg;
    const steps = [
      { key: "name", ask: () => "Hi! I'll ask a few quick questions, then connect you with a recruiter. What's your name?",
        label: "Your name", type: "text", autocomplete: "name", required: true, max: 120 },
      { key: "email", ask: (a) => `Thanks, ${firstName(a.name)}. What's your email address? We'll only use it about this chat.`,
        label: "Email address", type: "email", autocomplete: "email", required: true, max: 254, check: checkEmail },
    ];
    if (cfg.phone_field === "required" || cfg.phone_field === "optional") {
      const required = cfg.phone_field === "required";
      steps.push({
        key: "phone", label: "Phone number", type: "tel", autocomplete: "tel", required, max: 40, check: checkPhone, consent: true,
        ask: () => (required ? "What's your phone number? " : "Would you like to add a phone number? It's optional. ") + PHONE_HINT,
      });
    }
    for (const f of cfg.custom_fields || []) {
      steps.push({ key: `field:${f.id}`, field: f.id, ask: () => f.label, label: f.label, type: "text", required: !!f.required, max: 500 });
    }
    for (const q of cfg.questions || []) {
      steps.push({ key: `q:${q.id}`, question: q.id, ask: () => q.text, choices: q.choices || [] });
    }
    return steps;
  }

  startAssistant(focus = false) {
    if (this.started) return;
    this.started = true;
    this.steps = this.buildSteps();
    this.answers = {};
    this.focusNext = focus || host.open;
    this.next();
  }

  next() {
    const step = this.steps.find((s) => !(s.key in this.answers));
    if (!step) {
      this.submit();
      return;
    }
    this.ask(step);
  }

  ask(step, problem = "") {
    if (problem) this.botSay(problem);
    else this.botSay(step.ask(this.answers), step.required === false ? "optional" : "");
    this.foot(step.choices ? this.choiceForm(step) : this.fieldForm(step));
    if (this.focusNext) {
      const first = $("lc-foot").querySelector("input, button:not([disabled])");
      if (first) first.focus();
    }
  }

  fieldForm(step) {
    const input = el("input", {
      id: "lc-in", name: step.key, type: step.type, autocomplete: step.autocomplete || "off", maxlength: String(step.max),
      required: step.required, "aria-required": step.required ? "true" : null, "aria-describedby": "lc-err",
      inputmode: step.type === "tel" ? "tel" : null, spellcheck: step.type === "text" ? null : "false",
    });
    const label = el("label", { for: "lc-in", class: "lc-label" }, step.label,
      step.required ? el("span", { class: "required", text: " (required)" }) : el("span", { class: "muted", text: " (optional)" }));
    const error = el("p", { id: "lc-err", class: "lc-err", role: "alert", hidden: true });
    const consent = step.consent ? el("input", { type: "checkbox", id: "lc-sms", name: "sms_consent" }) : null;
    const send = el("button", { type: "submit", class: "btn primary", text: "Send" });
    const form = el("form", { class: "lc-ask", novalidate: true },
      label,
      el("div", { class: "lc-row" }, input, send),
      consent ? el("label", { class: "choice lc-consent", for: "lc-sms" }, consent, "OK to text me about this chat") : null,
      error,
      step.required ? null : el("button", { type: "button", class: "linkish lc-skip", text: "Skip this question", onclick: () => this.answer(step, "") }));
    if (this.answers[`${step.key}:previous`]) input.value = this.answers[`${step.key}:previous`];
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = input.value.trim();
      const wantsTexts = consent ? consent.checked : false;
      let problem = "";
      if (!value && step.required) problem = `Please enter your ${step.label.toLowerCase().replace(/^your /, "")}.`;
      else if (value && step.check) problem = step.check(value);
      else if (!value && wantsTexts) problem = "Add a phone number to get text messages, or untick the box.";
      if (problem) {
        error.textContent = problem;
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      send.disabled = true;
      this.answer(step, value, wantsTexts && !!value);
    });
    return form;
  }

  choiceForm(step) {
    const group = el("div", { class: "lc-choices", role: "group", "aria-label": step.ask(this.answers) });
    for (const choice of step.choices) {
      group.append(el("button", {
        type: "button", class: "btn lc-choice", text: choice,
        onclick: () => {
          for (const b of group.querySelectorAll("button")) b.disabled = true;  // one answer, even on a double click
          this.answer(step, choice);
        },
      }));
    }
    return group;
  }

  answer(step, value, sms = false) {
    this.answers[step.key] = value;
    if (step.consent) this.answers.sms = sms;
    this.focusNext = true;
    if (value) this.addLine(this.bubble("me", "You", sms ? `${value} (texts OK)` : value));
    else this.addLine(this.bubble("me", "You", "Skipped", "lc-skipped"));
    this.foot();
    this.next();
  }

  // All answers in: one POST. The start_key makes a repeat (a double click, a retry after a lost answer) start nothing new.
  async submit() {
    if (this.submitting) return;
    this.submitting = true;
    this.startKey = this.startKey || randomId(16);
    const a = this.answers;
    const body = {
      name: a.name, email: a.email, start_key: this.startKey, answers: {}, fields: {},
      source_url: MODE === "widget" ? host.url : window.location.href,
    };
    if (a.phone) {
      body.phone = a.phone;
      body.sms_consent = !!a.sms;
    }
    for (const s of this.steps) {
      if (s.field && a[s.key]) body.fields[s.field] = a[s.key];
      if (s.question) body.answers[String(s.question)] = a[s.key];
    }
    this.foot(el("p", { class: "lc-wait muted", text: "Connecting you…" }));
    const r = await api(`/api/v1/job-reqs/${JOB}/chats`, { method: "POST", body });
    this.submitting = false;
    if (!r.ok) {
      this.startFailed(r);
      return;
    }
    this.startKey = null;
    const d = r.data;
    this.chatId = d.chat_id;
    this.token = d.token;
    this.jobUrl = linkUrl(d.job_url) || this.jobUrl;
    this.pageSent = body.source_url;
    this.waitSince = Date.now();
    if (d.status === "rejected") {
      this.botSay(d.message || "Thank you for your interest. Based on your answers, this role isn't the right match right now.");
      this.setStatus("rejected");
      return;
    }
    this.save();
    this.localPrechat = true;
    this.shownAway = d.status === "away" ? d.message || "" : "";
    if (this.shownAway) this.botSay(this.shownAway);
    if (d.status === "waiting") this.showQueue(d.position, d.estimated_wait);
    this.setStatus(d.status);
    this.connect();
  }

  startFailed(r) {
    const { code, message } = r.error;
    const byCode = { invalid_email: "email", invalid_phone: "phone", missing_field: "phone" };
    let key = byCode[code];
    if (!key && code === "invalid_input") {
      const named = this.steps.find((s) => s.label && message.toLowerCase().includes(`the ${s.label.toLowerCase()} `));
      key = named ? named.key : (/\bname\b/i.test(message) ? "name" : null);
    }
    const step = key && this.steps.find((s) => s.key === key);
    if (step) {
      this.answers[`${key}:previous`] = this.answers[key];
      delete this.answers[key];
      this.ask(step, message);
      return;
    }
    if (["unknown_question", "missing_answer", "invalid_answer", "unknown_field"].includes(code)) {
      this.botSay("The questions for this job have just changed. Let's go through them again.");
      this.started = false;
      this.startKey = null;
      this.loadConfig().then((ok) => { if (ok) this.startAssistant(true); });
      return;
    }
    if (code === "already_started") {
      this.botSay("This chat has already started, perhaps in another tab. Reload this page to see it.");
      this.foot();
      return;
    }
    if (code === "chat_unavailable") {
      this.botSay(message);
      this.foot(this.jobLinks());
      return;
    }
    this.botSay(message);
    this.foot(el("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => this.submit() }));
    $("lc-foot").querySelector("button").focus();
  }

  // ---------------------------------------------------------------- what the chat looks like in each status

  setStatus(status, info = {}) {
    const before = this.status;
    this.status = status;
    if (info.recruiter !== undefined) this.recruiter = info.recruiter;
    if (info.apply_url !== undefined && info.apply_url !== null) this.applyUrl = webUrl(info.apply_url) || null;
    this.renderHead();
    $("lc-end").hidden = !["waiting", "active", "note", "transfer"].includes(status);
    if (status !== "waiting") {
      clearTimeout(this.noteTimer);
      this.noteOffered = false;
      this.setStatusLine(status !== "note" ? "" : this.recruiter && this.recruiter.name
        ? `${this.recruiter.name} ${this.view && this.view.reopened ? "wrote to you again" : "is answering your note"}. Reply here; we'll email you when they write again.`
        : `Your note is with ${TEAM}. We'll email you when they answer.`);
    }
    if (status === before && $("lc-foot").childElementCount) return;  // a reconnect: keep what is being typed
    if (status === "rejected") {
      this.stopped = true;
      store.forget();
      this.foot(this.jobLinks());
    } else if (status === "away") {
      this.foot(this.awayPanel());
    } else if (status === "waiting") {
      this.foot(this.composer(`You can write your question already; ${MODE === "event" ? "whoever answers" : "the recruiter"} will see it when they join.`));
      this.armNoteOffer();
    } else if (status === "active") {
      this.foot(this.composer());
    } else if (status === "transfer") {
      this.foot(this.composer("You're being transferred. Stay here: you can keep writing, and they'll see it."));
    } else if (status === "note") {
      this.foot(this.composer(this.recruiter ? "" : "Anything to add? It goes with your note."));
    } else if (status === "ended") {
      this.typingOff();
      this.foot(this.endedPanel());
    }
    this.emit("status", status);
  }

  renderHead() {
    const avatar = $("lc-avatar");
    const title = $("lc-title");
    const sub = $("lc-sub");
    const job = (this.view && this.view.job) || (this.cfg && this.cfg.job) || null;
    const about = job ? `${job.title} · ${job.company}` : sub.textContent;
    if (this.recruiter && this.recruiter.name) {
      title.textContent = this.recruiter.name;
      sub.textContent = this.recruiter.title || (job ? `Recruiter · ${job.company}` : AGENT);
      if (avatar.dataset.who === `${this.recruiter.name}|${this.recruiter.avatar_url || ""}`) return;
      avatar.dataset.who = `${this.recruiter.name}|${this.recruiter.avatar_url || ""}`;
      avatar.replaceChildren();
      avatar.classList.add("lc-person");
      const picture = linkUrl(this.recruiter.avatar_url || "");
      if (picture) {
        const img = el("img", { src: picture, alt: "" });
        img.addEventListener("error", () => avatar.replaceChildren(initials(this.recruiter.name)));
        avatar.append(img);
      } else {
        avatar.append(initials(this.recruiter.name));
      }
    } else {
      sub.textContent = about;
    }
  }

  jobLinks() {
    const links = el("div", { class: "lc-card" });
    if (MODE !== "page" && this.jobUrl) {
      links.append(el("a", { class: "btn", href: this.jobUrl, target: "_blank", rel: "noopener", text: "See the job description" }));
    }
    return links.childElementCount ? links : null;
  }

  applyLink() {
    if (!this.applyUrl) return null;
    return el("a", { class: "btn primary", href: this.applyUrl, target: MODE === "page" ? null : "_blank", rel: "noopener", text: "Apply for this job" });
  }

  endedPanel() {
    const panel = el("div", { class: "lc-card" }, el("p", { class: "lc-ended", text: "This chat has ended. Thanks for talking with us!" }));
    const apply = this.applyLink();
    if (apply) panel.append(el("p", { text: "Ready to take the next step?" }), apply);
    if (MODE !== "continue") {
      panel.append(el("button", {
        type: "button", class: "linkish lc-again", text: "Start a new chat",
        onclick: () => {
          this.reset();
          this.boot2(true);
        },
      }));
    }
    return panel;
  }

  reset() {
    store.forget();
    this.stopped = true;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    for (const timer of [this.retryTimer, this.gapTimer, this.noteTimer, this.replayTimer, this.resendTimer, this.typingIdle]) clearTimeout(timer);
    Object.assign(this, new CandidateChat(), { stopped: false });
    $("lc-log").replaceChildren();
    $("lc-end").hidden = true;
    $("lc-title").textContent = HEADING || "Chat with a recruiter";
    if (MODE === "event") $("lc-sub").textContent = SUBTITLE;
    const avatar = $("lc-avatar");
    avatar.classList.remove("lc-person");
    delete avatar.dataset.who;
    avatar.replaceChildren(svgIcon("M4 5h16v11H9l-5 4z"));
    this.setStatusLine("");
    this.typingOff();
  }

  awayPanel() {
    const panel = el("div", { class: "lc-card lc-away" });
    const hours = this.cfg && this.cfg.hours;
    if (Array.isArray(hours) && hours.length) {
      const zone = (this.cfg.hours_zone || timeZone() || "").replace(/_/g, " ");
      const rows = hours.map(([day, span]) => el("tr", {}, el("th", { scope: "row", text: day }), el("td", { text: span })));
      panel.append(el("table", { class: "lc-hours" },
        el("caption", { text: zone ? `Chat hours (your time, ${zone})` : "Chat hours" }), el("tbody", {}, ...rows)));
    }
    const canNote = this.view ? this.view.can_leave_note : (!this.cfg || ["note", "both"].includes(this.cfg.when_unavailable));
    const canCall = this.view ? this.view.can_callback : (this.cfg && ["callback", "both"].includes(this.cfg.when_unavailable) && !!this.answers.phone);
    if (canNote || canCall) panel.append(this.noteForm(canNote, canCall));
    else if (this.cfg && ["callback", "both"].includes(this.cfg.when_unavailable)) {
      panel.append(el("p", { class: "muted", text: "A recruiter can call you back if you give a phone number when you start a chat." }));
    }
    return panel;
  }

  noteForm(canNote, canCall) {
    const email = MODE === "event" && root.dataset.email ? `We'll answer by email to ${root.dataset.email}.` : "";
    const text = el("textarea", { id: "lc-note", rows: "3", maxlength: "4000", "aria-describedby": email ? "lc-note-hint lc-note-err" : "lc-note-err" });
    const call = canCall && canNote ? el("input", { type: "checkbox", id: "lc-callback" }) : null;
    const error = el("p", { id: "lc-note-err", class: "lc-err", role: "alert", hidden: true });
    const send = el("button", { type: "submit", class: "btn primary", text: canNote ? "Send note" : "Ask for a callback" });
    const form = el("form", { class: "lc-ask lc-noteform", novalidate: true },
      el("label", { for: "lc-note", class: "lc-label" }, canNote ? `Leave a note for ${TEAM}` : "Anything we should know before we call? (optional)"),
      email ? el("p", { id: "lc-note-hint", class: "muted small lc-hint", text: email }) : null,
      text,
      call ? el("label", { class: "choice", for: "lc-callback" }, call, "Please call me back as well") : null,
      error, el("div", { class: "actions" }, send));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const callback = canNote ? !!(call && call.checked) : true;
      let value = text.value.trim();
      if (!value && !canNote) value = "Please call me back.";
      if (!value) {
        error.textContent = "Write a few words first.";
        error.hidden = false;
        text.focus();
        return;
      }
      send.disabled = true;
      const r = await api(`/api/v1/chats/${this.chatId}/note`, { method: "POST", token: this.token, body: { text: value, callback } });
      if (!r.ok) {
        send.disabled = false;
        error.textContent = r.error.message;
        error.hidden = false;
        return;
      }
      if (!this.welcomed) {
        // The socket will replay the note; without one, show it now.
        this.addLine(this.bubble("me", "You", value));
      }
      this.setStatus("note");
    });
    return form;
  }

  armNoteOffer() {
    clearTimeout(this.noteTimer);
    const seconds = (this.view && this.view.note_after_seconds) || (this.cfg && this.cfg.note_after_seconds) || 180;
    const due = (this.waitSince || Date.now()) + seconds * 1000 - Date.now();
    this.noteTimer = setTimeout(() => this.offerNote(), Math.max(0, due));
  }

  offerNote() {
    if (this.status !== "waiting" || this.noteOffered) return;
    const canNote = this.view ? this.view.can_leave_note : (!this.cfg || ["note", "both"].includes(this.cfg.when_unavailable));
    const canCall = this.view ? this.view.can_callback : false;
    if (!canNote && !canCall) return;
    this.noteOffered = true;
    const offer = el("div", { class: "lc-card lc-offer" },
      el("p", { text: "Waiting longer than you'd like? Leave a note instead and we'll answer by email." }));
    const button = el("button", {
      type: "button", class: "btn", text: canNote ? "Leave a note instead" : "Ask for a callback instead",
      onclick: () => {
        offer.replaceChildren(this.noteForm(canNote, canCall));
        const area = offer.querySelector("textarea");
        if (area) area.focus();
      },
    });
    offer.append(button);
    $("lc-foot").prepend(offer);
  }

  // ---------------------------------------------------------------- composer

  composer(hint = "") {
    const input = el("textarea", {
      id: "lc-text", rows: "1", maxlength: "4000", placeholder: "Write a message…", "aria-describedby": hint ? "lc-hint" : null,
    });
    const send = el("button", { type: "submit", class: "btn primary lc-send", "aria-label": "Send message" }, svgIcon("M4 12l16-8-6 16-2-6z"), el("span", { class: "lc-sendtext", text: "Send" }));
    const file = el("input", { type: "file", id: "lc-file", class: "lc-hiddenfile", accept: ".pdf,.doc,.docx,application/pdf,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document", tabindex: "-1", "aria-hidden": "true" });
    const attach = el("button", { type: "button", class: "btn lc-attach", title: "Share your résumé (PDF, DOC or DOCX, up to 5 MB)", "aria-label": "Share your résumé (PDF, DOC or DOCX, up to 5 MB)" },
      svgIcon("M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"), el("span", { class: "lc-attachtext", text: "Résumé" }));
    attach.addEventListener("click", () => file.click());
    file.addEventListener("change", () => {
      if (file.files && file.files[0]) this.upload(file.files[0]);
      file.value = "";
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendLine();
      }
    });
    input.addEventListener("input", () => {
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
      this.typing(input.value.trim().length > 0);
    });
    input.addEventListener("blur", () => this.typing(false));
    const form = el("form", { class: "lc-compose" },
      el("label", { for: "lc-text", class: "lc-sr", text: "Message" }),
      hint ? el("p", { id: "lc-hint", class: "lc-hint muted small", text: hint }) : null,
      el("div", { class: "lc-row" }, root.dataset.resume === "off" ? null : attach, input, send), file,
      el("p", { class: "lc-upload", id: "lc-upload", role: "status", "aria-live": "polite", hidden: true }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendLine();
    });
    this.emit("composer", form, form.querySelector(".lc-row"));
    if (host.open) setTimeout(() => input.focus(), 0);
    return form;
  }

  sendLine() {
    const input = $("lc-text");
    if (!input) return;
    const text = input.value.trim();
    if (!text) return;
    if (text.length > 4000) {
      this.sysLine("Messages are limited to 4000 characters.", true);
      return;
    }
    const clientId = randomId(12);
    const li = this.bubble("me", "You", text);
    li.classList.add("lc-pending");
    li.querySelector(".lc-state").textContent = "Sending…";
    this.addLine(li, true);
    this.outbox.set(clientId, { text, li, sentAt: Date.now() });
    this.send({ type: "chat", client_id: clientId, text });
    input.value = "";
    input.style.height = "auto";
    this.typing(false);
    this.scroll(true);
  }

  typing(active) {
    clearTimeout(this.typingIdle);
    if (active) {
      if (Date.now() - this.typingSent > 3000) {
        this.typingSent = Date.now();
        this.send({ type: "typing", active: true });
      }
      this.typingIdle = setTimeout(() => this.typing(false), 5000);
    } else if (this.typingSent) {
      this.typingSent = 0;
      this.send({ type: "typing", active: false });
    }
  }

  async upload(file) {
    const status = $("lc-upload");
    const say = (text, bad = false) => {
      status.hidden = false;
      status.textContent = text;
      status.classList.toggle("lc-err", bad);
    };
    if (file.size > MAX_RESUME) {
      say(`${file.name} is ${fileSize(file.size)}; a résumé can be 5 MB at most.`, true);
      return;
    }
    say(`Uploading ${file.name}…`);
    const form = new FormData();
    form.append("file", file, file.name);
    const r = await api(`/api/v1/chats/${this.chatId}/resume`, { method: "POST", token: this.token, form });
    if (!r.ok) {
      say(`Not uploaded: ${r.error.message}`, true);
      return;
    }
    say(`Shared ${r.data.name} (${fileSize(r.data.size)}).`);
  }

  // ---------------------------------------------------------------- ending

  confirmEnd(show) {
    $("lc-confirm").hidden = !show;
    if (show) $("lc-confirm-no").focus();
    else $("lc-end").focus();
  }

  async end() {
    $("lc-confirm-yes").disabled = true;
    const r = await api(`/api/v1/chats/${this.chatId}/end`, { method: "POST", token: this.token });
    $("lc-confirm-yes").disabled = false;
    $("lc-confirm").hidden = true;
    if (!r.ok) {
      this.sysLine(r.error.message, true);
      return;
    }
    if (r.data.apply_url) this.applyUrl = webUrl(r.data.apply_url) || this.applyUrl;
    this.setStatus("ended");
    const again = $("lc-foot").querySelector("a, button");
    if (again) again.focus();
  }

  // ---------------------------------------------------------------- the socket, with reconnects and resume

  connect() {
    if (this.stopped || !this.token || this.ws) return;
    clearTimeout(this.retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}/ws/live`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      ws.send(JSON.stringify({ type: "hello", v: 1, conn: this.conn, chat: this.chatId, token: this.token, last_seq: this.synced ? this.seq : null }));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastRx = Date.now();
      const msg = parseJson(event.data, null);
      if (msg) this.onFrame(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      this.onClose(event.code);
    };
  }

  onClose(code) {
    if (this.stopped) return;
    if (code === 4401) {
      this.lost("We can't open this chat any more.");
      return;
    }
    if (code === 4403) {
      this.stopped = true;
      this.setConn("This page isn't allowed to open the chat.");
      return;
    }
    if (code === 4000) return;  // another connection of this very page took over
    this.scheduleReconnect();
  }

  lost(message) {
    this.stopped = true;
    store.forget();
    this.setConn("");
    this.setStatusLine("");
    $("lc-end").hidden = true;
    this.foot(el("div", { class: "lc-card", role: "alert" }, el("p", { text: message }),
      MODE === "continue" ? el("p", { text: "Start a new chat from the job's page." })
        : el("button", { type: "button", class: "btn primary", text: "Start a new chat", onclick: () => { this.reset(); this.boot2(true); } })));
  }

  // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … at most 15 s between tries.
  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    if (this.attempt > 1 || this.synced) this.setConn(navigator.onLine === false ? "You're offline. We'll reconnect when you're back." : "Reconnecting…");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || !this.token) return;
    this.attempt = 0;
    if (this.ws) {
      if (this.welcomed) return;
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.connect();
  }

  beat() {
    if (this.welcomed && this.ws) {
      if (Date.now() - this.lastRx > 45000) {
        const ws = this.ws;  // silent for too long: the socket is dead even if the browser hasn't noticed
        this.ws = null;
        this.welcomed = false;
        ws.close();
        this.onClose(1006);
        return;
      }
      if (Date.now() - this.lastRx > 20000) this.send({ type: "ping" });
    }
    this.checkOutbox();
  }

  send(msg) {
    if (!this.ws || !this.welcomed || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  onFrame(msg) {
    this.emit("frame", msg);
    switch (msg.type) {
      case "welcome": this.onWelcome(msg); break;
      case "event": this.ingest(msg); break;
      case "ack": this.onAck(msg); break;
      case "queue": this.showQueue(msg.position, msg.estimate); break;
      case "status": this.onStatusFrame(msg); break;
      case "typing": this.onTyping(msg); break;
      case "error": this.onError(msg); break;
      default: break;  // pong, or something newer than this page
    }
  }

  onWelcome(msg) {
    this.welcomed = true;
    this.attempt = 0;
    this.setConn("");
    const view = msg.chat || {};
    this.view = view;
    if (view.job) this.jobUrl = linkUrl(view.job.url) || this.jobUrl;
    if (view.apply_url) this.applyUrl = webUrl(view.apply_url) || this.applyUrl;
    if (MODE === "continue" && view.job && !$("lc-sub").textContent) $("lc-sub").textContent = `${view.job.title} · ${view.job.company}`;
    if (!this.synced) {
      // The whole log comes next (seq 1..msg.seq): build it off-screen and show it in one go, so nothing flickers or
      // shows twice. Right after this page's own start the assistant's exchange is already on screen: then the
      // replay only adds what came after it (see finishReplay).
      this.welcomeSeq = msg.seq || 0;
      this.replay = { upTo: msg.seq || 0, list: el("ol"), events: this.localPrechat ? [] : null };
      clearTimeout(this.replayTimer);
      this.replayTimer = setTimeout(() => this.finishReplay(), 4000);
      if (!this.replay.upTo) this.finishReplay();
    }
    this.recruiter = view.recruiter || null;
    this.setStatus(view.status, { recruiter: view.recruiter || null, apply_url: view.apply_url });
    this.emit("welcome", view);
    if (view.status === "waiting") this.showQueue(view.position, view.estimated_wait);
    for (const [clientId, item] of this.outbox) {
      this.send({ type: "chat", client_id: clientId, text: item.text });  // same client_id: never stored twice
      item.sentAt = Date.now();
    }
    this.sendPage();
  }

  finishReplay() {
    if (!this.replay) return;
    clearTimeout(this.replayTimer);
    if (this.replay.events) {
      // The server's copy of the pre-chat exchange (questions, then answers numbered prechat-N, then the away
      // message this page already showed) is skipped; everything after it is shown.
      const events = this.replay.events;
      this.replay = null;
      this.localPrechat = false;
      this.synced = true;
      let cut = -1;
      events.forEach((e, i) => { if (e.kind === "message" && String(e.client_id || "").startsWith("prechat-")) cut = i; });
      let rest = events.slice(cut + 1);
      if (rest.length && rest[0].kind === "bot" && this.shownAway && (rest[0].body || {}).text === this.shownAway) rest = rest.slice(1);
      for (const event of rest) this.apply(event);
      this.scroll(true);
      if (this.early.size) this.send({ type: "resume", after: this.seq });
      return;
    }
    const log = $("lc-log");
    const pending = [...log.querySelectorAll("li.lc-pending")];
    log.setAttribute("aria-live", "off");  // the history is not news: don't read it all out
    log.replaceChildren(...this.replay.list.childNodes, ...pending);
    this.replay = null;
    this.synced = true;
    setTimeout(() => log.setAttribute("aria-live", "polite"), 100);
    this.scroll(true);
    if (this.early.size) this.send({ type: "resume", after: this.seq });
  }

  // Events carry gap-free numbers: apply each once and in order, asking for a replay when one is missing.
  ingest(event) {
    if (typeof event.seq !== "number" || event.seq <= this.seq || this.early.has(event.seq)) return;
    this.early.set(event.seq, event);
    while (this.early.has(this.seq + 1)) {
      const next = this.early.get(this.seq + 1);
      this.early.delete(this.seq + 1);
      this.seq += 1;
      this.apply(next);
    }
    if (this.replay && this.seq >= this.replay.upTo) this.finishReplay();
    clearTimeout(this.gapTimer);
    if (this.early.size) {
      this.gapTimer = setTimeout(() => {
        if (this.early.size) this.send({ type: "resume", after: this.seq });
      }, 1500);
    }
  }

  apply(event) {
    if (this.replay && this.replay.events) {
      this.replay.events.push(event);
      return;
    }
    const body = event.body || {};
    const live = event.seq > this.welcomeSeq;
    if (live && event.at) this.clockOffset = Date.parse(event.at) - Date.now() || 0;  // the device's clock may be off
    const role = (event.author && event.author.role) || body.role || "";
    if (event.kind === "message") {
      const mine = role === "candidate";
      if (mine && event.client_id && this.outbox.has(event.client_id)) {
        this.outbox.get(event.client_id).li.remove();
        this.outbox.delete(event.client_id);
      }
      const name = mine ? "You" : (event.author && event.author.name) || body.name || "Recruiter";
      const li = this.bubble(mine ? "me" : "them", name, body.text || "", body.note ? "lc-note" : "", event.at);
      if (body.note) li.querySelector(".lc-who").textContent = mine ? "Your note" : name;
      if (body.auto) li.querySelector(".lc-meta").append(el("span", { class: "lc-tag", text: "Automatic" }));
      li.dataset.seq = String(event.seq);
      this.emit("line", event, li);
      this.addLine(li);
      if (!mine) {
        this.typingOff();
        if (live) this.bumpUnread();
      }
    } else if (event.kind === "bot") {
      const li = this.bubble("bot", "Assistant", body.text || "", "", event.at);
      li.dataset.seq = String(event.seq);
      this.emit("line", event, li);
      this.addLine(li);
    } else if (event.kind === "notice") {
      const name = body.name || (event.author && event.author.name) || "";
      let text = body.text || "";
      if (body.event === "left" && !text) text = `${name || "The recruiter"} has left the chat`;
      else if (body.event === "joined" && !text) text = `${name || "A recruiter"} joined the chat`;
      else if (body.event === "ended" && role === "candidate") text = "You ended the chat";
      else if (body.event === "resume" && role === "candidate") text = `You shared a résumé${body.file ? ` (${body.file})` : ""}`;
      if (text) this.sysLine(text);
      this.emit("line", event, null);
      if (body.event === "joined" && live) this.bumpUnread();
    }
  }

  onAck(msg) {
    const item = this.outbox.get(msg.client_id);
    if (!item) return;
    this.resendTries = 0;
    this.outbox.delete(msg.client_id);
    item.li.remove();
    this.ingest({ seq: msg.seq, kind: "message", author: { role: "candidate" }, body: { text: item.text, role: "candidate" },
      at: new Date(Date.now() + this.clockOffset).toISOString(), client_id: msg.client_id });
  }

  onError(msg) {
    const item = msg.client_id ? this.outbox.get(msg.client_id) : null;
    if (item && (msg.code === "busy" || msg.code === "rate_limited")) {
      // Nothing was stored. After a growing, jittered pause every unsent line goes again, oldest first (same client_ids).
      item.li.querySelector(".lc-state").textContent = msg.code === "busy" ? "Busy, sending again…" : "Waiting to send…";
      if (this.resendTimer) return;
      this.resendTries += 1;
      const pause = Math.min(10000, 800 * 2 ** (this.resendTries - 1)) * (0.75 + Math.random() / 2);
      this.resendTimer = setTimeout(() => {
        this.resendTimer = null;
        for (const [clientId, pending] of this.outbox) {
          pending.sentAt = Date.now();
          this.send({ type: "chat", client_id: clientId, text: pending.text });
        }
      }, pause);
      return;
    }
    if (item) {
      item.li.classList.add("lc-failed");
      item.li.querySelector(".lc-state").textContent = `Not sent: ${msg.message}`;
      this.outbox.delete(msg.client_id);
      return;
    }
    if (msg.code === "chat_closed") this.sysLine(msg.message, true);
  }

  // Unacknowledged for 10 s while connected: say so, and offer a retry (same client_id).
  checkOutbox() {
    for (const [clientId, item] of this.outbox) {
      if (this.welcomed && Date.now() - item.sentAt > 10000 && !item.li.classList.contains("lc-failed")) {
        item.li.classList.add("lc-failed");
        const state = item.li.querySelector(".lc-state");
        state.textContent = "Not sent yet";
        state.after(el("button", {
          type: "button", class: "linkish small", text: "Retry",
          onclick: (e) => {
            e.currentTarget.remove();
            item.li.classList.remove("lc-failed");
            state.textContent = "Sending…";
            item.sentAt = Date.now();
            this.send({ type: "chat", client_id: clientId, text: item.text });
          },
        }));
      }
    }
  }

  onStatusFrame(msg) {
    this.setStatus(msg.status, { recruiter: msg.recruiter || null, apply_url: msg.apply_url });
    if (msg.status === "active" && msg.recruiter) this.setStatusLine("");
  }

  showQueue(position, estimate) {
    if (this.status && this.status !== "waiting") return;
    if (typeof position === "number" && (this.position === null || position <= this.position)) this.position = position;
    if (this.position === null) return;
    const where = this.position <= 1 ? "You're next in line." : `You're number ${this.position} in line.`;
    const wait = estimate && estimate.text ? ` Estimated wait: ${estimate.text}.` : "";
    this.setStatusLine(where + wait);
  }

  onTyping(msg) {
    if (msg.role === "candidate") return;
    const line = $("lc-typing");
    clearTimeout(this.typerTimer);
    if (msg.active) {
      line.textContent = `${msg.name || "The recruiter"} is typing…`;
      this.typerTimer = setTimeout(() => this.typingOff(), 8000);
    } else {
      this.typingOff();
    }
  }

  typingOff() {
    clearTimeout(this.typerTimer);
    $("lc-typing").textContent = "";
  }

  // ---------------------------------------------------------------- the host page

  onHostPage(url) {
    host.url = url;
    this.sendPage();
  }

  sendPage() {
    if (!host.url || host.url === this.pageSent || !this.welcomed) return;
    if (this.send({ type: "page", url: host.url })) {
      this.pageSent = host.url;
      this.save();
    }
  }

  onShown() {
    this.unread = 0;
    host.post({ type: "unread", n: 0 });
    const target = $("lc-foot").querySelector("textarea, input:not([type=checkbox]):not([type=file]), button:not([disabled])");
    if (target) target.focus();
    else if (!this.started && this.cfg && this.cfg.offered && !this.chatId) this.startAssistant(true);
  }

  bumpUnread() {
    if (!FRAMED || host.open) return;
    this.unread += 1;
    host.post({ type: "unread", n: this.unread });
  }

  // ---------------------------------------------------------------- drawing

  foot(...nodes) {
    const log = $("lc-log");
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    $("lc-foot").replaceChildren(...nodes.filter(Boolean));
    if (atBottom) log.scrollTop = log.scrollHeight;  // the footer's new height must not hide the latest line
  }

  setStatusLine(text) {
    const line = $("lc-status");
    line.textContent = text;
    line.hidden = !text;
  }

  setConn(text) {
    const line = $("lc-conn");
    line.textContent = text;
    line.hidden = !text;
  }

  bubble(kind, name, text, extra = "", at = null) {
    const time = at ? timeFormat.format(new Date(at)) : "";
    return el("li", { class: `lc-msg lc-${kind}${extra ? ` ${extra}` : ""}` },
      el("div", { class: "lc-meta" }, el("span", { class: "lc-who", text: name }), el("span", { class: "lc-state", text: time })),
      el("p", { class: "lc-text" }, ...linked(text)));
  }

  botSay(text, note = "") {
    const li = this.bubble("bot", "Assistant", text);
    if (note) li.querySelector(".lc-text").append(el("span", { class: "lc-tag", text: note }));
    this.addLine(li);
  }

  sysLine(text, alert = false) {
    this.addLine(el("li", { class: "lc-sys", role: alert ? "alert" : null, text }));
  }

  addLine(li, atEnd = false) {
    if (this.replay && !atEnd) {
      this.replay.list.append(li);
      return;
    }
    const log = $("lc-log");
    if (atEnd) log.append(li);
    else log.insertBefore(li, log.querySelector("li.lc-pending"));  // in seq order, above lines still being sent
    this.scroll();
  }

  scroll(force = false) {
    const log = $("lc-log");
    if (force || this.stick || log.scrollHeight - log.scrollTop - log.clientHeight < 160) {
      log.scrollTop = log.scrollHeight;
      this.stick = true;
    }
  }
}

// Text with its http(s) addresses as links that open in a new tab (an article a recruiter sent); the rest stays text.
function linked(text) {
  const value = String(text);
  const out = [];
  let last = 0;
  for (const match of value.matchAll(/https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi)) {
    if (match.index > last) out.push(value.slice(last, match.index));
    out.push(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < value.length) out.push(value.slice(last));
  return out;
}

function svgIcon(d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "lc-icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

function checkEmail(value) {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value) && value.length <= 254 ? "" : "That doesn't look like an email address. Please check it.";
}

function checkPhone(value) {
  let v = value.replace(/[\s().-]/g, "");
  if (v.startsWith("00")) v = `+${v.slice(2)}`;
  return /^\+\d{7,15}$/.test(v) ? "" : `That doesn't look like a full phone number. ${PHONE_HINT}`;
}

const chat = new CandidateChat();
if (root) {
  chat.boot();
  window.fairmeetChat = chat;  // for tests and debugging
  loadPlugins(chat, ["candidate_desk.js", "candidate_files.js", "candidate_compose.js"]);
}

export { api, el, svgIcon, timeFormat };
