// Time on pages, in the browser: a waiting Join button becomes the primary action when its room opens.
// The server rendered the button from its own clock (data-server-now); the offset to this device's clock is
// applied, so a device whose clock is wrong still flips at the right moment. Pages work without this script:
// a reload shows the same state.

const loadedAt = Date.now();

function flip(button) {
  button.classList.remove("join-wait");
  button.classList.add("primary");
  button.removeAttribute("data-opens-at");
  button.textContent = "Join";
}

for (const button of document.querySelectorAll("a.join[data-opens-at]")) {
  const opensAt = Date.parse(button.dataset.opensAt);
  const serverNow = Date.parse(button.dataset.serverNow);
  if (Number.isNaN(opensAt) || Number.isNaN(serverNow)) continue;
  const offset = serverNow - loadedAt;  // server time minus device time
  const check = () => {
    if (!button.dataset.opensAt) return true;
    if (Date.now() + offset >= opensAt) { flip(button); return true; }
    return false;
  };
  const wait = opensAt - (Date.now() + offset);
  if (wait <= 0) { flip(button); continue; }
  if (wait < 2 ** 31 - 1) setTimeout(check, wait + 50);
  // A sleeping tab's timer may fire late; look again whenever the page is shown.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) check(); });
}

// Length limits are the server's (scheduling/limits.py), and it refuses a text that is too long with a message that
// names the field. A maxlength attribute would make the browser cut a pasted text quietly instead; so here it becomes
// a visible count that appears near the limit and blocks the form while the text is too long.
for (const field of document.querySelectorAll("input[maxlength], textarea[maxlength]")) {
  const limit = Number(field.getAttribute("maxlength"));
  if (!limit || limit < 20 || field.type === "password") continue;
  field.removeAttribute("maxlength");
  field.dataset.limit = String(limit);
  const note = document.createElement("span");
  note.className = "lengthnote small";
  note.setAttribute("aria-live", "polite");
  note.hidden = true;
  (field.closest("label") || field).after(note);
  const describe = () => {
    const n = field.value.length;
    const over = n > limit;
    note.hidden = n < limit * 0.9;
    note.textContent = over ? `${n.toLocaleString("en")} characters: ${(n - limit).toLocaleString("en")} over the limit of ${limit.toLocaleString("en")}.`
      : `${n.toLocaleString("en")} of ${limit.toLocaleString("en")} characters.`;
    note.classList.toggle("over", over);
    field.setCustomValidity(over ? `This is limited to ${limit.toLocaleString("en")} characters; it has ${n.toLocaleString("en")}.` : "");
  };
  field.addEventListener("input", describe);
  describe();
}
