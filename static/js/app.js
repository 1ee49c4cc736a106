// 检答 front-end behaviour: Markdown live preview and copying question numbers.
// Served as a file (the Content-Security-Policy forbids inline script).
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  // Live preview: the server renders and sanitizes exactly as it will when saving.
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    if (!target) { return; }
    var render = debounce(function () {
      if (!area.value.trim()) {
        target.textContent = "在上方输入后这里显示排版效果。";
        return;
      }
      fetch("/markdown/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ text: area.value })
      }).then(function (response) {
        return response.json();
      }).then(function (data) {
        if (data.html !== undefined) {
          target.innerHTML = data.html;  // sanitized by the server (nh3 allow-list)
        } else if (data.error) {
          target.textContent = data.error.message;
        }
      }).catch(function () {
        target.textContent = "预览暂不可用。";
      });
    }, 300);
    area.addEventListener("input", render);
    if (area.value.trim()) { render(); }
  });

  function copyBySelection(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    return ok;  // the number stays selected either way, ready for Ctrl+C
  }

  // Printing: the whole thread, or only one canonical answer (with the question it answers).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = button.getAttribute("data-print") ? document.getElementById(button.getAttribute("data-print")) : null;
      if (target) {
        target.classList.add("print-target");
        document.body.classList.add("print-one-answer");
      }
      window.print();
    });
  });
  window.addEventListener("afterprint", function () {
    document.body.classList.remove("print-one-answer");
    document.querySelectorAll(".print-target").forEach(function (el) { el.classList.remove("print-target"); });
  });

  // Wide tables scroll sideways on a phone: let the keyboard scroll them too.
  document.querySelectorAll(".table-responsive, .markdown-body table").forEach(function (box) {
    if (!box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); }
  });

  // A form that came back with errors: put the cursor in the first field to correct.
  var firstInvalid = document.querySelector("main .is-invalid");
  if (firstInvalid && typeof firstInvalid.focus === "function") { firstInvalid.focus(); }

  // Question numbers: click to copy.
  document.querySelectorAll("[data-copy]").forEach(function (el) {
    el.setAttribute("role", "button");
    el.setAttribute("tabindex", "0");
    function copied() {
      el.classList.add("copied");
      setTimeout(function () { el.classList.remove("copied"); }, 1200);
    }
    function copy() {
      var text = el.getAttribute("data-copy");
      // navigator.clipboard needs HTTPS or localhost; an internal http:// address falls back to a selection.
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(copied, function () { copyBySelection(el) && copied(); });
      } else if (copyBySelection(el)) {
        copied();
      }
    }
    el.addEventListener("click", copy);
    el.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); copy(); }
    });
  });
})();
