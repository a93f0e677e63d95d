// digest: progressive enhancement only; every page works without it.
// Pre-select the browser's own IANA time zone in a form that asks for one, unless the
// reader (or the stored profile) already chose something other than the default.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var selects = document.querySelectorAll("select[data-zone]");
  for (var i = 0; i < selects.length; i++) {
    var select = selects[i];
    var known = false;
    for (var j = 0; j < select.options.length; j++) {
      if (select.options[j].value === zone) { known = true; break; }
    }
    if (!known || select.value === zone) { continue; }
    var note = document.getElementById(select.id + "-detected");
    // "detect": a new form still on its default takes the browser's zone;
    // "suggest": a saved choice is never changed behind the reader's back, only named.
    if (select.getAttribute("data-zone") === "detect" && select.value === "UTC") {
      select.value = zone;
      if (note) { note.textContent = "Detected from your browser; change it if it is wrong."; }
    } else if (note) {
      note.textContent = "Your browser is set to " + zone + ".";
    }
  }
})();
