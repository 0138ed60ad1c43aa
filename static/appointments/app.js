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
