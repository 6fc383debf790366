// The call-centre console's keyboard shortcuts (the page lists them): "/" the search box, Esc back to it,
// Enter in it opens the first caller found (or the new-caller form), ↓/↑ move through the callers found,
// Alt+N a new caller, Alt+O the wishes, 1–5 go to an option. And htmx shows refusals (400, 409) in place.
(function () {
  "use strict";

  function typing(element) {
    if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") {
      return true;
    }
    return element.tagName === "INPUT" && !["checkbox", "radio", "submit", "button"].includes(element.type);
  }

  function box() {
    return document.getElementById("console-q");
  }

  function results() {
    return Array.from(document.querySelectorAll("#results [data-result]"));
  }

  function focusSearch(event) {
    event.preventDefault();
    box().focus();
    box().select();
  }

  // Enter in the box: search now (not after the typing pause), then open the first caller or a new one.
  function openFirst(event) {
    event.preventDefault();
    const url = document.getElementById("console").dataset.searchUrl + "?q=" + encodeURIComponent(box().value);
    htmx.ajax("GET", url, { target: "#results", source: box() }).then(function () {
      const first = results()[0] || document.getElementById("console-new");
      first.click();
    });
  }

  function step(event, by) {
    const links = results();
    if (!links.length) return;
    event.preventDefault();
    const index = links.indexOf(document.activeElement);
    const next = index === -1 ? (by > 0 ? 0 : links.length - 1) : index + by;
    if (next < 0 || next >= links.length) {
      box().focus();
    } else {
      links[next].focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (!box()) return;
    const target = event.target;
    const inResults = target.matches && target.matches("#results [data-result]");
    if (event.altKey && event.code === "KeyN") {
      event.preventDefault();
      document.getElementById("console-new").click();
    } else if (event.altKey && event.code === "KeyO") {
      const wishes = document.getElementById("id_service");
      if (wishes) {
        event.preventDefault();
        wishes.focus();
      }
    } else if (event.key === "Escape") {
      focusSearch(event);
    } else if (event.key === "/" && !typing(target)) {
      focusSearch(event);
    } else if (target === box() && event.key === "Enter") {
      openFirst(event);
    } else if ((target === box() || inResults) && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      step(event, event.key === "ArrowDown" ? 1 : -1);
    } else if (/^[1-5]$/.test(event.key) && !typing(target) && !event.altKey && !event.ctrlKey) {
      const option = document.querySelector('[data-option="' + event.key + '"]');
      if (option) {
        event.preventDefault();
        option.focus();
      }
    } else if (event.key === "Enter" && target.form && "enterSubmits" in target.form.dataset
               && (target.tagName === "SELECT" || target.type === "checkbox" || target.type === "radio")) {
      // Enter sends the wishes from a list or a tick box too, not only from a text field.
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  // A refusal (bad input: 400; a time taken meanwhile or a possible duplicate: 409) comes with the page part
  // that explains it and offers the way on: show it like any answer.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
