// Guildhall's own script: small accessibility helpers on top of htmx. Loaded from 'self' (CSP).
"use strict";

// After a form comes back with errors (422), move focus to its first invalid field so keyboard
// and screen-reader users land on what needs fixing.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.xhr && event.detail.xhr.status === 422) {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }
});
