// 检答: similar answered questions beside the ask form, as the title and body are typed.
// A separate file (the Content-Security-Policy forbids inline script); text is inserted with
// textContent only, never as HTML.
(function () {
  "use strict";
  var panel = document.getElementById("similar-panel");
  var list = document.getElementById("similar-list");
  var title = document.getElementById("title");
  var body = document.getElementById("body");
  if (!panel || !list || !title) { return; }
  var timer = null;
  var last = "";

  function render(hits) {
    list.textContent = "";
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      item.className = "mb-2";
      var link = document.createElement("a");
      link.href = hit.url;
      link.textContent = hit.title;
      link.target = "_blank";
      link.rel = "noopener";
      item.appendChild(link);
      if (hit.canonical) {
        var badge = document.createElement("span");
        badge.className = "badge text-bg-warning ms-1";
        badge.textContent = "权威答复";
        item.appendChild(badge);
      }
      var meta = document.createElement("div");
      meta.className = "text-muted";
      meta.textContent = hit.number + " · " + hit.category;
      item.appendChild(meta);
      list.appendChild(item);
    });
    panel.hidden = hits.length === 0;
  }

  function lookup() {
    var t = title.value.trim();
    var b = body ? body.value.trim().slice(0, 1500) : "";
    var key = t + "\n" + b;
    if (key === last) { return; }
    last = key;
    if ((t + b).length < 4) { render([]); return; }
    var url = "/search/similar?title=" + encodeURIComponent(t) + "&text=" + encodeURIComponent(b);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { hits: [] }; })
      .then(function (data) { render(data.hits || []); })
      .catch(function () { render([]); });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(lookup, 400); }
  title.addEventListener("input", schedule);
  if (body) { body.addEventListener("input", schedule); }
  schedule();
})();
