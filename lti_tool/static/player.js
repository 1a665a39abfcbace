/* Pathwise activity player: answers go to POST /api/v1/attempts (docs/api.md).
 *
 * The page is rendered by the server (templates/activity.html); this script only
 * reads the learner's answers, sends them with one client-generated id per
 * sitting (a double click or a retry is recorded once), shows the feedback the
 * API returns and the engine's next step. It needs static/pathwise.js first.
 */
(function () {
  "use strict";
  var player = document.querySelector("[data-player]");
  if (!player || !window.Pathwise) { return; }
  var form = player.querySelector("[data-attempt-form]");
  var submit = player.querySelector('[data-action="submit-attempt"]');
  var errorBox = player.querySelector('[data-field="error"]');
  var next = player.querySelector("[data-next-step]");
  var key = player.dataset.activityKey;
  var openedAt = Date.now();
  // One id per sitting: kept until an answer is recorded, so every retry of the
  // same answers (a double click, a lost response) names the same submission.
  var clientId = window.Pathwise.uuid4();
  var sending = false;
  var nextUrl = null;

  function showError(message, field) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    if (field && field.focus) { field.focus(); }
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function checkedValues(fieldset, selector) {
    var out = [];
    var boxes = fieldset.querySelectorAll(selector);
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].checked) { out.push(parseInt(boxes[i].value, 10)); }
    }
    return out;
  }

  // Each question's response, or a {missing} note naming the field to fill in.
  function readResponse(fieldset) {
    var type = fieldset.dataset.type;
    var number = parseInt(fieldset.dataset.question, 10) + 1;
    if (type === "single") {
      var chosen = checkedValues(fieldset, 'input[type="radio"]');
      if (!chosen.length) {
        return { missing: "Choose an answer to question " + number + ".",
                 field: fieldset.querySelector("input") };
      }
      return { value: chosen[0] };
    }
    if (type === "multiple") {
      var ticked = checkedValues(fieldset, 'input[type="checkbox"]');
      if (!ticked.length) {
        return { missing: "Choose at least one answer to question " + number + ".",
                 field: fieldset.querySelector("input") };
      }
      return { value: ticked };
    }
    var text = fieldset.querySelector("[data-answer-text]");
    if (!text.value.trim()) {
      return { missing: "Write your answer to question " + number + ".", field: text };
    }
    if (type === "scenario") {
      return { value: { text: text.value, met: checkedValues(fieldset, "[data-rubric]") } };
    }
    return { value: text.value };
  }

  function setDisabled(disabled) {
    var fields = form.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) { fields[i].disabled = disabled; }
  }

  function verdict(correct) {
    if (correct === true) { return "Right."; }
    if (correct === false) { return "Not quite."; }
    return "Compare your response with this:";
  }

  function showFeedback(feedback) {
    var sets = form.querySelectorAll("fieldset[data-question]");
    for (var i = 0; i < sets.length; i++) {
      var item = feedback[i];
      var box = sets[i].querySelector('[data-field="feedback"]');
      if (!item || !box) { continue; }
      var state = item.correct === true ? "right" : (item.correct === false ? "wrong" : "self");
      sets[i].dataset.result = state;
      box.className = "feedback " + state;
      var head = document.createElement("p");
      var strong = document.createElement("strong");
      strong.textContent = verdict(item.correct);
      head.appendChild(strong);
      box.textContent = "";
      box.appendChild(head);
      var body = document.createElement("div");
      // feedback_html is the author's Markdown, sanitised by the server (nh3).
      body.innerHTML = item.feedback_html || "";
      box.appendChild(body);
      box.hidden = false;
    }
  }

  function showNext(data) {
    var step = data.next_step || {};
    var score = next.querySelector('[data-field="score"]');
    if (typeof data.score === "number" && data.feedback && data.feedback.length) {
      var right = 0, scored = 0;
      for (var i = 0; i < data.feedback.length; i++) {
        if (data.feedback[i].correct !== null) { scored++; }
        if (data.feedback[i].correct === true) { right++; }
      }
      score.textContent = "You answered " + right + " of " + scored + " right.";
      score.hidden = false;
    }
    next.querySelector('[data-field="next-title"]').textContent =
      step.title || (step.kind === "done" ? "You have reached your targets" : "Back to your path");
    next.querySelector('[data-field="why"]').textContent = step.reason || "";
    next.dataset.reasonCode = step.reason_code || "";
    nextUrl = step.activity_key
      ? player.dataset.activityUrl.replace("__key__", encodeURIComponent(step.activity_key))
      : player.dataset.pathUrl;
    next.hidden = false;
    next.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }
    clearError();
    var responses = [];
    var sets = form.querySelectorAll("fieldset[data-question]");
    for (var i = 0; i < sets.length; i++) {
      var read = readResponse(sets[i]);
      if (read.missing) { showError(read.missing, read.field); return; }
      responses.push(read.value);
    }
    sending = true;
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    var body = {
      client_id: clientId,
      activity_key: key,
      responses: responses,
      minutes: Math.min((Date.now() - openedAt) / 60000, 24 * 60)
    };
    window.Pathwise.api("POST", "/api/v1/attempts", body).then(function (result) {
      sending = false;
      submit.removeAttribute("aria-busy");
      if (result.status !== 200) {
        submit.disabled = false;
        showError((result.data && result.data.message) ||
          "Your answers could not be saved. They are still here: try again.");
        return;
      }
      setDisabled(true);
      submit.hidden = true;
      showFeedback(result.data.feedback || []);
      showNext(result.data);
    }, function () {
      sending = false;
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
      showError("Pathwise could not be reached. Your answers are still here: try again.");
    });
  });

  player.querySelector('[data-action="continue"]').addEventListener("click", function () {
    if (nextUrl) { window.Pathwise.go(nextUrl); }
  });

  var openXapi = player.querySelector('[data-action="open-xapi"]');
  if (openXapi) {
    openXapi.addEventListener("click", function () {
      var box = player.querySelector('[data-field="open-error"]');
      // Opened before the request so a pop-up blocker sees the learner's click.
      var win = window.open("", "_blank");
      if (win) { win.opener = null; }
      window.Pathwise.api("POST", "/api/v1/activities/" + encodeURIComponent(key) + "/xapi-launch", {})
        .then(function (result) {
          if (result.status === 200 && result.data && result.data.url) {
            if (win) { win.location.href = result.data.url; } else { window.open(result.data.url, "_blank", "noopener"); }
            box.hidden = true;
            return;
          }
          if (win) { win.close(); }
          box.textContent = (result.data && result.data.message) || "This activity cannot be opened right now.";
          box.hidden = false;
        }, function () {
          if (win) { win.close(); }
          box.textContent = "Pathwise could not be reached. Try again.";
          box.hidden = false;
        });
    });
  }
})();
