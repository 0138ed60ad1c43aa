// htmx 2 does not swap 4xx/5xx answers: show them instead of failing silently. The texts come
// from the page (data-* attributes of #htmx-error), so they are translated like the rest.
function showHtmxError(message) {
  var box = document.getElementById("htmx-error");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("htmx-error");
  if (!box) return;
  showHtmxError(box.dataset.responseError.replace("{status}", event.detail.xhr.status));
});
document.addEventListener("htmx:sendError", function () {
  var box = document.getElementById("htmx-error");
  if (!box) return;
  showHtmxError(box.dataset.sendError);
});
document.addEventListener("htmx:afterSwap", function () {
  var box = document.getElementById("htmx-error");
  if (box) box.hidden = true;
});
// The language menu submits its form on change (no inline onchange: the CSP refuses those).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-submit-on-change")) {
    target.form.submit();
  }
});
// A row's fix form takes the focus on its first cell to fix, once, when it is swapped in (or
// its page loads). Not the autofocus attribute: Chrome applies that again at its next
// rendering, after htmx already did, and a key typed meanwhile into another cell of the form
// would land in the first one.
function focusFirstCellToFix() {
  var cell = document.querySelector("[data-autofocus]");
  if (!cell) return;
  cell.removeAttribute("data-autofocus");
  cell.focus();
}
document.addEventListener("htmx:afterSettle", focusFirstCellToFix);
document.addEventListener("DOMContentLoaded", focusFirstCellToFix);
