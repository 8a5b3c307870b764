// vigie: progressive enhancements only; every page works without this script.
(function () {
  "use strict";

  // The alert form: a live count of characters and SMS parts, computed by the server
  // (GET /api/sms-preview) exactly as the fan-out will send it.
  function liveCounter(form) {
    var url = form.getAttribute("data-preview-url");
    var text = form.querySelector("textarea[name=text]");
    var output = document.getElementById("sms-count");
    if (!url || !text || !output || !window.fetch) return;
    var timer = null;
    var inflight = null;

    function category() {
      var checked = form.querySelector("input[name=category]:checked");
      return checked ? checked.value : "";
    }

    function update() {
      if (inflight) inflight.abort();
      if (!text.value.trim()) {
        output.textContent = "";
        output.classList.remove("over");
        return;
      }
      var params = new URLSearchParams({ text: text.value, category: category() });
      inflight = window.AbortController ? new AbortController() : null;
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: inflight ? inflight.signal : undefined
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (preview) {
          if (!preview) return;
          output.textContent = preview.summary;
          output.classList.toggle("over", preview.problem === "too_long");
        })
        .catch(function () { /* offline or aborted: the confirmation step shows the count */ });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(update, 300);
    }

    text.addEventListener("input", later);
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "category") later();
    });
  }

  // Forms that must not be sent twice by a double click (the server refuses a second alert
  // anyway).
  function submitOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitted")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitted", "1");
    });
  }

  // Forms that undo something (removing a member) ask first.
  function confirmFirst(form) {
    var question = form.getAttribute("data-confirm");
    form.addEventListener("submit", function (event) {
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  function init() {
    var alertForm = document.getElementById("alert-form");
    if (alertForm) liveCounter(alertForm);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-submit-once]"), submitOnce);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), confirmFirst);
    var problems = document.getElementById("problems");
    if (problems) problems.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
