// Live updates on the desk (Server-Sent Events from /desk/live). An enhancement only: the
// pages are complete without it, and the version each change carries stays the guard.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const notice = document.getElementById("live-notice");
  if (!notice || !window.EventSource) return;
  const me = Number(notice.dataset.me);
  const ticket = notice.dataset.ticket ? Number(notice.dataset.ticket) : null;
  const shownVersion = Number(notice.dataset.version || 0);
  const source = new EventSource(ticket ? `/desk/live?ticket=${ticket}` : "/desk/live");
  // Marked once listening (what a test waits for before making a change to be told of).
  source.addEventListener("open", () => { notice.dataset.listening = "yes"; });
  // The page leaves: say so at once rather than when the connection times out.
  window.addEventListener("pagehide", () => source.close());

  const reloadLink = (text) => {
    const link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = text;
    return link;
  };
  const say = (...parts) => {
    notice.replaceChildren(...parts);
    notice.hidden = false;
  };

  if (ticket) {
    // Someone else's change to this ticket since the page was shown.
    let newer = null;
    source.addEventListener("ticket", (event) => {
      const word = JSON.parse(event.data);
      if (word.number !== ticket || word.version <= shownVersion || word.by === me) return;
      newer = word;
      const who = word.by_name || "Someone";
      say(`${who} ${word.what.join(" and ") || "changed this ticket"}. `, reloadLink("Reload to see it"));
    });
    // Sending after someone else's change asks first (without this script, the version
    // guard still refuses a change that would overwrite it).
    const reply = document.getElementById("reply");
    if (reply) {
      reply.addEventListener("submit", (event) => {
        if (!newer) return;
        const who = newer.by_name || "Someone";
        if (!window.confirm(`${who} ${newer.what.join(" and ")} since you opened this ticket. Send anyway?`)) {
          event.preventDefault();
        }
      });
    }
    // Who else has this ticket open, and who of them is writing an answer (said again
    // every few seconds while they type; shown for a while after the last).
    const REPLYING_MS = 30000;
    const viewers = new Map();
    const present = document.getElementById("live-viewers");
    const showViewers = () => {
      const now = Date.now();
      const all = Array.from(viewers.values());
      const writing = all.filter((viewer) => viewer.replyingUntil > now).map((viewer) => viewer.name);
      const looking = all.filter((viewer) => !(viewer.replyingUntil > now)).map((viewer) => viewer.name);
      const sentence = (names, verb) =>
        names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} ${verb}.`;
      present.textContent = [sentence(writing, "replying"), sentence(looking, "also looking at this ticket")]
        .filter(Boolean).join(" ");
      present.hidden = all.length === 0;
    };
    source.addEventListener("viewer", (event) => {
      const word = JSON.parse(event.data);
      const known = viewers.get(word.user);
      if (word.state === "left") viewers.delete(word.user);
      else viewers.set(word.user, {
        name: word.name,
        replyingUntil: word.state === "replying" ? Date.now() + REPLYING_MS : known ? known.replyingUntil : 0,
      });
      if (present) {
        showViewers();
        if (word.state === "replying") window.setTimeout(showViewers, REPLYING_MS + 100);
      }
    });
    // Typing an answer says so, at most every ten seconds.
    const body = reply && reply.querySelector("textarea[name=body]");
    const token = reply && reply.querySelector("input[name=csrf_token]");
    let lastSaid = 0;
    if (body && token) {
      body.addEventListener("input", () => {
        if (Date.now() - lastSaid < 10000) return;
        lastSaid = Date.now();
        const form = new URLSearchParams({ csrf_token: token.value, ticket: String(ticket) });
        fetch("/desk/live/replying", { method: "POST", body: form, credentials: "same-origin" }).catch(() => {});
      });
    }
  } else {
    // New tickets while a queue is open: a bar and the count in the title.
    const title = document.title;
    let fresh = 0;
    // The sidebar's counts follow every change, read again at most every five seconds.
    let countsDue = null;
    const refreshCounts = () => {
      countsDue = null;
      fetch("/desk/counts", { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : {}))
        .then((counts) => {
          for (const count of document.querySelectorAll(".views .count[data-view]")) {
            if (counts[count.dataset.view] !== undefined) count.textContent = counts[count.dataset.view];
          }
        })
        .catch(() => {});
    };
    source.addEventListener("ticket", (event) => {
      if (countsDue === null) countsDue = window.setTimeout(refreshCounts, 5000);
      const word = JSON.parse(event.data);
      if (word.version !== 1 || word.by === me) return;
      fresh += 1;
      document.title = `(${fresh}) ${title}`;
      say(reloadLink(fresh === 1 ? "1 new ticket: show it" : `${fresh} new tickets: show them`));
    });
  }
});
