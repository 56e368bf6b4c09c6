/* Fairmeet chat widget loader: <script src="https://FAIRMEET/widget.js" data-job="12" async></script>
   After a few seconds (data-delay, in ms) it shows a "Chat now" button if the job req offers chat; the chat runs in
   an iframe on Fairmeet's origin. Messages both ways are checked by origin and sent to one exact origin. */
(function () {
  var s = document.currentScript, w = window, d = document;
  var job = s && s.getAttribute("data-job");
  if (!job || !/^[1-9]\d{0,8}$/.test(job) || w["fairmeet" + job]) return;
  w["fairmeet" + job] = 1;
  var O = new URL(s.src).origin, KEY = "fairmeet-widget-" + job, href = location.href;
  var wait = s.hasAttribute("data-delay") ? +s.getAttribute("data-delay") || 0 : 3000;
  var btn, badge, box, frame, shown = 0, open = 0;
  var FONT = "font:600 16px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;";

  function remember(v) { try { sessionStorage.setItem(KEY, v); } catch (e) { /* storage off */ } }
  function recall() { try { return sessionStorage.getItem(KEY); } catch (e) { return null; } }
  function el(tag, style) { var n = d.createElement(tag); n.style.cssText = style; return n; }
  function post(msg) {
    msg.fairmeet = 1;
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(msg, O);
  }
  function tell() { post({ type: "host", url: location.href, open: !!open }); }

  function place() {
    if (!box) return;
    box.style.cssText = "position:fixed;z-index:2147483000;overflow:hidden;background:#fff;box-shadow:0 12px 40px rgba(16,24,40,.3);" +
      (open ? "display:block;" : "display:none;") + (w.innerWidth < 520 ? "inset:0;width:100%;height:100%"
        : "right:20px;bottom:20px;width:380px;height:min(640px,calc(100% - 40px));border-radius:14px");
  }

  function frameUp() {
    if (frame) return;
    box = d.createElement("div");
    frame = el("iframe", "border:0;width:100%;height:100%;display:block");
    frame.title = "Chat with a recruiter";
    frame.src = O + "/jobs/" + job + "/widget";
    frame.addEventListener("load", tell);
    box.appendChild(frame);
    place();
    d.body.appendChild(box);
  }

  function button() {
    if (!btn) {
      btn = el("button", "position:fixed;right:20px;bottom:20px;z-index:2147483000;align-items:center;gap:8px;padding:12px 20px;" +
        "border:0;border-radius:999px;background:#4f46e5;color:#fff;box-shadow:0 6px 20px rgba(79,70,229,.4);cursor:pointer;" + FONT);
      btn.type = "button";
      var ns = "http://www.w3.org/2000/svg", svg = d.createElementNS(ns, "svg"), path = d.createElementNS(ns, "path");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("width", "20");
      svg.setAttribute("height", "20");
      svg.setAttribute("aria-hidden", "true");
      svg.style.cssText = "fill:none;stroke:currentColor;stroke-width:2";
      path.setAttribute("d", "M4 5h16v11H9l-5 4z");
      svg.appendChild(path);
      badge = el("span", "display:none;min-width:20px;padding:0 6px;border-radius:99px;background:#fff;color:#4f46e5;font-size:13px");
      btn.append(svg, "Chat now", badge);
      btn.onclick = show;
      d.body.appendChild(btn);
    }
    btn.style.display = open ? "none" : "inline-flex";
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function show() {
    frameUp();
    open = 1;
    remember("open");
    place();
    button();
    unread(0);
    tell();
    frame.focus();
  }

  function hide() {
    open = 0;
    remember("min");
    place();
    button();
    tell();
    btn.focus();
  }

  function unread(n) {
    badge.textContent = n > 0 ? n : "";
    badge.style.display = n > 0 ? "inline-block" : "none";
    btn.setAttribute("aria-label", n > 0 ? "Chat now, " + n + " new" : "Chat now");
  }

  w.addEventListener("message", function (e) {
    var m = e.data;
    if (e.origin !== O || !frame || e.source !== frame.contentWindow || !m || m.fairmeet !== 1) return;
    if (m.type === "ready" && !shown) {
      shown = 1;
      if (m.offered) button();
    } else if (m.type === "close") hide();
    else if (m.type === "unread" && btn && !open) unread(+m.n || 0);
  });
  w.addEventListener("resize", place);
  // The candidate moves around the site (links, back/forward, pushState): tell the chat which page they are on.
  setInterval(function () { if (location.href !== href) { href = location.href; tell(); } }, 1000);

  function start() {
    var was = recall();
    if (was === "open") return show();
    if (was === "min") { shown = 1; return button(); }
    setTimeout(function () {
      fetch(O + "/api/v1/job-reqs/" + job + "/chat-config", { credentials: "omit" })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (c) { shown = 1; if (c.offered) button(); })
        .catch(frameUp);  // blocked (no CORS here): the hidden iframe asks instead and says "ready"
    }, wait);
  }
  if (d.body) start(); else d.addEventListener("DOMContentLoaded", start);
})();
