/* SkillForge: loads the code editor (editor.js, CodeMirror 6) only on pages with a
   <textarea class="code">, including ones htmx swaps in later. Everything works without it. */
(function () {
  "use strict";
  var me = document.currentScript;
  var src = me && me.dataset.editor;
  var requested = false;
  function need(root) {
    if (requested || !src || !(root || document).querySelector("textarea.code")) return;
    requested = true;
    var script = document.createElement("script");
    script.src = src;
    script.async = true;
    document.head.appendChild(script);
  }
  // A box that scrolls must be reachable from the keyboard (WCAG 2.1.1): make scrolling <pre>s focusable.
  function scrollers(root) {
    var pres = (root || document).querySelectorAll("pre:not([tabindex])");
    for (var i = 0; i < pres.length; i++) {
      var pre = pres[i];
      if (pre.scrollWidth > pre.clientWidth || pre.scrollHeight > pre.clientHeight) pre.tabIndex = 0;
    }
  }
  function ready(root) { need(root); scrollers(root); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { ready(); });
  else ready();
  document.addEventListener("htmx:afterSettle", function (event) { ready(event.target); });
})();
