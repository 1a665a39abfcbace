/* Pathwise: keep the launch token out of every URL (docs/architecture.md, "A launch").
 *
 * A learner page carries its launch token in <meta name="pathwise-launch-token">.
 * This script keeps it in sessionStorage (per tab; it works in an LMS iframe where
 * third-party cookies do not) and turns the page's address into its plain URL, so a
 * reload is a GET that names no token. That GET answers with a small page whose
 * <body data-resume-url> this script re-posts the stored token to.
 */
(function () {
  "use strict";
  var key = "pathwise.launch-token:" + (window.name || "");
  var body = document.body;

  function remember(token) {
    try { window.sessionStorage.setItem(key, token); } catch (e) { /* storage blocked */ }
  }
  function recall() {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function repost(url, token) {
    var form = document.createElement("form");
    var field = document.createElement("input");
    form.method = "post";
    form.action = url;
    field.type = "hidden";
    field.name = "lt";
    field.value = token;
    form.appendChild(field);
    body.appendChild(form);
    form.submit();
  }

  var meta = document.querySelector('meta[name="pathwise-launch-token"]');
  if (meta && meta.content) {
    remember(meta.content);
    // The page came from a POST (the launch, or a re-post): from now on its address
    // is the plain page URL, so a reload never resubmits a form.
    if (body.dataset.pageUrl && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", body.dataset.pageUrl);
    }
  }
  if (body.dataset.resumeUrl) {
    var token = recall();
    if (token) {
      repost(body.dataset.resumeUrl, token);
    } else {
      document.getElementById("no-token").hidden = false;
    }
  }
  // Forms that open another learner page carry the tab's token as a POST field,
  // added at submit time: the page's HTML never has to repeat it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-needs-token")) { return; }
    var stored = recall();
    if (!stored) { return; }
    var field = form.querySelector('input[name="lt"]');
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "lt";
      form.appendChild(field);
    }
    field.value = stored;
  }, true);

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    // randomUUID needs a secure context; plain-http development set-ups have none.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The learner API, called the way any client calls it: the token as a bearer
  // header, JSON in and out. Resolves to {status, data}; never rejects on a 4xx.
  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    var stored = recall();
    if (stored) { headers["Authorization"] = "Bearer " + stored; }
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return window.fetch(path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  // Open another learner page (a POST carrying the token, never a URL with it).
  function go(url) {
    var stored = recall();
    if (stored) { repost(url, stored); }
  }

  window.Pathwise = { api: api, go: go, uuid4: uuid4, token: recall };

  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) { auto.submit(); }
})();
