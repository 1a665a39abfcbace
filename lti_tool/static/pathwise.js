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
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) { auto.submit(); }
})();
