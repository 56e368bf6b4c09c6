// The console's alerts: a synthesized chime, desktop notifications, a flashing title.

// ------------------------------------------------------------------------------------------ alerts

export class Alerts {
  constructor(consoleApp) {
    this.app = consoleApp;
    this.audio = null;
    this.lastChime = 0;
    this.baseTitle = document.title;
    this.flashText = "";
    this.flashTimer = null;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.stopFlash();
    });
    window.addEventListener("focus", () => this.stopFlash());
    // Browsers only start audio after a gesture: the first click or key unlocks the chime.
    const unlock = () => this.unlockAudio();
    document.addEventListener("pointerdown", unlock, { once: true });
    document.addEventListener("keydown", unlock, { once: true });
  }

  unlockAudio() {
    try {
      if (!this.audio) this.audio = new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
    } catch {
      this.audio = null;
    }
  }

  // A short two-note chime, synthesized (no sound file).
  chime() {
    const now = Date.now();
    if (now - this.lastChime < 1500) return;
    this.lastChime = now;
    this.unlockAudio();
    const ctx = this.audio;
    if (!ctx) return;
    const t = ctx.currentTime + 0.02;
    [[0, 880], [0.17, 1318.5]].forEach(([offset, freq]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + offset);
      gain.gain.exponentialRampToValueAtTime(0.22, t + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.6);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + offset);
      osc.stop(t + offset + 0.65);
    });
    window.fairmeetConsoleChimes = (window.fairmeetConsoleChimes || 0) + 1;
  }

  async askPermission() {
    if (!("Notification" in window)) return "unsupported";
    if (Notification.permission !== "default") return Notification.permission;
    try {
      return await Notification.requestPermission();
    } catch {
      return Notification.permission;
    }
  }

  notify(title, body, chatId) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden && document.hasFocus()) return;
    try {
      const n = new Notification(title, { body, tag: chatId ? `live-${chatId}` : "live-queue" });
      n.onclick = () => {
        window.focus();
        if (chatId) this.app.select(chatId);
        n.close();
      };
    } catch {
      // Some browsers only allow notifications from a service worker; the chime and title still tell.
    }
  }

  flash(text) {
    if (!document.hidden) return;
    this.flashText = text;
    if (this.flashTimer) return;
    let on = false;
    this.flashTimer = setInterval(() => {
      on = !on;
      document.title = on ? this.flashText : this.baseTitle;
    }, 1000);
    document.title = text;
  }

  stopFlash() {
    if (this.flashTimer) clearInterval(this.flashTimer);
    this.flashTimer = null;
    document.title = this.baseTitle;
  }

  // One alert, by the seat's preferences.
  raise(title, body, chatId) {
    const agent = this.app.agent;
    if (agent.notify_sound) this.chime();
    if (agent.notify_desktop) this.notify(title, body, chatId);
    this.flash(`● ${title}`);
  }
}

// ------------------------------------------------------------------------------------------ the console

