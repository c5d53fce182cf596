// Confirmation pop-ups (<dialog>), the copy button. No build step; loaded with htmx.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-dialog]");
  if (opener) {
    document.getElementById(opener.getAttribute("data-dialog")).showModal();
    return;
  }
  var closer = event.target.closest("[data-close]");
  if (closer) {
    closer.closest("dialog").close();
    return;
  }
  var copy = event.target.closest("[data-copy]");
  if (copy && navigator.clipboard) {
    navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
      copy.textContent = copy.getAttribute("data-copied") || "Copied";
    });
  }
});
