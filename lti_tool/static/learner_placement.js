/* Pathwise: the placement check page. Every action goes through the learner API
 * (Pathwise.api: bearer token, JSON); the page only shows what the API answers. */
(function () {
  "use strict";
  var root = document.querySelector("[data-placement]");
  if (!root || !window.Pathwise) { return; }
  var stages = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-stage]"), function (el) {
    stages[el.getAttribute("data-stage")] = el;
  });
  var form = stages.question;
  var progress = document.getElementById("placement-progress");
  var errorBox = document.getElementById("placement-error");
  var prompt = document.getElementById("placement-prompt");
  var options = form.querySelector("[data-field=options]");
  var summaryText = stages.summary.querySelector("[data-field=summary]");
  // One client id per question until it is recorded: a retry is the same answer.
  var pendingId = null;
  var busy = false;

  function show(name, on) { stages[name].hidden = !on; }
  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }
  function clearError() { errorBox.hidden = true; errorBox.textContent = ""; }

  function render(view, moveFocus) {
    clearError();
    show("intro", false);
    if (view.done) {
      root.setAttribute("data-state", "done");
      show("question", false);
      show("skip", false);
      progress.hidden = true;
      summaryText.textContent = view.summary ? view.summary.text : "";
      show("summary", true);
      if (moveFocus) { document.getElementById("summary-heading").focus(); }
      return;
    }
    root.setAttribute("data-state", "question");
    var q = view.question;
    form.setAttribute("data-ref", q.ref);
    prompt.textContent = q.prompt;
    while (options.firstChild) { options.removeChild(options.firstChild); }
    if (q.type === "short" || !q.options.length) {
      // A short-answer question takes a typed answer.
      var textLabel = document.createElement("label");
      var textInput = document.createElement("input");
      textLabel.htmlFor = "answer-text";
      textLabel.textContent = "Your answer";
      textInput.type = "text";
      textInput.name = "answer-text";
      textInput.id = "answer-text";
      textInput.autocomplete = "off";
      options.appendChild(textLabel);
      options.appendChild(document.createTextNode(" "));
      options.appendChild(textInput);
    }
    var several = q.type === "multiple";
    if (several) {
      var hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Choose every answer that applies.";
      options.appendChild(hint);
    }
    q.options.forEach(function (text, i) {
      var row = document.createElement("div");
      var input = document.createElement("input");
      var label = document.createElement("label");
      row.className = "option";
      input.type = several ? "checkbox" : "radio";
      input.name = several ? "answer-multi" : "answer";
      input.id = "answer-" + i;
      input.value = String(i);
      label.htmlFor = input.id;
      label.textContent = text;
      row.appendChild(input);
      row.appendChild(label);
      options.appendChild(row);
    });
    progress.textContent = "Question " + (view.asked + 1) + " of at most " + view.budget;
    progress.hidden = false;
    pendingId = null;
    show("question", true);
    show("skip", true);
    if (moveFocus) { prompt.focus(); }
  }

  function call(path, body) {
    if (busy) { return; }
    busy = true;
    root.setAttribute("aria-busy", "true");
    Pathwise.api("POST", path, body).then(function (answer) {
      busy = false;
      root.removeAttribute("aria-busy");
      if (answer.status === 200) {
        render(answer.data, true);
      } else {
        fail((answer.data && answer.data.message) || "Something went wrong; try again.");
      }
    }, function () {
      busy = false;
      root.removeAttribute("aria-busy");
      fail("Pathwise could not be reached. Check your connection and try again.");
    });
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-action]") : null;
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    if (action === "start-placement") { call("/api/v1/placement"); }
    if (action === "skip-placement") { call("/api/v1/placement/skip"); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = form.querySelector("input[name=answer]:checked");
    var typed = form.querySelector("input[name=answer-text]");
    var ticked = form.querySelectorAll("input[name=answer-multi]:checked");
    var answer = chosen ? parseInt(chosen.value, 10) : (typed ? typed.value.trim() : "");
    if (form.querySelector("input[name=answer-multi]")) {
      answer = Array.prototype.map.call(ticked, function (box) {
        return parseInt(box.value, 10);
      });
      if (!answer.length) { answer = ""; }
    }
    if (answer === "") {
      fail("Choose an answer first (or start from the beginning).");
      return;
    }
    pendingId = pendingId || Pathwise.uuid4();
    call("/api/v1/placement/answers", {
      client_id: pendingId,
      ref: form.getAttribute("data-ref"),
      answer: answer
    });
  });
})();
