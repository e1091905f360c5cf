// Small enhancements only: every page works without this file.
"use strict";

// After a failed submission, put the cursor in the first field that needs attention.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
});
