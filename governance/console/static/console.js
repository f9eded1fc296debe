// The console's only script of its own: shows each <time data-local> also in the reader's time zone.
(function () {
  "use strict";
  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      if (el.dataset.localDone) return;
      var instant = new Date(el.getAttribute("datetime"));
      if (isNaN(instant.getTime())) return;
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
      var text = instant.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      var span = document.createElement("span");
      span.className = "local";
      span.textContent = " (" + text + " " + zone + ")";
      el.after(span);
      el.dataset.localDone = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localise(event.target); });
})();
