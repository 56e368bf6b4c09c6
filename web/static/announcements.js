// Announcements on event pages can be hidden; the choice is remembered in this browser only (H2 event ops).
const KEY = "fairmeet.hiddenAnnouncements";

function hidden() {
  try {
    return new Set(JSON.parse(localStorage.getItem(KEY) || "[]"));
  } catch {
    return new Set();
  }
}

const gone = hidden();
for (const item of document.querySelectorAll("[data-announcement]")) {
  const id = item.dataset.announcement;
  if (gone.has(id)) {
    item.remove();
    continue;
  }
  const button = item.querySelector(".announce-close");
  if (!button) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    const now = hidden();
    now.add(id);
    try {
      localStorage.setItem(KEY, JSON.stringify([...now].slice(-200)));
    } catch {
      // storage full or blocked: hiding lasts until the page reloads
    }
    const next = item.nextElementSibling || item.previousElementSibling;
    const section = item.parentElement;
    item.remove();
    if (section && !section.querySelector("[data-announcement]")) section.remove();
    else if (next) next.querySelector("button")?.focus();
  });
}
for (const section of document.querySelectorAll(".announcements")) {
  if (!section.querySelector("[data-announcement]")) section.remove();
}
