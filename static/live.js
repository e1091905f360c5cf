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
    // Who else has this ticket open.
    const viewers = new Map();
    const present = document.getElementById("live-viewers");
    const showViewers = () => {
      const names = Array.from(viewers.values());
      present.textContent = names.length === 0 ? "" :
        `${names.join(", ")} ${names.length === 1 ? "is" : "are"} also looking at this ticket.`;
      present.hidden = names.length === 0;
    };
    source.addEventListener("viewer", (event) => {
      const word = JSON.parse(event.data);
      if (word.state === "left") viewers.delete(word.user); else viewers.set(word.user, word.name);
      if (present) showViewers();
    });
  } else {
    // New tickets while a queue is open: a bar and the count in the title.
    const title = document.title;
    let fresh = 0;
    source.addEventListener("ticket", (event) => {
      const word = JSON.parse(event.data);
      if (word.version !== 1 || word.by === me) return;
      fresh += 1;
      document.title = `(${fresh}) ${title}`;
      say(reloadLink(fresh === 1 ? "1 new ticket: show it" : `${fresh} new tickets: show them`));
    });
  }
});
