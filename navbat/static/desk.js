// The reception desk's board, on top of htmx. Everything works without it (buttons and links); this adds:
// - refusals (400, 409) are shown: htmx swaps in the board or column that carries the message;
// - drag and drop: drag an appointment onto a free gap of any column to move it to the gap's first time;
// - Escape leaves "move" mode.
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  var dragged = null; // the move address of the appointment being dragged

  function dragging(on) {
    var board = document.querySelector(".desk-board");
    if (board) board.classList.toggle("desk-dragging", on);
    if (!on) {
      document.querySelectorAll(".desk-drop-over").forEach(function (el) { el.classList.remove("desk-drop-over"); });
    }
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function target(event) {
    return dragged && event.target.closest ? event.target.closest(".desk-drop") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-move-url]");
    if (!item) return;
    dragged = item.dataset.moveUrl;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged);
    dragging(true); // outlines only: nothing moves under the pointer
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    dragging(false);
  });

  document.addEventListener("dragover", function (event) {
    var gap = target(event);
    if (!gap) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".desk-drop-over").forEach(function (el) {
      if (el !== gap) el.classList.remove("desk-drop-over");
    });
    gap.classList.add("desk-drop-over");
  });

  // Dropped on a free gap: the visit goes to the gap's first free time (the server refuses what does not fit).
  document.addEventListener("drop", function (event) {
    var gap = target(event);
    var main = document.getElementById("desk-main");
    if (!gap || !main || !gap.dataset.start) return;
    event.preventDefault();
    var values = { start: gap.dataset.start, date: main.dataset.date, by: main.dataset.by };
    if (gap.dataset.dentist) values.dentist = gap.dataset.dentist;
    if (gap.dataset.chair) values.chair = gap.dataset.chair;
    var url = dragged;
    dragging(false);
    htmx.ajax("POST", url, {
      target: "#desk-main",
      swap: "outerHTML",
      values: values,
      headers: { "X-CSRFToken": csrfToken() },
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var stop = document.querySelector("[data-desk-stop-move]");
    if (stop) stop.click();
  });
})();
