// htmx 2 does not swap 4xx/5xx answers: show them instead of failing silently.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("htmx-error");
  if (!box) return;
  box.textContent = "The server answered " + event.detail.xhr.status +
    ". Reload the page; if it happens again, tell your administrator.";
  box.hidden = false;
});
document.addEventListener("htmx:sendError", function () {
  var box = document.getElementById("htmx-error");
  if (!box) return;
  box.textContent = "The server could not be reached. Check your connection; the page will keep trying.";
  box.hidden = false;
});
document.addEventListener("htmx:afterSwap", function () {
  var box = document.getElementById("htmx-error");
  if (box) box.hidden = true;
});
