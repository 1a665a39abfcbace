/* Pathwise: the path page. Its one action, the time budget, goes through the learner
 * API; the page is then shown again from the server with the step that fits. */
(function () {
  "use strict";
  var form = document.getElementById("time-budget");
  if (!form || !window.Pathwise) { return; }
  var status = document.getElementById("budget-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = form.querySelector("input[name=minutes]:checked");
    if (!chosen) {
      status.textContent = "Choose 10, 20 or 45 minutes first.";
      return;
    }
    status.textContent = "Saving…";
    Pathwise.api("POST", "/api/v1/time-budget", { minutes: parseInt(chosen.value, 10) })
      .then(function (answer) {
        if (answer.status === 200) {
          Pathwise.go(document.body.getAttribute("data-page-url"));
        } else {
          status.textContent = (answer.data && answer.data.message) || "That did not work; try again.";
        }
      }, function () {
        status.textContent = "Pathwise could not be reached. Try again.";
      });
  });
})();
