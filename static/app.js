// Guildhall's own script: small helpers on top of htmx (dialogs, focus, column widths, upload
// progress). Loaded from 'self' under the strict CSP; every page works without it.
"use strict";

// After a form comes back with errors (422), move focus to its first invalid field so keyboard
// and screen-reader users land on what needs fixing.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.xhr && event.detail.xhr.status === 422) {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }
});

// Dialogs: htmx puts a <dialog data-modal> into #modal-root; open it as a modal (the browser
// traps focus and closes it on Escape), and give focus back to what opened it afterwards.
let dialogOpener = null;

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (elt.getAttribute && elt.getAttribute("hx-target") === "#modal-root") dialogOpener = elt;
});

function restoreFocus() {
  if (dialogOpener && document.contains(dialogOpener)) dialogOpener.focus();
  dialogOpener = null;
}

document.addEventListener("htmx:afterSettle", () => {
  const dialog = document.querySelector("#modal-root dialog[data-modal]:not([open])");
  if (!dialog) return;
  dialog.addEventListener("close", () => { dialog.remove(); restoreFocus(); });
  dialog.showModal();
  const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
});

document.addEventListener("htmx:afterSwap", (event) => {
  // A dialog closed by the server (its root emptied) gives focus back too.
  if (event.detail.target.id === "modal-root" && !event.detail.target.querySelector("dialog")) restoreFocus();
});

document.addEventListener("click", (event) => {
  const closer = event.target.closest("[data-close-dialog]");
  const dialog = closer && closer.closest("dialog");
  if (dialog) {
    event.preventDefault();
    dialog.close();
  }
});

// Resizable columns: drag the right edge of a header cell; widths are kept per table in the
// browser's local storage.
function storedWidths(table) {
  try { return JSON.parse(localStorage.getItem("guildhall.columns." + table.id) || "{}"); } catch { return {}; }
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
        localStorage.setItem("guildhall.columns." + table.id, JSON.stringify(saved));
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
  const bar = event.detail.elt.querySelector && event.detail.elt.querySelector("progress");
  if (bar && event.detail.lengthComputable) {
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});
