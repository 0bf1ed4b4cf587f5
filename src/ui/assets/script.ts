/**
 * @module
 * The UI's only script, a module of the module graph: copy buttons. Every page works
 * without it; the buttons are rendered hidden and shown here, because without a script
 * they could not copy. The command stays visible as text either way.
 */
export const SCRIPT = `
"use strict";
(function () {
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      copy(text).then(function () {
        button.textContent = "Copied";
        if (status) status.textContent = "Copied: " + text;
      }, function () {
        button.textContent = "Select and copy";
        if (status) status.textContent = "Could not copy; select the command instead";
      });
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();
`;
