// The call list's keyboard (the page lists it): ↓/↑ go to the next or the previous call, 1–4 record what
// came of the call in focus (or of the first one), N goes to its note. After each answer htmx brings the list
// back without that call, the cursor on the next one. And htmx shows refusals (400, 409) in place.
(function () {
  "use strict";

  function typing(element) {
    if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") {
      return true;
    }
    return element.tagName === "INPUT" && !["checkbox", "radio", "submit", "button"].includes(element.type);
  }

  function calls() {
    return Array.from(document.querySelectorAll("#calls [data-call]"));
  }

  function current(target) {
    return (target.closest && target.closest("[data-call]")) || calls()[0];
  }

  function focusCall(call) {
    const first = call && call.querySelector("button[data-key]");
    if (first) {
      first.focus();
      call.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("keydown", function (event) {
    const list = calls();
    if (!list.length || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const call = current(target);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (typing(target)) return;
      event.preventDefault();
      const index = list.indexOf(call);
      const next = target.closest && target.closest("[data-call]") ? index + (event.key === "ArrowDown" ? 1 : -1) : 0;
      focusCall(list[Math.max(0, Math.min(list.length - 1, next))]);
    } else if (/^[1-4]$/.test(event.key) && !typing(target)) {
      const button = call && call.querySelector('button[data-key="' + event.key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    } else if ((event.key === "n" || event.key === "N") && !typing(target)) {
      const note = call && call.querySelector("[data-note]");
      if (note) {
        event.preventDefault();
        note.focus();
      }
    } else if ((event.key === "Escape" || event.key === "Enter") && target.matches("[data-note]")) {
      // Enter in the note would send the form as its first button (confirmed): back to the buttons instead.
      event.preventDefault();
      focusCall(call);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // After an answer the list comes back: the cursor goes to the first call left. Once htmx has settled (the
  // forms settle at once), so that its own autofocus does not take the cursor back from a quick typist.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "calls") {
      const left = calls();
      if (left.length) {
        focusCall(left[0]);
      } else {
        const message = document.querySelector("#calls .console-ok");
        if (message) message.focus();
      }
    }
  });
})();
