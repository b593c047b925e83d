// tabot console: small progressive enhancements. Every page works without this file.
"use strict";

function every(seconds, work) {
  setInterval(function () { if (!document.hidden) { work(); } }, seconds * 1000);
}

// The queue refreshes itself, so a claim by someone else shows up without a reload.
document.querySelectorAll("[data-poll-rows]").forEach(function (box) {
  every(15, function () {
    fetch(box.dataset.pollRows, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } });
  });
});

// An escalation's page says when someone else acted, without throwing away typed text.
document.querySelectorAll("[data-poll-version]").forEach(function (notice) {
  every(10, function () {
    fetch(notice.dataset.pollVersion, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) {
        if (v && v.updated + "|" + v.events !== notice.dataset.version) { notice.hidden = false; }
      });
  });
});

// Live preview of exactly what the asker will receive, made by the server.
document.querySelectorAll("textarea[data-preview-url]").forEach(function (area) {
  var target = document.getElementById(area.dataset.previewTarget);
  var timer = null;
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var body = new URLSearchParams({ answer: area.value });
      fetch(area.dataset.previewUrl, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": area.dataset.csrf }
      }).then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) { if (text !== null) { target.textContent = text; } });
    }, 300);
  });
});

// Live preview of a knowledge entry's answer as plain text.
document.querySelectorAll("textarea[data-live-preview]").forEach(function (area) {
  var target = document.getElementById(area.dataset.livePreview);
  area.addEventListener("input", function () { target.textContent = area.value; });
});
