// Keyboard shortcuts for the desk. An enhancement only: every action is also a link or a
// button. Single keys never act while the focus is in a field, so typing is never taken.
"use strict";

(() => {
  // The queue (with or without tickets) and the ticket workspace.
  const onDesk = () => document.querySelector(".desk, .workspace");
  const typing = (target) =>
    target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']") !== null;

  const SHORTCUTS = [
    ["/", "Search"],
    ["j / k", "Next / previous ticket in the list (on a ticket: the next one in its queue)"],
    ["Enter", "Open the chosen ticket"],
    ["x", "Select the chosen ticket for a bulk change"],
    ["a", "Assign the ticket to me"],
    ["r", "Reply to the customer"],
    ["n", "Write an internal note"],
    ["Ctrl + Enter", "Send what you wrote"],
    ["Ctrl + Shift + Enter", "Send it and open the next ticket of the queue"],
    ["u", "Back to the queue"],
    ["g then u / m / r / o", "Unassigned / Mine / Needs my reply / All open"],
    ["?", "This list"],
  ];

  const go = (href) => { window.location.assign(href); };

  // The list of rows and which is chosen: the chosen row's subject link has the focus, so
  // Enter opens it as any link does.
  const rows = () => Array.from(document.querySelectorAll(".desk-list tbody tr"));
  const chosenIndex = () => rows().findIndex((row) => row.contains(document.activeElement));
  const choose = (step) => {
    const all = rows();
    if (all.length === 0) return;
    const at = chosenIndex();
    const next = at === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    const link = all[next].querySelector("td.subject a");
    if (link) link.focus();
  };

  const writeAs = (visibility) => {
    const box = document.querySelector("#reply textarea[name=body]");
    if (!box) return;
    const choice = document.querySelector(`#reply input[name=visibility][value=${visibility}]`);
    if (choice) choice.checked = true;
    box.focus();
  };

  let dialog = null;
  const showShortcuts = () => {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "shortcuts";
      dialog.setAttribute("aria-labelledby", "shortcuts-title");
      const title = document.createElement("h2");
      title.id = "shortcuts-title";
      title.textContent = "Keyboard shortcuts";
      const list = document.createElement("dl");
      for (const [keys, what] of SHORTCUTS) {
        const key = document.createElement("dt");
        key.textContent = keys;
        const meaning = document.createElement("dd");
        meaning.textContent = what;
        list.append(key, meaning);
      }
      const close = document.createElement("button");
      close.type = "button";
      close.className = "button";
      close.textContent = "Close";
      close.addEventListener("click", () => dialog.close());
      dialog.append(title, list, close);
      document.body.append(dialog);
    }
    dialog.showModal();
  };

  const clickIf = (selector) => {
    const element = document.querySelector(selector);
    if (element) element.click();
    return element !== null;
  };

  let awaitingView = false;
  const VIEWS = { u: "unassigned", m: "mine", r: "needs_my_reply", o: "all" };

  document.addEventListener("keydown", (event) => {
    if (!onDesk() || event.defaultPrevented || event.altKey) return;
    // Ctrl+Enter (Cmd+Enter on a Mac) sends the reply or note being written; with Shift,
    // through "Send & next" where the ticket was opened from a queue.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest && event.target.closest("#reply");
      if (form) {
        event.preventDefault();
        const onwards = event.shiftKey ? form.querySelector("button[formaction]") : null;
        form.requestSubmit(onwards || undefined);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || typing(event.target) || (dialog && dialog.open)) return;
    if (awaitingView) {
      awaitingView = false;
      if (VIEWS[event.key]) {
        event.preventDefault();
        go(`/desk?view=${VIEWS[event.key]}`);
      }
      return;
    }
    const onTicket = document.querySelector(".workspace") !== null;
    let handled = true;
    switch (event.key) {
      case "/": {
        // The view's own search where there is one, else the search of all tickets.
        const search = document.getElementById("q") || document.getElementById("site-q");
        if (search) search.focus();
        break;
      }
      case "j":
        if (onTicket) handled = clickIf("a[rel=next]"); else choose(1);
        break;
      case "k":
        if (!onTicket) choose(-1); else handled = false;
        break;
      case "x": {
        const row = rows()[chosenIndex()];
        const box = row && row.querySelector("input[name=tickets]");
        if (box) box.click(); else handled = false;
        break;
      }
      case "a": handled = clickIf(".assign-me button"); break;
      case "r": writeAs("public"); break;
      case "n": writeAs("internal"); break;
      case "u": handled = clickIf(".trail .reference a"); break;
      case "g": awaitingView = true; break;
      case "?": showShortcuts(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Say that the shortcuts exist, where they apply.
  document.addEventListener("DOMContentLoaded", () => {
    const place = document.querySelector(".desk-list, .workspace");
    if (!place) return;
    const hint = document.createElement("p");
    hint.className = "muted keys-hint";
    const key = document.createElement("kbd");
    key.textContent = "?";
    hint.append("Press ", key, " for keyboard shortcuts.");
    place.after(hint);
  });
})();
