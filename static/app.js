// Small enhancements only: every page works without this file.
"use strict";

// After a failed submission, put the cursor in the first field that needs attention.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
});

// Insert the chosen canned response into the reply box without a page load.
document.addEventListener("DOMContentLoaded", () => {
  const picker = document.querySelector("select[data-canned-target]");
  if (!picker) return;
  const form = picker.form;
  form.addEventListener("submit", (event) => {
    const box = document.getElementById(picker.dataset.cannedTarget);
    const option = picker.selectedOptions[0];
    if (!box || !option) return;
    event.preventDefault();
    box.value = box.value ? box.value.replace(/\s*$/, "\n\n") + option.dataset.body : option.dataset.body;
    box.focus();
  });
});

// "Select all" for bulk actions: the queue, and a user's tickets to reassign.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".desk-list, table[data-bulk]").forEach((table) => {
    const header = table.querySelector("thead th");
    const all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select all tickets on this page");
    header.replaceChildren(all);
    all.addEventListener("change", () => {
      table.querySelectorAll('tbody input[name="tickets"]').forEach((box) => { box.checked = all.checked; });
    });
  });
});

// The bulk bar says how many tickets are selected, and closing them asks first.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.bulk-form");
  const count = form && form.querySelector(".bulk-count");
  if (!count) return;
  const selected = () => form.querySelectorAll('input[name="tickets"]:checked').length;
  const show = () => {
    const n = selected();
    count.textContent = n === 0 ? "None selected" : `${n} selected`;
  };
  form.addEventListener("change", show);
  show();
  form.addEventListener("submit", (event) => {
    const status = form.querySelector('select[name="status"]');
    const n = selected();
    if (status && status.value === "closed" && n > 0 &&
        !window.confirm(`Close ${n === 1 ? "this ticket" : `these ${n} tickets`}? Closed is final: customers can only open a follow-up.`)) {
      event.preventDefault();
    }
  });
});

// A destructive button asks first (the server needs no confirmation: without this file
// the form simply submits).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// On a wide screen there is room for every filter: show them open.
document.addEventListener("DOMContentLoaded", () => {
  const filters = document.querySelector("details.more-filters");
  if (filters && window.matchMedia("(min-width: 60rem)").matches) filters.open = true;
});
