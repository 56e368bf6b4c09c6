// The job req form's helpers (staff_job_edit.html): rows added in place, hours on/off, copy the embed code.

import { $ } from "./console_util.js";

// ------------------------------------------------------------------------------------------ job req form

function enhanceJobForm(form) {
  form.classList.add("js");
  for (const button of form.querySelectorAll("[data-add]")) {
    const box = button.parentElement;
    const rows = box.querySelector("[data-rows]");
    const count = box.querySelector("[data-count]");
    const template = box.querySelector("template[data-template]");
    if (!rows || !count || !template) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      const n = Number.parseInt(count.value, 10) || 0;
      const holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replaceAll("__N__", String(n)).replaceAll("__M__", String(n + 1));  // our own markup only
      const row = holder.firstElementChild;
      rows.append(row);
      count.value = String(n + 1);
      const first = row.querySelector("input, textarea, select");
      if (first) first.focus();
    });
  }
  const hours = form.querySelector("fieldset.hours");
  const hoursOff = () => {
    const always = form.querySelector('input[name="hours_on"][value="0"]');
    if (!hours || !always) return;
    hours.classList.toggle("off", always.checked);
    // Unused hours are disabled, not only dimmed: a screen reader says so, and they are not posted (the server ignores them).
    for (const el of hours.querySelectorAll(".hourstable input, select[name=hours_tz]")) el.disabled = always.checked;
  };
  hoursOff();
  form.addEventListener("change", (e) => {
    const target = e.target;
    if (target.name === "hours_on") hoursOff();
    if (target.matches("[data-kind-select]")) target.closest("[data-row]").dataset.kind = target.value;
    if (target.matches("[data-remove]")) target.closest("[data-row]").classList.toggle("removing", target.checked);
  });
}

export function enhanceJobPage() {
  const form = document.querySelector("[data-jobform]");
  if (form) enhanceJobForm(form);
  const copy = document.querySelector("[data-copy]");
  const source = document.querySelector("[data-copy-source]");
  if (copy && source && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", async () => {
      const status = document.querySelector("[data-copy-status]");
      try {
        await navigator.clipboard.writeText(source.value);
        status.textContent = "Copied.";
      } catch {
        source.select();
        status.textContent = "Select it and copy with Ctrl+C.";
      }
    });
  }
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => {
      if (!window.confirm(f.dataset.confirm)) e.preventDefault();
    });
  }
  const error = $("form-error");
  if (error) error.focus();
}
