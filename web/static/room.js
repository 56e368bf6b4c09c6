// The video room of a confirmed 1-1 chat: a check before joining, then the call.
// A plain ES module with no build step. The page (templates/room.html) holds the markup and a
// `data-boot` JSON object from web/rooms.py; the server speaks signaling protocol v1
// (signaling/protocol.py) over /ws/rooms/{chat_id}. Media goes peer to peer between browsers.

const app = document.getElementById("room-app");
const boot = JSON.parse(app.dataset.boot);
const OTHER_NAME = app.dataset.otherName || "the other person";
const OTHER_ID = Number(app.dataset.otherId);
const VENDOR = "/static/vendor/selfie_segmentation/";
const CONNECT_TIMEOUT_MS = 15000;   // no endless spinner: after this, say plainly what is wrong
const TOKEN_MAX_AGE_MS = 90000;     // room tokens live 120 s on the server; refresh before that
const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };
const MICROPHONE = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

// ------------------------------------------------------------------------------------------ helpers

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clockOffset = boot.now ? Date.parse(boot.now) - Date.now() : 0;
const serverNow = () => Date.now() + clockOffset;  // the device's clock may be wrong; the server's is not
// Times as the pages show them (scheduling/timefmt.py): 24-hour, in the viewer's zone (boot.tz); a sentence names
// the zone as the server does (boot.tz_label, e.g. "CET"). Chat lines show "14:03": the room's header names the zone.
const timeFormat = (() => {
  try {
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: boot.tz || undefined });
  } catch {  // a zone this browser doesn't know: the device's own
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
})();
const zonedTimeFormat = { format: (date) => (boot.tz_label ? `${timeFormat.format(date)} ${boot.tz_label}` : timeFormat.format(date)) };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function icon(name, cls = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(ns, "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 60);
}

function roleLabel(role) {
  return { talent: "Talent", recruiter: "Recruiter", organizer: "Organizer" }[role] || "";
}

function duration(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m}:${String(s).padStart(2, "0")}`;
}

// A timer that keeps ticking in a background tab (plain timers are slowed to once a second there).
function ticker(ms, fn) {
  try {
    const source = `const t = setInterval(() => postMessage(0), ${ms}); onmessage = () => clearInterval(t);`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    worker.onmessage = fn;
    return () => worker.terminate();
  } catch {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.onload = resolve;
    script.onerror = () => reject(new Error("missing"));
    document.head.append(script);
  });
}

// Plain-language text for a getUserMedia failure.
function deviceProblem(kind, err) {
  const what = kind === "video" ? "camera" : "microphone";
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `Your browser is blocking the ${what}. Allow it with the camera icon in the address bar (or in this site's settings), then choose Try again.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `We couldn't find a ${what}. Plug one in, then choose Try again.`;
    case "NotReadableError":
    case "AbortError":
      return `Your ${what} is in use by another app or isn't working. Close other apps that use it, then choose Try again.`;
    case "Unsupported":
      return "This browser can't use a camera or microphone on this page. Open it in a current Chrome, Edge, Firefox or Safari.";
    default:
      return `Your ${what} couldn't be started (${(err && (err.message || err.name)) || "unknown error"}).`;
  }
}

// ------------------------------------------------------------------------------------------ microphone level

class LevelMeter {
  constructor() {
    this.ctx = null;
    this.source = null;
    this.analyser = null;
    this.buffer = null;
    this.level = 0;
  }

  attach(track) {
    this.detach();
    if (!track || !window.AudioContext) return;
    this.ctx = this.ctx || new AudioContext();
    this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  detach() {
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
  }

  resume() {
    if (this.ctx && this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
  }

  read() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    const rms = Math.sqrt(sum / this.buffer.length);
    const value = Math.min(1, rms * 5);
    this.level = value > this.level ? value : this.level * 0.85 + value * 0.15;
    return this.level;
  }
}

// ------------------------------------------------------------------------------------------ background effects

// Backgrounds drawn on a canvas here, never downloaded: three calm gradients.
function drawPreset(ctx, name, w, h) {
  const lin = (stops, x1 = 0, y1 = 0, x2 = 0, y2 = h) => {
    const g = ctx.createLinearGradient(x1, y1, x2, y2);
    stops.forEach(([at, color]) => g.addColorStop(at, color));
    return g;
  };
  const glow = (x, y, r, color) => {
    const g = ctx.createRadialGradient(x, y, 0, x, y, r);
    g.addColorStop(0, color);
    g.addColorStop(1, "rgba(255,255,255,0)");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, w, h);
  };
  ctx.save();
  if (name === "dawn") {
    ctx.fillStyle = lin([[0, "#fde2c4"], [0.45, "#f9b7c3"], [1, "#9f9bea"]]);
    ctx.fillRect(0, 0, w, h);
    glow(w * 0.72, h * 0.42, h * 0.55, "rgba(255,236,200,0.9)");
    ctx.fillStyle = "rgba(98, 84, 170, 0.35)";
    ctx.beginPath();
    ctx.moveTo(0, h * 0.78);
    ctx.bezierCurveTo(w * 0.25, h * 0.62, w * 0.45, h * 0.86, w * 0.7, h * 0.7);
    ctx.bezierCurveTo(w * 0.85, h * 0.62, w * 0.95, h * 0.7, w, h * 0.66);
    ctx.lineTo(w, h);
    ctx.lineTo(0, h);
    ctx.fill();
  } else if (name === "ocean") {
    ctx.fillStyle = lin([[0, "#0b3a7e"], [0.55, "#1d78a8"], [1, "#6fcbd9"]]);
    ctx.fillRect(0, 0, w, h);
    glow(w * 0.3, -h * 0.1, h * 0.9, "rgba(180,235,255,0.55)");
    ctx.strokeStyle = "rgba(255,255,255,0.16)";
    ctx.lineWidth = Math.max(2, h / 90);
    for (let i = 0; i < 6; i += 1) {
      const y = h * (0.55 + i * 0.08);
      ctx.beginPath();
      for (let x = 0; x <= w; x += w / 24) ctx.lineTo(x, y + Math.sin(x / w * 9 + i) * h * 0.012);
      ctx.stroke();
    }
  } else {
    // studio: a warm wall, a shelf and a plant
    ctx.fillStyle = lin([[0, "#efe9df"], [1, "#d2c7b6"]]);
    ctx.fillRect(0, 0, w, h);
    glow(w * 0.5, h * 0.35, w * 0.6, "rgba(255,250,240,0.7)");
    ctx.fillStyle = "rgba(120, 96, 70, 0.55)";
    ctx.fillRect(w * 0.06, h * 0.36, w * 0.26, h * 0.025);
    ctx.fillStyle = "rgba(90, 120, 160, 0.45)";
    ctx.fillRect(w * 0.09, h * 0.25, w * 0.04, h * 0.11);
    ctx.fillStyle = "rgba(170, 110, 80, 0.45)";
    ctx.fillRect(w * 0.14, h * 0.27, w * 0.035, h * 0.09);
    ctx.fillStyle = "rgba(200, 190, 175, 0.9)";
    ctx.fillRect(w * 0.7, h * 0.16, w * 0.2, h * 0.24);
    ctx.fillStyle = "rgba(150, 170, 160, 0.6)";
    ctx.fillRect(w * 0.715, h * 0.18, w * 0.17, h * 0.2);
    ctx.fillStyle = "rgba(60, 110, 70, 0.55)";
    for (const [dx, dy, rx, ry] of [[0, 0, 0.05, 0.12], [0.04, 0.04, 0.045, 0.1], [-0.04, 0.05, 0.045, 0.1]]) {
      ctx.beginPath();
      ctx.ellipse(w * (0.88 + dx), h * (0.66 + dy), w * rx, h * ry, 0, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.fillStyle = "rgba(140, 90, 60, 0.6)";
    ctx.fillRect(w * 0.85, h * 0.76, w * 0.07, h * 0.24);
  }
  ctx.restore();
}

// Segmentation with MediaPipe's selfie model (served from /static/vendor, installed from npm by the
// Makefile), composited on a canvas whose captureStream() track replaces the camera track.
// Segmentation runs as fast as the device allows; compositing runs at 30 fps with the latest mask,
// so a slow device gets a laggy edge, not a slow video. Until the first mask, the whole frame is blurred.
class Effects {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.mode = "none";
    this.source = null;
    this.video = el("video", { muted: true, playsinline: true });
    this.video.muted = true;
    this.canvas = el("canvas", { width: 640, height: 480 });
    this.ctx = this.canvas.getContext("2d");
    this.small = el("canvas", { width: 256, height: 192 });
    this.smallCtx = this.small.getContext("2d");
    this.mask = el("canvas", { width: 256, height: 192 });
    this.maskCtx = this.mask.getContext("2d");
    this.bg = el("canvas");
    this.bgCtx = this.bg.getContext("2d");
    this.presets = new Map();
    this.track = null;
    this.stopTicker = null;
    this.seg = null;
    this.loading = null;
    this.busy = false;
    this.lastSeg = 0;
    this.segCost = 0;
    this.segRuns = 0;
    this.frameCost = 0;
    this.hasMask = false;
    this.masks = 0;
  }

  get active() {
    return this.mode !== "none" && this.track !== null;
  }

  async start(mode, source) {
    this.mode = mode;
    if (!this.track) {
      this.track = this.canvas.captureStream(30).getVideoTracks()[0];
      this.stopTicker = ticker(33, () => this.frame());
    }
    await this.setSource(source);
    return this.load();
  }

  stop() {
    this.mode = "none";
    if (this.stopTicker) this.stopTicker();
    this.stopTicker = null;
    if (this.track) this.track.stop();
    this.track = null;
    this.hasMask = false;
    this.video.srcObject = null;
    this.source = null;
  }

  async setSource(track) {
    if (track === this.source && track) return;
    this.source = track;
    this.hasMask = false;
    if (!track) {
      this.video.srcObject = null;
      return;
    }
    this.video.srcObject = new MediaStream([track]);
    await this.video.play().catch(() => {});
  }

  load() {
    if (this.seg) return Promise.resolve();
    if (!this.loading) {
      this.onStatus("loading");
      this.loading = (async () => {
        if (!window.SelfieSegmentation) {
          try {
            await loadScript(`${VENDOR}selfie_segmentation.js`);
          } catch {
            throw new Error("its files are missing on this server");
          }
        }
        const seg = new window.SelfieSegmentation({ locateFile: (file) => VENDOR + file });
        seg.setOptions({ modelSelection: 1, selfieMode: false });
        seg.onResults((results) => this.onResults(results));
        try {
          await seg.initialize();
        } catch (err) {
          throw new Error(`this browser can't run it (${err && err.message ? err.message : "no WebGL"})`);
        }
        this.seg = seg;
        this.onStatus("ready");
      })();
      this.loading.catch(() => { this.loading = null; });
    }
    return this.loading;
  }

  onResults(results) {
    const mask = results.segmentationMask;
    if (!mask || !this.source) return;
    if (this.mask.width !== mask.width || this.mask.height !== mask.height) {
      this.mask.width = mask.width;
      this.mask.height = mask.height;
    }
    this.maskCtx.globalCompositeOperation = "copy";
    this.maskCtx.filter = "blur(1px)";  // a soft edge around the person, at the mask's small size
    this.maskCtx.drawImage(mask, 0, 0);
    this.hasMask = true;
    this.masks += 1;
  }

  preset(name, w, h) {
    const key = `${name}:${w}x${h}`;
    if (!this.presets.has(key)) {
      const canvas = el("canvas", { width: w, height: h });
      drawPreset(canvas.getContext("2d"), name, w, h);
      this.presets.set(key, canvas);
    }
    return this.presets.get(key);
  }

  blurred(ctx, w, h, factor) {
    const bw = Math.max(8, Math.round(w / factor));
    const bh = Math.max(6, Math.round(h / factor));
    if (this.bg.width !== bw || this.bg.height !== bh) {
      this.bg.width = bw;
      this.bg.height = bh;
    }
    this.bgCtx.filter = "blur(1px)";
    this.bgCtx.drawImage(this.video, 0, 0, bw, bh);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.bg, 0, 0, w, h);
  }

  frame() {
    const v = this.video;
    if (!this.source || v.readyState < 2 || !v.videoWidth) return;
    const started = performance.now();
    const w = v.videoWidth;
    const h = v.videoHeight;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.small.height = Math.round(256 * h / w);
    }
    const ctx = this.ctx;
    ctx.save();
    if (this.hasMask) {
      ctx.globalCompositeOperation = "copy";
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.mask, 0, 0, w, h);
      ctx.globalCompositeOperation = "source-in";
      ctx.drawImage(v, 0, 0, w, h);
      ctx.globalCompositeOperation = "destination-over";
      if (this.mode === "semi") this.blurred(ctx, w, h, 4);
      else if (this.mode === "blur") this.blurred(ctx, w, h, 12);
      else ctx.drawImage(this.preset(this.mode, w, h), 0, 0);
    } else {
      ctx.globalCompositeOperation = "copy";
      this.blurred(ctx, w, h, 12);
    }
    ctx.restore();
    const cost = performance.now() - started;
    this.frameCost = this.frameCost ? this.frameCost * 0.9 + cost * 0.1 : cost;
    this.segment();
  }

  // At most ~15 masks a second, and never more than a quarter of the time: on a slow device
  // (software WebGL) one mask can take hundreds of milliseconds of the page's main thread.
  segment() {
    const pause = Math.max(66, this.segCost * 3);
    if (!this.seg || this.busy || performance.now() - this.lastSeg < pause) return;
    this.busy = true;
    const started = performance.now();
    this.smallCtx.drawImage(this.video, 0, 0, this.small.width, this.small.height);
    this.seg.send({ image: this.small }).catch(() => {}).finally(() => {
      const cost = performance.now() - started;
      this.segRuns += 1;
      if (this.segRuns > 1) this.segCost = this.segCost ? this.segCost * 0.7 + cost * 0.3 : cost;  // the first run warms up
      this.lastSeg = performance.now();
      this.busy = false;
    });
  }
}

// ------------------------------------------------------------------------------------------ network check

class NetError extends Error {}

// Connects to the server's test peer (POST netcheck_url with an offer, get an answer), then measures
// the round trip of ten small data-channel messages that the server echoes.
async function networkCheck(route = { iceServers: [], iceTransportPolicy: "all" }) {
  if (!window.RTCPeerConnection) throw new NetError("this browser can't make video calls; use a current Chrome, Edge, Firefox or Safari");
  const pc = new RTCPeerConnection({ iceServers: route.iceServers || [], iceTransportPolicy: route.iceTransportPolicy || "all" });
  try {
    const channel = pc.createDataChannel("netcheck", { ordered: false, maxRetransmits: 0 });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
      setTimeout(resolve, 3000);
    });
    const started = performance.now();
    let response;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 10000);
    try {
      response = await fetch(boot.netcheck_url, {
        method: "POST",
        credentials: "same-origin",
        signal: abort.signal,
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": document.querySelector("meta[name=csrf-token]")?.content || "",
        },
        body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }),
      });
    } catch (err) {
      throw new NetError(abort.signal.aborted ? "the server took too long to answer" : "no answer (are you offline?)");
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      let message = "";
      try { message = (await response.json()).error.message; } catch { /* not JSON */ }
      if (response.status === 404) throw new NetError("the connection test isn't available on this server");
      if (response.status === 401) throw new NetError("you're signed out; sign in again");
      if (response.status === 429) throw new NetError("too many tests in a row; wait a minute and test again");
      throw new NetError(message || `the server answered with an error (${response.status})`);
    }
    const answer = await response.json();
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await new Promise((resolve, reject) => {
      if (channel.readyState === "open") resolve();
      channel.addEventListener("open", resolve);
      setTimeout(() => reject(new NetError("video traffic is blocked on the way (a firewall or VPN may stop it)")), 10000);
    });
    const setup = performance.now() - started;
    const sent = new Map();
    const rtts = [];
    channel.addEventListener("message", (event) => {
      try {
        const { n } = JSON.parse(event.data);
        if (sent.has(n)) {
          rtts.push(performance.now() - sent.get(n));
          sent.delete(n);
        }
      } catch { /* not ours */ }
    });
    const count = 10;
    for (let n = 0; n < count; n += 1) {
      sent.set(n, performance.now());
      channel.send(JSON.stringify({ n, t: Date.now() }));
      await sleep(100);
    }
    const deadline = performance.now() + 1500;
    while (sent.size && performance.now() < deadline) await sleep(50);
    rtts.sort((a, b) => a - b);
    const median = rtts.length ? rtts[Math.floor(rtts.length / 2)] : Infinity;
    return { median, lost: count - rtts.length, count, setup };
  } finally {
    pc.close();
  }
}

// The routes the server wants tested: always "direct", and "relay" (through TURN only) when the
// server has a TURN server. Falls back to the direct route alone if the list can't be had.
async function netcheckRoutes() {
  try {
    const response = await fetch(boot.netcheck_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return [{ name: "direct", iceServers: [], iceTransportPolicy: "all" }];
    const body = await response.json();
    return Array.isArray(body.routes) && body.routes.length ? body.routes : [{ name: "direct", iceServers: [], iceTransportPolicy: "all" }];
  } catch {
    return [{ name: "direct", iceServers: [], iceTransportPolicy: "all" }];
  }
}

// ------------------------------------------------------------------------------------------ one peer

// One RTCPeerConnection to one other connection in the room, negotiated with "perfect negotiation"
// (either side may offer at any time; collisions resolve by themselves).
class Peer {
  constructor(room, info, epoch, initiator) {
    this.room = room;
    this.conn = info.conn;
    this.info = info;
    this.epoch = epoch;
    // Perfect negotiation needs exactly one polite side per pair, chosen without talking:
    // the side whose connection id sorts first (plain string comparison) is POLITE and rolls back
    // its own offer when offers collide; the other side is IMPOLITE and ignores the colliding offer.
    this.polite = room.connId < info.conn;
    // Offers can still collide (both sides restart, or both just reconnected), and perfect negotiation
    // resolves that; but a collision costs time, and Chromium sometimes stops gathering candidates after
    // the implicit rollback. So, when someone joins, only the newcomer offers first: the member already
    // in the room adds its tracks when the newcomer's offer arrives (or after 4 s without one).
    this.initiator = initiator;
    this.tracksAdded = false;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.answerPending = false;
    this.chain = Promise.resolve();
    this.media = null;
    this.stream = new MediaStream();
    this.audioSender = null;
    this.videoSender = null;
    this.connected = false;
    this.failTimer = null;
    this.discTimer = null;
    this.buildTile();
  }

  start() {
    const pc = new RTCPeerConnection({ iceServers: this.room.iceServers });
    this.pc = pc;
    pc.ontrack = ({ track }) => {
      for (const old of this.stream.getTracks()) if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      if (this.video.srcObject !== this.stream) this.video.srcObject = this.stream;
      this.play();
    };
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.send({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      } catch (err) {
        console.warn("offer failed", err);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) this.send({ candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => this.onState();
    if (this.initiator) this.addTracks();
    else this.waitTimer = setTimeout(() => this.addTracks(), 4000);
    this.armTimeout();
  }

  addTracks() {
    clearTimeout(this.waitTimer);
    if (this.tracksAdded || !this.pc || this.pc.signalingState === "closed") return;
    this.tracksAdded = true;
    const audio = this.room.media.mic;
    if (audio) this.audioSender = this.pc.addTrack(audio, this.room.localStream);
    const video = this.room.outgoingVideo();
    if (video) this.videoSender = this.pc.addTrack(video, this.room.localStream);
  }

  send(data) {
    this.room.send({ type: "signal", to: this.conn, data });
  }

  onSignal(data) {
    this.chain = this.chain.then(() => this.handle(data)).catch((err) => console.warn("signal failed", err));
  }

  async handle({ description, candidate, restart }) {
    const pc = this.pc;
    if (!pc || pc.signalingState === "closed") return;
    if (description) {
      const readyForOffer = !this.makingOffer && (pc.signalingState === "stable" || this.answerPending);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.answerPending = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);  // on a collision the polite side rolls back implicitly
      } finally {
        this.answerPending = false;
      }
      if (description.type === "offer") {
        this.addTracks();  // answer with our tracks (addTrack reuses the transceivers the offer made)
        await pc.setLocalDescription();
        this.send({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      }
    }
    if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.ignoreOffer) console.warn("candidate refused", err);
      }
    }
    if (restart) this.restartIce(false);
  }

  // ICE restart: new candidates on the same connection, without dropping the tracks.
  restartIce(ask) {
    if (!this.pc || this.pc.signalingState === "closed") return;
    this.pc.restartIce();
    if (ask) this.send({ restart: true });
    this.armTimeout();
  }

  onState() {
    const state = this.pc.connectionState;
    clearTimeout(this.discTimer);
    if (state === "connected") {
      this.connected = true;
      this.failed = false;
      clearTimeout(this.failTimer);
      clearTimeout(this.kickTimer);
      this.showMessage(null);
    } else if (state === "disconnected") {
      this.showMessage(`The connection to ${this.info.name} is unstable. Trying to recover…`);
      this.discTimer = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.restartIce(false);
      }, 2500);
    } else if (state === "failed") {
      this.showMessage(`Reconnecting the video with ${this.info.name}…`);
      this.restartIce(true);
    }
    this.room.refreshBanner();
  }

  armTimeout() {
    clearTimeout(this.failTimer);
    clearTimeout(this.kickTimer);
    this.failTimer = setTimeout(() => {
      if (this.pc && this.pc.connectionState !== "connected") this.showFailure();
    }, CONNECT_TIMEOUT_MS);
    // Not connected after 5 s: one side (the impolite one, so both don't at once) starts ICE over.
    if (!this.polite) this.kickTimer = setTimeout(() => this.kick(), 5000);
  }

  // Starts negotiation over when a connection is stuck: a lost answer leaves us in have-local-offer.
  kick() {
    const pc = this.pc;
    if (!pc || pc.signalingState === "closed" || pc.connectionState === "connected") return;
    if (pc.signalingState === "have-local-offer") {
      pc.setLocalDescription({ type: "rollback" }).then(() => pc.restartIce()).catch(() => {});
    } else {
      pc.restartIce();
    }
  }

  showFailure() {
    this.failed = true;
    this.showMessage(
      `We couldn't connect the video with ${this.info.name}. A firewall, VPN or company network may be blocking video calls. ` +
        "Try another network, or use Need help? to reach the event's support.",
      "Try again",
      () => {
        this.failed = false;
        this.showMessage(`Connecting to ${this.info.name}…`);
        this.restartIce(true);
      },
    );
    this.room.refreshBanner();
  }

  setVideo(track) {
    if (!this.pc || this.pc.signalingState === "closed" || !this.tracksAdded) return;
    if (this.videoSender) this.videoSender.replaceTrack(track).catch((err) => console.warn("replaceTrack", err));
    else if (track) this.videoSender = this.pc.addTrack(track, this.room.localStream);
  }

  setAudio(track) {
    if (!this.pc || this.pc.signalingState === "closed" || !this.tracksAdded) return;
    if (this.audioSender) this.audioSender.replaceTrack(track).catch((err) => console.warn("replaceTrack", err));
    else if (track) this.audioSender = this.pc.addTrack(track, this.room.localStream);
  }

  close() {
    clearTimeout(this.failTimer);
    clearTimeout(this.discTimer);
    clearTimeout(this.kickTimer);
    clearTimeout(this.waitTimer);
    if (this.pc) this.pc.close();
    this.tile.remove();
  }

  // ---- the tile on the stage

  buildTile() {
    const initial = (this.info.name || "?").slice(0, 1);
    this.video = el("video", { autoplay: true, playsinline: true, "aria-label": `${this.info.name}'s video` });
    this.offText = el("span", { text: "Camera is off" });
    this.off = el("div", { class: "videoff", hidden: true }, el("span", { class: "avatar big", "aria-hidden": "true", text: initial }), this.offText);
    this.micBadge = el("span", { hidden: true }, icon("i-mic-off"), el("span", { text: "Muted" }));
    this.screenBadge = el("span", { hidden: true }, icon("i-screen"), el("span", { text: "Sharing screen" }));
    this.msgText = el("p");
    this.msgButton = el("button", { type: "button", class: "btn small", hidden: true });
    this.msg = el("div", { class: "tilemsg", role: "status", hidden: true }, this.msgText, this.msgButton);
    this.soundButton = el("button", { type: "button", class: "btn small soundbtn", hidden: true, text: "Turn on sound", onclick: () => this.play() });
    const label = this.info.role === "organizer" ? `${this.info.name} · Organizer` : this.info.name;
    this.tile = el(
      "div",
      { class: "tile", dataset: { conn: this.conn } },
      this.video, this.off,
      el("span", { class: "tilelabel", text: label }),
      el("div", { class: "tilestate" }, this.micBadge, this.screenBadge),
      this.msg, this.soundButton,
    );
    if (this.room.speaker && this.video.setSinkId) this.video.setSinkId(this.room.speaker).catch(() => {});
  }

  play() {
    this.video.play().then(() => { this.soundButton.hidden = true; }).catch((err) => {
      if (err && err.name === "NotAllowedError") this.soundButton.hidden = false;
    });
  }

  showMessage(text, action, onAction) {
    this.msg.hidden = !text;
    this.msgText.textContent = text || "";
    this.msgButton.hidden = !action;
    this.msgButton.textContent = action || "";
    this.msgButton.onclick = onAction || null;
  }

  setMedia(media) {
    this.media = media;
    const showsVideo = media.cam || media.screen;
    this.off.hidden = showsVideo;
    this.micBadge.hidden = media.mic;
    this.screenBadge.hidden = !media.screen;
    this.tile.classList.toggle("screen", !!media.screen);
  }
}

// ------------------------------------------------------------------------------------------ the room

class Room {
  constructor() {
    this.connId = newId();
    this.me = boot.me;
    this.localStream = new MediaStream();  // groups our tracks for the other side (msid); not played
    this.media = { mic: null, camera: null, screen: null, micOn: true, camOn: true, micError: null, camError: null };
    this.camDevice = "";
    this.micDevice = "";
    this.speaker = "";
    this.bgMode = "none";
    this.meter = new LevelMeter();
    this.effects = new Effects((status) => this.onEffectsStatus(status));
    this.joined = false;
    this.stopped = false;
    // signaling
    this.ws = null;
    this.token = boot.token;
    this.tokenAt = Date.now();
    this.welcomed = false;
    this.everWelcomed = false;
    this.attempt = 0;
    this.authFailures = 0;
    this.retryTimer = null;
    this.lastRx = 0;
    this.downSince = null;
    this.iceServers = [];
    this.epoch = 0;
    this.helloSeq = 0;
    this.welcomeSeq = 0;
    // the conversation log: events are applied in seq order, each once
    this.contiguous = 0;
    this.early = new Map();
    this.gapTimer = null;
    this.roster = new Map();
    this.peers = new Map();
    this.peerMedia = new Map();
    this.outbox = new Map();   // client_id -> {text, li, sentAt}
    this.typers = new Map();
    this.typingSent = 0;
    this.typingActive = false;
    this.typingIdle = null;
    this.unread = 0;
    this.warned = false;
    this.ended = false;
    this.ready = null;          // the first acquire() of camera and microphone
    this.connecting = false;    // a token fetch is under way
    this.nextTry = 0;           // when the next reconnect attempt is due
    this.closeMessage = "";     // the server's words before it closes the room
    this.heartbeat = null;
    this.noticeState = null;    // the banner's message, if any
    this.dialogOpener = null;
    this.typerTimer = null;
    this.leftName = null;       // who left last, for the empty stage
    this.refusals = 0;          // sockets in a row that failed before opening
  }

  // ---------------------------------------------------------------- start-up: devices and the check

  async init() {
    this.bindCheck();
    this.bindCall();
    this.paintSwatches();
    this.startCountdown();
    setInterval(() => this.tickMeter(), 80);
    const resume = () => this.meter.resume();
    document.addEventListener("pointerdown", resume);
    document.addEventListener("keydown", resume);
    this.runNetcheck();
    this.ready = this.acquire();
    await this.ready;
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.listDevices());
    }
  }

  async acquire() {
    const md = navigator.mediaDevices;
    this.media.micError = null;
    this.media.camError = null;
    $("preview-off").hidden = false;
    $("preview-off-text").textContent = "Starting your camera… If your browser asks, allow the camera and microphone.";
    if (!md || !md.getUserMedia) {
      this.media.micError = this.media.camError = { name: "Unsupported" };
    } else {
      try {
        const stream = await md.getUserMedia({ audio: this.micConstraints(), video: this.camConstraints() });
        this.setMic(stream.getAudioTracks()[0] || null);
        this.setCamera(stream.getVideoTracks()[0] || null);
      } catch {
        // Find out which of the two failed, and keep the one that works.
        try {
          this.setCamera((await md.getUserMedia({ video: this.camConstraints() })).getVideoTracks()[0]);
        } catch (err) {
          this.media.camError = err;
        }
        try {
          this.setMic((await md.getUserMedia({ audio: this.micConstraints() })).getAudioTracks()[0]);
        } catch (err) {
          this.media.micError = err;
        }
      }
    }
    if (this.media.camError) this.media.camOn = false;
    await this.listDevices();
    this.showDeviceProblems();
    this.refreshSelf();
    this.refreshButtons();
  }

  camConstraints() {
    return this.camDevice ? { ...CAMERA, deviceId: { exact: this.camDevice } } : CAMERA;
  }

  micConstraints() {
    return this.micDevice ? { ...MICROPHONE, deviceId: { exact: this.micDevice } } : MICROPHONE;
  }

  setMic(track) {
    const old = this.media.mic;
    this.media.mic = track;
    if (track) {
      track.enabled = this.media.micOn;
      track.addEventListener("ended", () => {
        if (this.media.mic === track) this.deviceLost("audio");
      });
    }
    this.meter.attach(track);
    for (const peer of this.peers.values()) peer.setAudio(track);
    if (old && old !== track) old.stop();
  }

  setCamera(track) {
    const old = this.media.camera;
    this.media.camera = track;
    if (track) {
      track.addEventListener("ended", () => {
        if (this.media.camera === track) this.deviceLost("video");
      });
    }
    if (old && old !== track) old.stop();
  }

  deviceLost(kind) {
    if (kind === "audio") {
      this.media.mic = null;
      this.meter.detach();
      this.notice("error", "Your microphone stopped working. Pick another one in Settings.", "Settings", () => this.openSettings());
    } else {
      this.media.camera = null;
      this.media.camOn = false;
      this.effects.setSource(null);
      this.applyVideo();
      this.notice("error", "Your camera stopped working. Pick another one in Settings, then start your video.", "Settings", () => this.openSettings());
    }
    this.refreshButtons();
    this.listDevices();
  }

  showDeviceProblems() {
    const { camError, micError } = this.media;
    const box = $("device-problem");
    const parts = [];
    if (camError) parts.push(`${deviceProblem("video", camError)} You can also join without camera: ${OTHER_NAME} will see your initial instead.`);
    if (micError) parts.push(`${deviceProblem("audio", micError)} You can still join, but others won't hear you until it works.`);
    box.hidden = parts.length === 0;
    $("device-problem-text").textContent = parts.join(" ");
    let label = "Join now";
    if (camError && micError) label = "Join without camera or microphone";
    else if (camError) label = "Join without camera";
    else if (micError) label = "Join without microphone";
    $("join").textContent = label;
  }

  async listDevices() {
    const md = navigator.mediaDevices;
    if (!md || !md.enumerateDevices) return;
    let devices = [];
    try {
      devices = await md.enumerateDevices();
    } catch {
      return;
    }
    const fill = (select, kind, current, fallback) => {
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      select.replaceChildren(el("option", { value: "", text: fallback }));
      list.forEach((d, i) => {
        if (d.deviceId === "default") return;
        select.append(el("option", { value: d.deviceId, text: d.label || `${fallback.replace(/^(Default|System default) /, "")} ${i + 1}` }));
      });
      select.value = [...select.options].some((o) => o.value === current) ? current : "";
      select.disabled = list.length === 0;
    };
    const camId = this.media.camera && this.media.camera.getSettings().deviceId;
    const micId = this.media.mic && this.media.mic.getSettings().deviceId;
    fill($("camera-select"), "videoinput", this.camDevice || camId || "", "Default camera");
    fill($("mic-select"), "audioinput", this.micDevice || micId || "", "Default microphone");
    const canPick = "setSinkId" in HTMLMediaElement.prototype;
    $("speaker-note").hidden = canPick;
    const speaker = $("speaker-select");
    fill(speaker, "audiooutput", this.speaker, "System default");
    if (!canPick) speaker.disabled = true;
  }

  tickMeter() {
    const level = this.media.mic && this.media.micOn ? this.meter.read() : 0;
    const meter = $("mic-level");
    if (!$("check").hidden) {
      meter.value = level;
      meter.textContent = `${Math.round(level * 100)}%`;
    }
    $("self-tile").classList.toggle("speaking", level > 0.12);
  }

  // ---------------------------------------------------------------- what we send and show of ourselves

  outgoingVideo() {
    if (this.media.screen) return this.media.screen;
    if (!this.media.camOn || !this.media.camera) return null;
    if (this.effects.active) return this.effects.track;
    return this.media.camera;
  }

  applyVideo() {
    const track = this.outgoingVideo();
    for (const peer of this.peers.values()) peer.setVideo(track);
    this.refreshSelf();
    this.sendMedia();
  }

  refreshSelf() {
    const track = this.outgoingVideo();
    const screen = !!this.media.screen;
    for (const [videoId, offId] of [["preview", "preview-off"], ["self-video", "self-off"], ["dialog-preview", "dialog-off"]]) {
      const video = $(videoId);
      const current = video.srcObject && video.srcObject.getVideoTracks()[0];
      if (track && current !== track) {
        video.srcObject = new MediaStream([track]);
        video.play().catch(() => {});
      } else if (!track) {
        video.srcObject = null;
      }
      video.classList.toggle("mirror", !screen);
      $(offId).hidden = !!track;
    }
    $("preview-off-text").textContent = this.media.camError ? "No camera" : "Your camera is off";
    $("self-tile").classList.toggle("screen", screen);
    $("self-label").textContent = screen ? "You · sharing your screen" : "You";
  }

  mediaState() {
    return {
      mic: !!(this.media.mic && this.media.micOn),
      cam: !!(this.media.camera && this.media.camOn),
      screen: !!this.media.screen,
      blur: this.bgMode !== "none" && this.effects.active,
    };
  }

  sendMedia() {
    if (this.welcomed) this.send({ type: "media", ...this.mediaState() });
    this.renderPeople();
  }

  refreshButtons() {
    const micOn = !!(this.media.mic && this.media.micOn);
    const camOn = !!(this.media.camera && this.media.camOn);
    for (const id of ["check-mic", "btn-mic"]) {
      const b = $(id);
      b.setAttribute("aria-pressed", String(micOn));
      b.classList.toggle("off", !micOn);
      b.querySelector("use").setAttribute("href", micOn ? "#i-mic" : "#i-mic-off");
      b.querySelector(".btnlabel").textContent = micOn ? "Mute" : "Unmute";
      b.disabled = !this.media.mic && !this.media.micError;
    }
    for (const id of ["check-cam", "btn-cam"]) {
      const b = $(id);
      b.setAttribute("aria-pressed", String(camOn));
      b.classList.toggle("off", !camOn);
      b.querySelector("use").setAttribute("href", camOn ? "#i-cam" : "#i-cam-off");
      b.querySelector(".btnlabel").textContent = camOn ? "Stop video" : "Start video";
    }
    const screen = $("btn-screen");
    const sharing = !!this.media.screen;
    screen.setAttribute("aria-pressed", String(sharing));
    screen.classList.toggle("active", sharing);
    screen.querySelector(".btnlabel").textContent = sharing ? "Stop sharing" : "Share screen";
    screen.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    $("btn-bg").classList.toggle("active", this.bgMode !== "none");
  }

  toggleMic() {
    if (!this.media.mic) {
      this.changeMic(this.micDevice);
      return;
    }
    this.media.micOn = !this.media.micOn;
    this.media.mic.enabled = this.media.micOn;
    this.refreshButtons();
    this.sendMedia();
    announce(this.media.micOn ? "Microphone on" : "Microphone muted");
  }

  async toggleCam() {
    if (this.media.camOn && this.media.camera) {
      this.media.camOn = false;
      this.setCamera(null);  // stops the camera: its light goes off
      await this.effects.setSource(null);
      this.applyVideo();
      announce("Camera off");
    } else {
      try {
        const track = (await navigator.mediaDevices.getUserMedia({ video: this.camConstraints() })).getVideoTracks()[0];
        this.media.camOn = true;
        this.media.camError = null;
        this.setCamera(track);
        if (this.bgMode !== "none") await this.startEffects(this.bgMode);
        this.applyVideo();
        this.showDeviceProblems();
        announce("Camera on");
      } catch (err) {
        this.media.camError = err;
        this.showDeviceProblems();
        if (this.joined) this.notice("error", deviceProblem("video", err));
      }
    }
    this.refreshButtons();
  }

  async changeCamera(deviceId) {
    this.camDevice = deviceId;
    if (!this.media.camOn && !this.media.camError) return;
    try {
      this.setCamera(null);
      const track = (await navigator.mediaDevices.getUserMedia({ video: this.camConstraints() })).getVideoTracks()[0];
      this.media.camOn = true;
      this.media.camError = null;
      this.setCamera(track);
      if (this.effects.active) await this.effects.setSource(track);
      this.applyVideo();   // replaceTrack: the call goes on without a renegotiation
      this.showDeviceProblems();
    } catch (err) {
      this.media.camError = err;
      this.media.camOn = false;
      this.applyVideo();
      this.showDeviceProblems();
      if (this.joined) this.notice("error", deviceProblem("video", err));
    }
    this.refreshButtons();
  }

  async changeMic(deviceId) {
    this.micDevice = deviceId;
    try {
      const track = (await navigator.mediaDevices.getUserMedia({ audio: this.micConstraints() })).getAudioTracks()[0];
      this.media.micError = null;
      this.setMic(track);
      this.showDeviceProblems();
    } catch (err) {
      this.media.micError = err;
      this.showDeviceProblems();
      if (this.joined) this.notice("error", deviceProblem("audio", err));
    }
    this.refreshButtons();
    this.sendMedia();
  }

  async changeSpeaker(deviceId) {
    this.speaker = deviceId;
    for (const peer of this.peers.values()) {
      if (peer.video.setSinkId) await peer.video.setSinkId(deviceId).catch(() => {});
    }
  }

  async playTestSound() {
    const ctx = new AudioContext();
    const out = ctx.createMediaStreamDestination();
    const gain = ctx.createGain();
    gain.connect(out);
    const t = ctx.currentTime + 0.05;
    [[660, 0], [880, 0.28]].forEach(([freq, at]) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(t + at);
      osc.stop(t + at + 0.25);
    });
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.3, t + 0.03);
    gain.gain.setValueAtTime(0.3, t + 0.5);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.56);
    const audio = new Audio();
    audio.srcObject = out.stream;
    if (this.speaker && audio.setSinkId) await audio.setSinkId(this.speaker).catch(() => {});
    await audio.play().catch(() => {});
    await sleep(800);
    audio.srcObject = null;
    ctx.close();
  }

  async toggleScreen() {
    if (this.media.screen) {
      this.stopScreen();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
      const track = stream.getVideoTracks()[0];
      if ("contentHint" in track) track.contentHint = "detail";
      track.addEventListener("ended", () => {
        if (this.media.screen === track) this.stopScreen();
      });
      this.media.screen = track;
      this.applyVideo();
      this.refreshButtons();
      announce("You are sharing your screen");
    } catch (err) {
      if (err && err.name !== "NotAllowedError") this.notice("error", `Your screen couldn't be shared (${err.message || err.name}).`);
    }
  }

  stopScreen() {
    const track = this.media.screen;
    this.media.screen = null;
    if (track) track.stop();
    this.applyVideo();   // back to the camera (or to nothing when it is off)
    this.refreshButtons();
    announce("Screen sharing stopped");
  }

  async setBackground(mode) {
    this.bgMode = mode;
    if (mode === "none") {
      this.effects.stop();
      $("bg-status").textContent = "";
    } else if (this.media.camera && this.media.camOn) {
      await this.startEffects(mode);
    } else {
      this.effects.mode = mode;
      $("bg-status").textContent = "The background applies when your camera is on.";
    }
    this.applyVideo();
    this.refreshButtons();
  }

  async startEffects(mode) {
    try {
      await this.effects.start(mode, this.media.camera);
    } catch (err) {
      this.effects.stop();
      this.bgMode = "none";
      const none = document.querySelector("input[name=background][value=none]");
      none.checked = true;
      $("bg-status").textContent = `Background effects aren't available: ${err.message}.`;
      this.applyVideo();
    }
  }

  onEffectsStatus(status) {
    const text = { loading: "Preparing the background…", ready: "" }[status];
    if (text !== undefined) $("bg-status").textContent = text;
  }

  paintSwatches() {
    for (const swatch of document.querySelectorAll(".bgswatch[data-preset]")) {
      const canvas = el("canvas", { width: 160, height: 100 });
      drawPreset(canvas.getContext("2d"), swatch.dataset.preset, 160, 100);
      swatch.style.backgroundImage = `url(${canvas.toDataURL()})`;
    }
  }

  async runNetcheck() {
    const result = $("net-result");
    const detail = $("net-detail");
    const retry = $("net-retry");
    retry.hidden = true;
    result.dataset.state = "running";
    result.textContent = "Checking your connection…";
    detail.textContent = "";
    const relayLine = $("net-relay");
    if (relayLine) relayLine.textContent = "";
    try {
      const routes = await netcheckRoutes();
      const direct = routes.find((route) => route.name === "direct") || routes[0];
      const relay = routes.find((route) => route.name === "relay");
      const r = await networkCheck(direct);
      if (relay && relayLine) {
        // The fallback path for networks that block direct calls: tested on its own, relay only.
        relayLine.textContent = "Checking the fallback route through our relay server…";
        try {
          const viaRelay = await networkCheck(relay);
          relayLine.dataset.state = "good";
          relayLine.textContent = `Fallback route through our relay server works (round trip ${Math.round(viaRelay.median)} ms).`;
        } catch (err) {
          relayLine.dataset.state = "bad";
          relayLine.textContent = `The fallback route through our relay server doesn't work: ${err instanceof NetError ? err.message : "the test failed"}. On a strict network the call may not connect.`;
        }
      }
      const ms = Math.round(r.median);
      detail.textContent = `Round trip ${ms} ms · ${r.lost} of ${r.count} test messages lost · connected in ${Math.round(r.setup)} ms.`;
      if (r.median <= 150 && r.lost === 0) {
        result.dataset.state = "good";
        result.textContent = "Your connection looks good.";
      } else if (r.median <= 400 && r.lost <= 2) {
        result.dataset.state = "fair";
        result.textContent = "Video may be choppy. Close other apps that use the internet, or move closer to your Wi-Fi router.";
      } else {
        result.dataset.state = "bad";
        result.textContent = "Your connection is weak: video may freeze. Sound usually still works; a cable or a stronger network helps.";
      }
    } catch (err) {
      result.dataset.state = "error";
      result.textContent = `We couldn't reach the server: ${err instanceof NetError ? err.message : "the test failed"}.`;
      detail.textContent = "You can still join. If the call doesn't connect, try another network or use Need help?.";
    }
    retry.hidden = false;
  }

  // ---------------------------------------------------------------- page controls

  bindCheck() {
    $("check-mic").addEventListener("click", () => this.toggleMic());
    $("check-cam").addEventListener("click", () => this.toggleCam());
    $("retry-devices").addEventListener("click", async () => {
      $("device-problem").hidden = true;
      this.media.camOn = true;
      await this.acquire();
    });
    $("join").addEventListener("click", () => this.join());
    $("net-retry").addEventListener("click", () => this.runNetcheck());
    $("camera-select").addEventListener("change", (e) => this.changeCamera(e.target.value));
    $("mic-select").addEventListener("change", (e) => this.changeMic(e.target.value));
    $("speaker-select").addEventListener("change", (e) => this.changeSpeaker(e.target.value));
    $("test-sound").addEventListener("click", () => this.playTestSound());
    for (const radio of document.querySelectorAll("input[name=background]")) {
      radio.addEventListener("change", () => { if (radio.checked) this.setBackground(radio.value); });
    }
  }

  bindCall() {
    $("btn-mic").addEventListener("click", () => this.toggleMic());
    $("btn-cam").addEventListener("click", () => this.toggleCam());
    $("btn-screen").addEventListener("click", () => this.toggleScreen());
    $("btn-bg").addEventListener("click", (e) => this.openSettings(e.currentTarget, "background"));
    $("btn-settings").addEventListener("click", (e) => this.openSettings(e.currentTarget));
    $("btn-leave").addEventListener("click", () => this.leave());
    $("settings-close").addEventListener("click", () => $("settings-dialog").close());
    $("settings-dialog").addEventListener("close", () => {
      if (this.dialogOpener) this.dialogOpener.focus();
    });
    // Tabs: arrow keys move between them (WAI-ARIA tabs pattern).
    const tabs = [...document.querySelectorAll("[role=tab]")];
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => this.selectTab(tab));
      tab.addEventListener("keydown", (e) => {
        let next = null;
        if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
        else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (e.key === "Home") next = tabs[0];
        else if (e.key === "End") next = tabs[tabs.length - 1];
        if (next) {
          e.preventDefault();
          this.selectTab(next);
          next.focus();
        }
      });
    });
    const input = $("chat-input");
    $("chat-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendChat();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendChat();
      }
    });
    input.addEventListener("input", () => {
      input.style.height = "auto";
      input.style.height = `${Math.min(140, input.scrollHeight + 2)}px`;
      this.typing(input.value.trim() !== "");
    });
    input.addEventListener("blur", () => this.typing(false));
    window.addEventListener("online", () => {
      if (this.joined && !this.welcomed) this.reconnectNow();
    });
    window.addEventListener("pagehide", () => {
      if (this.ws) this.ws.close(1000, "page closed");
    });
  }

  selectTab(tab) {
    for (const t of document.querySelectorAll("[role=tab]")) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    }
    if (tab.id === "tab-chat") {
      this.unread = 0;
      this.refreshUnread();
      this.scrollChat();
    }
  }

  openSettings(opener, focus) {
    const dialog = $("settings-dialog");
    this.dialogOpener = opener || null;
    this.listDevices();
    dialog.showModal();
    const target = focus === "background" ? document.querySelector("input[name=background]:checked") : $("camera-select");
    if (target) target.focus();
  }

  // ---------------------------------------------------------------- joining and leaving

  async join() {
    if (this.joined) return;
    $("join").disabled = true;
    $("join").textContent = "Joining…";
    await this.ready;
    this.joined = true;
    this.meter.resume();
    $("check").hidden = true;
    $("call").hidden = false;
    $("settings-slot").append($("devices"), $("backgrounds"));
    this.refreshSelf();
    this.refreshButtons();
    this.renderPeople();
    this.refreshStage();
    this.selectTab($("tab-chat"));
    this.downSince = Date.now();
    this.notice("info", "Connecting to the room…");
    this.connect();
    this.heartbeat = setInterval(() => this.beat(), 5000);
    $("btn-mic").focus();
    announce("You joined the room");
  }

  leave() {
    this.stopped = true;
    this.shutdown();
    window.location.assign(boot.chat_url);
  }

  shutdown() {
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "left");
    }
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const track of [this.media.mic, this.media.camera, this.media.screen]) if (track) track.stop();
    this.effects.stop();
  }

  // A state the room can't recover from: closed, not allowed, signed out.
  fatal(kind, message) {
    if (this.stopped) return;
    this.stopped = true;
    this.shutdown();
    if ($("settings-dialog").open) $("settings-dialog").close();
    const titles = { closed: "This room has closed", forbidden: "You can't enter this room", signedout: "You're signed out" };
    $("check").hidden = true;
    $("call").hidden = true;
    $("ended").hidden = false;
    $("ended-title").textContent = titles[kind] || "The room stopped";
    $("ended-text").textContent = message;
    const rejoin = $("ended-rejoin");
    if (kind === "signedout") {
      rejoin.textContent = "Sign in";
      rejoin.href = `/login?next=${encodeURIComponent(window.location.pathname)}`;
    } else {
      rejoin.hidden = kind !== "other";
    }
    $("timer").hidden = kind === "closed";
    $("ended-title").focus();
  }

  // ---------------------------------------------------------------- the WebSocket, with reconnects

  async connect() {
    if (this.stopped || this.connecting) return;
    clearTimeout(this.retryTimer);
    if (!this.token || Date.now() - this.tokenAt > TOKEN_MAX_AGE_MS) {
      this.connecting = true;
      let outcome;
      try {
        outcome = await this.fetchToken();
      } finally {
        this.connecting = false;
      }
      if (outcome !== "ok") {
        if (outcome === "retry") this.scheduleReconnect();
        return;
      }
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${window.location.host}${boot.ws}?token=${encodeURIComponent(this.token)}`;
    this.token = null;  // each socket gets a fresh token
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      this.refusals = 0;
      this.helloSeq = this.contiguous;
      ws.send(JSON.stringify({ type: "hello", v: 1, conn: this.connId, last_seq: this.contiguous }));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastRx = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onFrame(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;  // an old socket we replaced
      this.ws = null;
      // A refusal before the socket opens reaches the browser as a plain failure (code 1006), not as
      // 4401/4403/4409: the token request just before it already said what those would (and didn't).
      if (!opened) this.refusals += 1;
      this.onClose(event.code, event.reason);
    };
  }

  async fetchToken() {
    let response;
    try {
      response = await fetch(boot.token_url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    } catch {
      return "retry";
    }
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    if (response.ok && body && body.token) {
      this.token = body.token;
      this.tokenAt = Date.now();
      return "ok";
    }
    const message = body && body.error ? body.error.message : "";
    if (response.status === 401) this.fatal("signedout", message || "Sign in again to rejoin the room.");
    else if (response.status === 409) this.fatal("closed", message || "This chat is over and its room has closed.");
    else if (response.status === 403 || response.status === 404) this.fatal("forbidden", message || "Only the two people of this chat can enter its room.");
    else return "retry";
    return "fatal";
  }

  onClose(code, reason) {
    this.welcomed = false;
    if (this.stopped) return;
    if (this.downSince === null) this.downSince = Date.now();
    if (code === 4409) {
      // At the handshake the reason is the server's sentence; later an error frame said it just before.
      const said = this.closeMessage || (reason && reason !== "room closed" ? reason : "");
      this.fatal("closed", said || "This chat is over and its room has closed.");
      return;
    }
    if (code === 4403) {
      this.fatal("forbidden", reason === "origin not allowed" || !reason
        ? "This page isn't allowed to open the room. Open it again with the Join button of your chat."
        : reason);
      return;
    }
    if (code === 4401) {
      this.authFailures += 1;
      if (this.authFailures >= 3) {
        this.fatal("signedout", "Your sign-in has expired. Sign in again, then rejoin the room.");
        return;
      }
    }
    this.scheduleReconnect();
  }

  // Exponential backoff with jitter: 0.25 s, 0.5 s, 1 s, 2 s … at most 15 s between tries.
  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const delay = Math.min(15000, 250 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.nextTry = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.refreshBanner();
  }

  reconnectNow() {
    this.attempt = 0;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.connect();
  }

  beat() {
    if (this.stopped) return;
    if (this.welcomed) {
      if (Date.now() - this.lastRx > 35000 && this.ws) {
        // Nothing heard for a long time: the socket is dead even if the browser hasn't noticed.
        const ws = this.ws;
        this.ws = null;
        ws.close();
        this.onClose(1006, "");
        return;
      }
      if (Date.now() - this.lastRx > 15000) this.send({ type: "ping" });
    }
    this.expireTypers();
    this.checkOutbox();
    this.refreshBanner();
  }

  send(msg) {
    if (!this.ws || !this.welcomed || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  onFrame(msg) {
    switch (msg.type) {
      case "welcome": this.onWelcome(msg); break;
      case "event": this.ingest(msg); break;
      case "ack": this.onAck(msg); break;
      case "signal": {
        const peer = this.peers.get(msg.from);
        if (peer) peer.onSignal(msg.data);  // signals from connections not (or no longer) present are stale
        break;
      }
      case "typing": this.onTyping(msg); break;
      case "media": this.onMedia(msg); break;
      case "error": this.onError(msg); break;
      default: break;  // pong, or something newer than this page
    }
  }

  onWelcome(msg) {
    this.welcomed = true;
    this.everWelcomed = true;
    this.attempt = 0;
    this.authFailures = 0;
    this.downSince = null;
    this.epoch += 1;
    this.welcomeSeq = msg.seq;
    this.iceServers = msg.ice_servers || [];
    this.roster = new Map(msg.peers.map((p) => [p.conn, p]));
    for (const [conn, peer] of this.peers) {
      if (!this.roster.has(conn)) this.dropPeer(conn);
      else if (peer.pc) peer.pc.setConfiguration({ iceServers: this.iceServers });
    }
    for (const conn of this.roster.keys()) this.ensurePeer(conn, true);  // we are the newcomer: we offer
    this.ingest({ seq: msg.seq, kind: "presence", author: this.me, body: { state: "joined", conn: this.connId }, own: true });
    this.sendMedia();
    for (const [clientId, item] of this.outbox) {
      this.send({ type: "chat", client_id: clientId, text: item.text });  // same client_id: never stored twice
      item.sentAt = Date.now();
    }
    if (this.epoch > 1) setTimeout(() => this.repairPeers(), 2000);
    this.refreshBanner();
    this.refreshStage();
    this.renderPeople();
  }

  // After a reconnect: calls that were mid-negotiation when the socket dropped lost a message; start them over.
  repairPeers() {
    for (const peer of this.peers.values()) {
      const pc = peer.pc;
      if (!pc || peer.epoch === this.epoch || pc.signalingState === "closed") continue;
      if (pc.signalingState !== "stable" || pc.connectionState !== "connected") {
        peer.kick();
        peer.armTimeout();
      }
    }
  }

  ensurePeer(conn, initiator) {
    if (this.peers.has(conn) || !this.roster.has(conn)) return;
    if (this.roster.get(conn).user_id === this.me.id) return;  // our own other tab: no call with ourselves
    const peer = new Peer(this, this.roster.get(conn), this.epoch, initiator);
    this.peers.set(conn, peer);
    const tiles = $("tiles");
    if (peer.info.user_id === OTHER_ID) tiles.prepend(peer.tile);
    else tiles.append(peer.tile);
    const media = this.peerMedia.get(conn);
    if (media) peer.setMedia(media);
    peer.start();
  }

  dropPeer(conn) {
    const peer = this.peers.get(conn);
    if (peer) peer.close();
    this.peers.delete(conn);
  }

  // ---------------------------------------------------------------- the conversation log

  // Events carry gap-free numbers; apply each once and in order, asking for a replay when one is missing.
  ingest(event) {
    if (event.seq <= this.contiguous || this.early.has(event.seq)) return;
    this.early.set(event.seq, event);
    while (this.early.has(this.contiguous + 1)) {
      const next = this.early.get(this.contiguous + 1);
      this.early.delete(this.contiguous + 1);
      this.contiguous += 1;
      this.apply(next);
    }
    clearTimeout(this.gapTimer);
    if (this.early.size) {
      this.gapTimer = setTimeout(() => {
        if (this.early.size) this.send({ type: "resume", after: this.contiguous });
      }, 1500);
    }
  }

  apply(event) {
    if (event.kind === "message") this.showMessage(event);
    else if (event.kind === "presence") this.onPresence(event);
  }

  onPresence(event) {
    const body = event.body || {};
    if (event.own || !body.conn) return;
    const live = event.seq > this.welcomeSeq;
    if (!live) {
      // Missed while our socket was away (this tab's earlier history is not "missed").
      if (event.seq <= this.helloSeq || this.epoch <= 1 || body.state !== "left") return;
      if (body.conn === this.connId) {
        // The server gave up on us and said we left: everyone dropped their call with us; start fresh ones.
        for (const conn of [...this.peers.keys()]) {
          if (this.peers.get(conn).epoch < this.epoch) {
            this.dropPeer(conn);
            this.ensurePeer(conn, true);
          }
        }
      } else if (this.peers.has(body.conn) && this.peers.get(body.conn).epoch < this.epoch) {
        this.dropPeer(body.conn);  // it left and came back while we were away: a fresh call
        this.ensurePeer(body.conn, true);
      }
      return;
    }
    if (body.conn === this.connId) return;
    const name = body.name || (event.author && event.author.name) || "Someone";
    // The same person in another tab (or a reload): one line in the chat is enough.
    const alsoHere = [...this.roster.values()].some((p) => p.user_id === body.user_id && p.conn !== body.conn);
    if (body.state === "joined") {
      this.roster.set(body.conn, { conn: body.conn, user_id: body.user_id, name, role: body.role });
      this.ensurePeer(body.conn, false);  // the newcomer offers; we answer
      this.leftName = null;
      this.sendMedia();  // tell the newcomer how our camera and microphone are
      if (!alsoHere) {
        this.systemLine(`${name} joined`);
        announce(`${name} joined the room`);
      }
    } else if (body.state === "left") {
      this.roster.delete(body.conn);
      this.peerMedia.delete(body.conn);
      this.dropPeer(body.conn);
      this.typers.delete(body.conn);
      this.renderTyping();
      if (!alsoHere) {
        this.systemLine(`${name} left`);
        announce(`${name} left the room`);
        this.leftName = name;
      }
    }
    this.renderPeople();
    this.refreshStage();
  }

  onMedia(msg) {
    const media = { mic: !!msg.mic, cam: !!msg.cam, screen: !!msg.screen, blur: !!msg.blur };
    const before = this.peerMedia.get(msg.conn);
    this.peerMedia.set(msg.conn, media);
    const peer = this.peers.get(msg.conn);
    if (peer) peer.setMedia(media);
    if (before && peer && before.screen !== media.screen) {
      announce(media.screen ? `${peer.info.name} is sharing their screen` : `${peer.info.name} stopped sharing their screen`);
    }
    this.renderPeople();
  }

  onError(msg) {
    if (msg.code === "room_closed") {
      this.closeMessage = msg.message;  // shown when the close (4409) that follows arrives
      return;
    }
    const item = msg.client_id ? this.outbox.get(msg.client_id) : null;
    if (item && (msg.code === "busy" || msg.code === "rate_limited")) {
      // Nothing was stored. After a growing, jittered pause every unsent line goes again, oldest first (same
      // client_ids: never stored twice); the server takes a person's lines only in the order they were typed.
      item.li.querySelector(".state").textContent = msg.code === "busy" ? "Busy, sending again…" : "Waiting to send…";
      if (this.resendTimer) return;
      this.resendTries = (this.resendTries || 0) + 1;
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
    if (item && (msg.code === "too_long" || msg.code === "empty_message" || msg.code === "invalid_message")) {
      item.li.classList.add("failed");
      item.li.querySelector(".state").textContent = `Not sent: ${msg.message}`;
      this.outbox.delete(msg.client_id);
      return;
    }
    if (msg.code === "rate_limited" || msg.code === "too_long" || msg.code === "empty_message") {
      this.chatNotice(`Not sent: ${msg.message}`);
    } else {
      console.warn("room error", msg.code, msg.message);
    }
  }

  // ---------------------------------------------------------------- chat

  sendChat() {
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text) return;
    if (text.length > 4000) {
      this.chatNotice("Messages are limited to 4000 characters.");
      return;
    }
    const clientId = newId();
    const li = this.messageItem({ mine: true, name: "You", text, meta: "Sending…" });
    li.classList.add("pending");
    li.dataset.clientId = clientId;
    $("messages").append(li);
    this.outbox.set(clientId, { text, li, sentAt: Date.now() });
    this.send({ type: "chat", client_id: clientId, text });
    input.value = "";
    input.style.height = "auto";
    this.typing(false);
    $("chat-empty").hidden = true;
    this.scrollChat(true);
  }

  onAck(msg) {
    const item = this.outbox.get(msg.client_id);
    if (!item) return;
    this.resendTries = 0;
    this.ingest({
      seq: msg.seq, kind: "message", author: { id: this.me.id, name: this.me.name, role: this.me.role },
      body: { text: item.text }, at: new Date(serverNow()).toISOString(), client_id: msg.client_id,
    });
  }

  // Unacknowledged for 10 s while connected: say so, and offer a retry (same client_id).
  checkOutbox() {
    for (const [clientId, item] of this.outbox) {
      if (this.welcomed && Date.now() - item.sentAt > 10000 && !item.li.classList.contains("failed")) {
        item.li.classList.add("failed");
        const state = item.li.querySelector(".state");
        state.textContent = "Not sent yet";
        state.after(el("button", {
          type: "button", class: "linkish small", text: "Retry",
          onclick: (e) => {
            e.currentTarget.remove();
            item.li.classList.remove("failed");
            state.textContent = "Sending…";
            item.sentAt = Date.now();
            this.send({ type: "chat", client_id: clientId, text: item.text });
          },
        }));
      }
    }
  }

  messageItem({ mine, name, text, meta, at }) {
    const time = at ? timeFormat.format(new Date(at)) : "";
    return el(
      "li",
      { class: mine ? "msg mine" : "msg" },
      el("div", { class: "meta" }, el("strong", { text: name }), el("span", { class: "state", text: meta || time })),
      el("p", { class: "text", text }),
    );
  }

  showMessage(event) {
    const mine = event.author && event.author.id === this.me.id;
    if (mine && event.client_id && this.outbox.has(event.client_id)) {
      this.outbox.get(event.client_id).li.remove();
      this.outbox.delete(event.client_id);
    }
    const name = mine ? "You" : (event.author && event.author.name) || "Someone";
    const li = this.messageItem({ mine, name, text: (event.body && event.body.text) || "", at: event.at });
    li.dataset.seq = String(event.seq);
    const list = $("messages");
    const pending = list.querySelector("li.pending");
    list.insertBefore(li, pending);  // in seq order, above messages still being sent
    $("chat-empty").hidden = true;
    if (!mine) {
      const chatHidden = $("panel-chat").hidden || $("call").hidden;
      if (chatHidden && event.seq > this.welcomeSeq) {
        this.unread += 1;
        this.refreshUnread();
      }
      this.typers.delete(event.conn);
    }
    this.scrollChat(mine);
  }

  systemLine(text) {
    $("messages").insertBefore(el("li", { class: "sysmsg", text }), $("messages").querySelector("li.pending"));
    this.scrollChat();
  }

  chatNotice(text) {
    const li = el("li", { class: "sysmsg", role: "alert", text });
    $("messages").append(li);
    this.scrollChat(true);
  }

  scrollChat(force) {
    const list = $("messages");
    if (force || list.scrollHeight - list.scrollTop - list.clientHeight < 120) list.scrollTop = list.scrollHeight;
  }

  refreshUnread() {
    const badge = $("unread");
    badge.hidden = this.unread === 0;
    badge.textContent = String(this.unread);
    badge.setAttribute("aria-label", `${this.unread} unread`);
  }

  typing(active) {
    clearTimeout(this.typingIdle);
    if (active) {
      if (!this.typingActive || Date.now() - this.typingSent > 3000) {
        this.send({ type: "typing", active: true });
        this.typingSent = Date.now();
      }
      this.typingActive = true;
      this.typingIdle = setTimeout(() => this.typing(false), 4000);
    } else if (this.typingActive) {
      this.typingActive = false;
      this.send({ type: "typing", active: false });
    }
  }

  onTyping(msg) {
    if (msg.active) this.typers.set(msg.conn, { name: msg.name, until: Date.now() + 6000 });
    else this.typers.delete(msg.conn);
    this.renderTyping();
    clearTimeout(this.typerTimer);
    this.typerTimer = setTimeout(() => this.expireTypers(), 6100);
  }

  expireTypers() {
    let changed = false;
    for (const [conn, t] of this.typers) {
      if (t.until < Date.now()) {
        this.typers.delete(conn);
        changed = true;
      }
    }
    if (changed) this.renderTyping();
  }

  renderTyping() {
    const names = [...new Set([...this.typers.values()].map((t) => t.name))];
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length > 1) text = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`;
    $("typing").textContent = text;
  }

  // ---------------------------------------------------------------- people, stage, banner, countdown

  renderPeople() {
    const list = $("people");
    if (!list) return;
    const entries = [{ user_id: this.me.id, name: this.me.name, role: this.me.role, media: this.mediaState(), me: true }];
    const seen = new Set([this.me.id]);
    for (const info of this.roster.values()) {
      if (seen.has(info.user_id)) continue;  // the same person in two tabs is listed once
      seen.add(info.user_id);
      entries.push({ ...info, media: this.peerMedia.get(info.conn) || null });
    }
    list.replaceChildren(...entries.map((p) => {
      const state = el("span", { class: "pstate" });
      if (p.media) {
        const micText = p.media.mic ? "microphone on" : "microphone off";
        const camText = p.media.cam ? "camera on" : "camera off";
        state.append(
          el("span", { class: p.media.mic ? "" : "off", title: micText }, icon(p.media.mic ? "i-mic" : "i-mic-off"), el("span", { class: "sr-only", text: micText })),
          el("span", { class: p.media.cam ? "" : "off", title: camText }, icon(p.media.cam ? "i-cam" : "i-cam-off"), el("span", { class: "sr-only", text: camText })),
        );
        if (p.media.screen) state.append(el("span", { title: "sharing screen" }, icon("i-screen"), el("span", { class: "sr-only", text: "sharing screen" })));
      }
      return el(
        "li",
        { dataset: { userId: String(p.user_id) } },
        el("span", { class: "avatar", "aria-hidden": "true", text: (p.name || "?").slice(0, 1) }),
        el("span", { class: "pname" }, el("strong", { text: p.me ? `${p.name} (you)` : p.name }), el("span", { class: "muted small", text: roleLabel(p.role) })),
        state,
      );
    }));
    $("people-count").textContent = String(entries.length);
  }

  refreshStage() {
    const hasPeers = this.peers.size > 0;
    $("waiting").hidden = hasPeers;
    if (!hasPeers) {
      const start = Date.parse(boot.starts_at);
      let text = `Waiting for ${OTHER_NAME} to join…`;
      if (this.leftName) text = `${this.leftName} left the room. They can come back with the same Join link; stay here or leave.`;
      else if (serverNow() < start) text = `Waiting for ${OTHER_NAME} to join. Your chat starts at ${zonedTimeFormat.format(new Date(start))}.`;
      $("waiting-text").textContent = text;
    }
  }

  notice(kind, text, action, onAction) {
    this.noticeState = text ? { kind, text, action, onAction, at: Date.now() } : null;
    this.refreshBanner();
  }

  // One line above the video says what is wrong, in words, with a button when there is something to do.
  refreshBanner() {
    const banner = $("banner");
    let kind = null;
    let text = "";
    let action = null;
    let onAction = null;
    if (this.joined && !this.welcomed && !this.stopped) {
      const down = Date.now() - (this.downSince || Date.now());
      if (down > CONNECT_TIMEOUT_MS) {
        kind = "error";
        const wait = Math.max(0, Math.round(((this.nextTry || Date.now()) - Date.now()) / 1000));
        text = this.everWelcomed
          ? `We lost the connection to the room server. Check your internet connection; we try again${wait ? ` in ${wait} s` : " now"}.`
          : `We can't reach the room server. Check your internet connection; we try again${wait ? ` in ${wait} s` : " now"}.`;
        action = "Try now";
        onAction = () => this.reconnectNow();
        if (this.refusals >= 3 && navigator.onLine !== false) {
          // The site answers (the token came) but the live connection is refused: a proxy without
          // WebSocket support, or a page opened from another address.
          text = "The server refuses the room's live connection. Reload the page; if that doesn't help, use Need help?.";
          action = "Reload";
          onAction = () => window.location.reload();
        }
      } else {
        kind = "info";
        text = this.everWelcomed ? "Reconnecting to the room… Your call continues meanwhile if it can." : "Connecting to the room…";
      }
    } else if ([...this.peers.values()].some((p) => p.failed)) {
      kind = "error";
      text = "The video couldn't connect. See the message on the video for what to try.";
    } else if (this.noticeState) {
      ({ kind, text, action, onAction } = this.noticeState);
      if (kind === "info" && Date.now() - this.noticeState.at > 10000) {
        this.noticeState = null;
        kind = null;
      }
      if (this.noticeState && this.noticeState.text === "Connecting to the room…" && this.welcomed) {
        this.noticeState = null;
        kind = null;
      }
    }
    banner.hidden = !kind;
    if (!kind) return;
    banner.className = `banner ${kind}`;
    banner.setAttribute("role", kind === "error" ? "alert" : "status");
    if ($("banner-text").textContent !== text) $("banner-text").textContent = text;
    const button = $("banner-action");
    button.hidden = !action;
    button.textContent = action || "";
    button.onclick = onAction || null;
  }

  startCountdown() {
    const timer = $("timer");
    const start = Date.parse(boot.starts_at);
    const end = Date.parse(boot.ends_at);
    const closes = Date.parse(boot.closes_at);
    if (!start || !end) return;
    timer.hidden = false;
    const tick = () => {
      const now = serverNow();
      timer.classList.remove("warn", "over");
      if (now < start) {
        timer.textContent = `Starts in ${duration(start - now)}`;
      } else if (now < end) {
        const left = end - now;
        timer.textContent = `${duration(left)} left`;
        if (left <= 5 * 60000) {
          timer.classList.add("warn");
          if (!this.warned) {
            this.warned = true;
            const minutes = Math.max(1, Math.ceil(left / 60000));
            const text = minutes >= 5 ? "5 minutes left in this chat." : `${minutes} ${minutes === 1 ? "minute" : "minutes"} left in this chat.`;
            announce(text);
            if (this.joined) this.notice("info", text);
          }
        }
      } else {
        timer.classList.add("over");
        timer.textContent = "Time's up";
        if (!this.ended) {
          this.ended = true;
          const text = `Your time slot has ended. The room closes at ${zonedTimeFormat.format(new Date(closes))}.`;
          announce(text);
          if (this.joined) this.notice("info", text);
        }
      }
      timer.title = `Chat ends at ${zonedTimeFormat.format(new Date(end))}`;
    };
    tick();
    setInterval(tick, 1000);
  }
}

// ------------------------------------------------------------------------------------------ Need help?

// The event's support chat in a drawer beside the call: a non-modal dialog, so the call's controls stay usable, holding
// an iframe of /events/{id}/support?embed=1 (the candidate chat panel in its "event" mode, loaded on first open). The
// frame and this page speak the widget's postMessage protocol, same origin only: we tell it whether it is shown and our
// URL; it asks to close (Escape inside it) and counts replies that arrive while the drawer is closed.
function setupHelp() {
  const open = $("help-open");
  const dialog = $("help-dialog");
  const frame = $("help-frame");
  if (!open || !dialog || !frame) return;
  const badge = $("help-unread");
  const tell = (shown) => {
    if (frame.contentWindow && frame.dataset.loaded) {
      frame.contentWindow.postMessage({ fairmeet: 1, type: "host", open: shown, url: window.location.href }, window.location.origin);
    }
  };
  const setUnread = (n) => {
    badge.textContent = String(n);
    badge.hidden = !n;
    open.setAttribute("aria-label", n ? `Need help? ${n} new ${n === 1 ? "message" : "messages"}` : "Need help?");
  };
  const load = () => {
    if (frame.src) return;
    frame.addEventListener("load", () => {
      frame.dataset.loaded = "1";
      if (dialog.open && dialog.contains(document.activeElement)) frame.focus();  // the panel then focuses its first control
      tell(dialog.open);
    }, { once: true });
    frame.src = frame.dataset.src;
  };
  const show = () => {
    load();
    dialog.show();
    open.setAttribute("aria-expanded", "true");
    setUnread(0);
    if (frame.dataset.loaded) {
      frame.focus();
      tell(true);
    } else {
      $("help-close").focus();
    }
  };
  const hide = () => {
    if (!dialog.open) return;
    dialog.close();
  };
  dialog.addEventListener("close", () => {
    open.setAttribute("aria-expanded", "false");
    tell(false);
    open.focus();
  });
  open.addEventListener("click", () => (dialog.open ? hide() : show()));
  $("help-close").addEventListener("click", hide);
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      hide();
    }
  });
  window.addEventListener("message", (e) => {
    if (e.source !== frame.contentWindow || e.origin !== window.location.origin) return;
    const msg = e.data;
    if (!msg || msg.fairmeet !== 1) return;
    if (msg.type === "close") hide();
    else if (msg.type === "unread" && Number.isInteger(msg.n) && msg.n >= 0) setUnread(dialog.open ? 0 : Math.min(msg.n, 99));
    else if (msg.type === "ready") tell(dialog.open);
  });
  // A support chat already going in this tab (candidate.js keeps its token in sessionStorage): run the panel at once,
  // closed, so that replies count on the button after a reload too.
  const saved = `fairmeet-event-support-${(frame.dataset.src.match(/^\/events\/(\d+)\//) || [])[1]}-`;
  try {
    if (Object.keys(sessionStorage).some((key) => key.startsWith(saved))) load();
  } catch { /* no storage: the panel loads when opened */ }
}

// ------------------------------------------------------------------------------------------ start

setupHelp();
const room = new Room();
window.fairmeetRoom = room;  // for debugging, and for the end-to-end tests
room.init();
