// Small progressive enhancements; every page works without JavaScript.

// Sign-in forms carry the browser's time zone so times show in the person's own zone.
for (const input of document.querySelectorAll("input[data-browser-tz]")) {
  try {
    input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    input.value = "";
  }
}

// Guard against double submits of action forms (a second click would hit an illegal transition).
for (const form of document.querySelectorAll("form[method=post]")) {
  form.addEventListener("submit", () => {
    for (const button of form.querySelectorAll("button[type=submit]")) {
      setTimeout(() => { button.disabled = true; }, 0);
    }
  });
}
