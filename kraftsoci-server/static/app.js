// kraftsoci: small enhancements. Every page works without this file; nothing here talks to
// the network.
(function () {
  "use strict";

  // Password fields: a Show/Hide button, hidden in the markup until this script runs.
  document.querySelectorAll("button[data-reveal]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? button.dataset.hide : button.dataset.show;
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
    // A password never leaves as a visible text field (browsers remember those).
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
      });
    }
  });

  // Forms marked data-once send once per click: a double click must not post twice.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.sending = "true";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
  });
  // Coming back with the Back button restores the page from memory: let it send again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sending;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.removeAttribute("aria-disabled");
      });
    });
  });

  // The password-reset link carries its token in the fragment (never sent to a server):
  // copy it into the form, hide the field, and drop it from the address bar and history.
  document.querySelectorAll("[data-fragment-token]").forEach(function (wrapper) {
    var input = document.getElementById(wrapper.getAttribute("data-fragment-token"));
    var match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
    if (!input || !match) {
      return;
    }
    input.value = match[1];
    wrapper.hidden = true;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  });

  // After a refused post, move focus to the list of errors so it is read out first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
