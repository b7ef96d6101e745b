// kraftsoci posts: while a post is being published, reload its page every few seconds until
// the status changes (the page then shows the result and stops). Without this file the page
// offers a "Refresh the status" link. Nothing here talks to the network but the reload itself.
(function () {
  "use strict";

  var live = document.querySelector("[data-poll]");
  if (live) {
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = live.getAttribute("data-poll");
    live.appendChild(note);
    var typing = false;
    document.addEventListener("input", function () {
      typing = true;
    });
    var reload = function () {
      // Never throw away what the owner is typing in the edit form.
      if (typing) {
        return;
      }
      if (document.visibilityState === "visible") {
        // Without `?done=…`: the note about the click must not outlive the status it was about.
        window.location.replace(window.location.pathname);
      } else {
        window.setTimeout(reload, 4000);
      }
    };
    window.setTimeout(reload, 4000);
  }

  // A post being generated: follow its steps on the server's event stream (same origin,
  // the session cookie) and show the page again once it is ready or has failed. Without
  // EventSource, or if the stream breaks, the page reloads itself every few seconds instead;
  // without this file it offers a "Refresh" link.
  var generation = document.querySelector("[data-events]");
  if (generation) {
    var shown = document.getElementById("generation-step");
    var settle = function () {
      window.location.replace(window.location.pathname);
    };
    var poll = function () {
      window.setTimeout(function () {
        if (document.visibilityState === "visible") {
          settle();
        } else {
          poll();
        }
      }, 4000);
    };
    if (window.EventSource) {
      var source = new EventSource(generation.getAttribute("data-events"));
      source.addEventListener("step", function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        var words = generation.getAttribute("data-step-" + data.step);
        if (words && shown) {
          shown.textContent = words;
        }
        if (data.step === "ready" || data.step === "failed") {
          // The stream ends here; EventSource would otherwise reconnect.
          source.close();
          settle();
        }
      });
      source.onerror = function () {
        source.close();
        poll();
      };
    } else {
      poll();
    }
  }

  // The topic form: say what is happening while the post is written (about 20 s), without
  // pretending to know how far it has got.
  document.querySelectorAll("button[data-busy]").forEach(function (button) {
    if (!button.form) {
      return;
    }
    button.form.addEventListener("submit", function () {
      button.textContent = button.getAttribute("data-busy");
    });
  });
})();
