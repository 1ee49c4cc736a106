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

  // Question numbers: click to copy.
  document.querySelectorAll("[data-copy]").forEach(function (el) {
    el.setAttribute("role", "button");
    el.setAttribute("tabindex", "0");
    function copy() {
      var text = el.getAttribute("data-copy");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          el.classList.add("copied");
          setTimeout(function () { el.classList.remove("copied"); }, 1200);
        });
      }
    }
    el.addEventListener("click", copy);
    el.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); copy(); }
    });
  });
})();
