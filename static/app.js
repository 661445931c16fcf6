// Guildhall's own script: small helpers on top of htmx (dialogs, focus, column widths, upload
// progress). Loaded from 'self' under the strict CSP; every page works without it.
"use strict";

// htmx fills `event.detail` differently per event and per case (a history restore has no
// target, a request may come from a non-element): handlers read it only through these, so no
// page ever raises a script error.
function detailOf(event) {
  return (event && event.detail) || {};
}

function elementOr(value) {
  return value instanceof Element ? value : null;
}

// After a form comes back with errors (422), move focus to its first invalid field so keyboard
// and screen-reader users land on what needs fixing.
document.addEventListener("htmx:afterSettle", (event) => {
  const xhr = detailOf(event).xhr;
  if (xhr && xhr.status === 422) {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }
});

// A swap that took away the focused control (an Add button whose row is gone) leaves focus on
// what the new content marks with data-focus-after-swap (its status message), not on the page.
document.addEventListener("htmx:afterSettle", () => {
  if (document.activeElement && document.activeElement !== document.body) return;
  const next = document.querySelector("[data-focus-after-swap]");
  if (next) {
    next.removeAttribute("data-focus-after-swap");
    next.focus();
  }
});

// Dialogs: htmx puts a <dialog data-modal> into #modal-root; open it as a modal (the browser
// traps focus and closes it on Escape), and give focus back to what opened it afterwards.
let dialogOpener = null;

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = elementOr(detailOf(event).elt);
  if (elt && elt.getAttribute("hx-target") === "#modal-root") dialogOpener = elt;
});

function restoreFocus() {
  if (dialogOpener && document.contains(dialogOpener) && dialogOpener.focus) dialogOpener.focus();
  dialogOpener = null;
}

document.addEventListener("htmx:afterSettle", () => {
  const dialog = document.querySelector("#modal-root dialog[data-modal]:not([open])");
  if (!dialog) return;
  dialog.addEventListener("close", () => { dialog.remove(); restoreFocus(); });
  try {
    dialog.showModal();
  } catch {
    // Not a modal-capable <dialog> (an old browser): show it in place.
    dialog.setAttribute("open", "");
  }
  const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
});

document.addEventListener("htmx:afterSwap", (event) => {
  // A dialog closed by the server (its root emptied) gives focus back too. A history restore
  // swaps without a target.
  const target = elementOr(detailOf(event).target);
  if (target && target.id === "modal-root" && !target.querySelector("dialog")) restoreFocus();
});

document.addEventListener("click", (event) => {
  const origin = elementOr(event.target);
  const closer = origin && origin.closest("[data-close-dialog]");
  const dialog = closer && closer.closest("dialog");
  if (dialog) {
    event.preventDefault();
    dialog.close();
  }
});

// Resizable columns: drag the right edge of a header cell; widths are kept per table in the
// browser's local storage.
function storedWidths(table) {
  try {
    const widths = JSON.parse(localStorage.getItem("guildhall.columns." + table.id) || "{}");
    return widths && typeof widths === "object" ? widths : {};
  } catch {
    return {};
  }
}

function setupResizable(table) {
  if (table.dataset.resizeReady) return;
  table.dataset.resizeReady = "true";
  const widths = storedWidths(table);
  table.querySelectorAll("thead th[data-col]").forEach((th) => {
    const key = th.dataset.col;
    if (widths[key]) th.style.width = widths[key] + "px";
    const handle = document.createElement("span");
    handle.className = "col-resizer";
    handle.setAttribute("aria-hidden", "true");
    th.appendChild(handle);
    handle.addEventListener("pointerdown", (down) => {
      down.preventDefault();
      const startX = down.clientX;
      const startWidth = th.getBoundingClientRect().width;
      handle.setPointerCapture(down.pointerId);
      const move = (e) => { th.style.width = Math.max(48, startWidth + e.clientX - startX) + "px"; };
      const up = () => {
        handle.removeEventListener("pointermove", move);
        const saved = storedWidths(table);
        saved[key] = Math.round(th.getBoundingClientRect().width);
        // Storage may be full or turned off: the width then lasts until the next page.
        try { localStorage.setItem("guildhall.columns." + table.id, JSON.stringify(saved)); } catch { /* kept for this page only */ }
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up, { once: true });
    });
  });
}

function setupAllResizable() {
  document.querySelectorAll("table[data-resizable][id]").forEach(setupResizable);
}
document.addEventListener("DOMContentLoaded", setupAllResizable);
document.addEventListener("htmx:afterSettle", setupAllResizable);

// Upload progress for file forms (the sales import): bytes sent, then "checking" until the
// server answers.
document.addEventListener("htmx:xhr:progress", (event) => {
  const detail = detailOf(event);
  const elt = elementOr(detail.elt);
  const bar = elt && elt.querySelector("progress");
  if (bar && detail.lengthComputable && detail.total > 0) {
    bar.value = Math.round((detail.loaded / detail.total) * 100);
  }
});

// A key shown once: "Copy the key" (hidden without JavaScript, where the read-only field is
// selected and copied by hand) copies it and says so.
document.querySelectorAll("[data-copy-from]").forEach((button) => {
  const field = document.getElementById(button.getAttribute("data-copy-from"));
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    field.select();
    navigator.clipboard.writeText(field.value).then(() => {
      const status = document.getElementById("copy-status");
      if (status) status.textContent = "The key was copied.";
      button.textContent = "Copied";
    });
  });
});
document.querySelectorAll("input.key-value[readonly]").forEach((field) => {
  field.addEventListener("focus", () => field.select());
  if (document.activeElement === field) field.select();
});

// A region that polls (a running walk of the audit log) stops when a poll is refused: the
// error is said once, and the last progress stays with its Refresh link.
document.addEventListener("htmx:responseError", (event) => {
  const polling = event.detail.elt;
  if (!polling || !polling.hasAttribute("data-stops-on-error")) return;
  const still = polling.cloneNode(true);
  ["hx-get", "hx-trigger", "hx-swap", "data-stops-on-error"].forEach((name) => still.removeAttribute(name));
  polling.replaceWith(still);
});
