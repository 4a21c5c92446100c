/* pendamping web console: small enhancements only; every page works without this file. */
(function () {
  "use strict";
  /* Mark the current section in the navigation. */
  var here = window.location.pathname.split("/")[1] || "dasbor";
  document.querySelectorAll(".top nav a").forEach(function (link) {
    var target = link.getAttribute("href").split("/")[1];
    if (target === here) { link.setAttribute("aria-current", "page"); }
  });
  /* Ask before a form marked data-confirm is sent (closing a case, cancelling a message). */
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
