// The ocr2synth gallery. Samples arrive as data (window.OCR2SYNTH_PREVIEW, and detail chunks
// through window.ocr2synthDetail); every string from a sample reaches the page through
// textContent or an attribute, never as markup. The one exception is mathpix-markdown-it's
// output for math and Mathpix markdown, rendered with raw HTML switched off.
(function () {
  "use strict";
  var DATA = window.OCR2SYNTH_PREVIEW;
  // mathpix-options.js, loaded before this script
  var RENDER_OPTIONS = window.OCR2SYNTH_MATHPIX_OPTIONS;
  var state = { renderer: "", task: "", page: 0, open: null };
  var details = {};   // chunk number -> detail rows
  var waiting = {};   // chunk number -> callbacks

  window.ocr2synthDetail = function (number, rows) {
    details[number] = rows;
    (waiting[number] || []).forEach(function (cb) { cb(rows); });
    delete waiting[number];
  };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function url(rel) { return DATA.base + rel; }

  function filtered() {
    return DATA.rows.filter(function (r) {
      return (!state.renderer || r.renderer === state.renderer) &&
             (!state.task || r.task === state.task);
    });
  }

  function pages(rows) { return Math.max(1, Math.ceil(rows.length / DATA.page_size)); }

  function drawGrid() {
    var rows = filtered();
    var count = pages(rows);
    state.page = Math.min(Math.max(0, state.page), count - 1);
    var grid = document.getElementById("grid");
    grid.replaceChildren();
    rows.slice(state.page * DATA.page_size, (state.page + 1) * DATA.page_size)
      .forEach(function (row) { grid.appendChild(card(row)); });
    document.getElementById("page-info").textContent =
      "page " + (state.page + 1) + " of " + count + " (" + rows.length + " samples)";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= count - 1;
  }

  function card(row) {
    var node = el("div", "card");
    node.dataset.id = row.id;
    var box = el("div", "thumb-box");
    if (row.thumb) {
      var img = el("img", "thumb");
      img.src = url(row.thumb);
      img.alt = row.id;
      img.loading = "lazy";
      box.appendChild(img);
    }
    node.appendChild(box);
    node.appendChild(el("div", "tags", row.renderer + " \u00b7 " + row.task + " \u00b7 " +
                        row.width + "\u00d7" + row.height +
                        (row.pages > 1 ? " \u00b7 " + row.pages + " images" : "")));
    node.appendChild(el("div", "id", row.id));
    node.appendChild(el("div", "prompt", row.prompt));
    node.appendChild(el("div", "excerpt", row.excerpt));
    node.addEventListener("click", function () { openSample(row); });
    return node;
  }

  function withDetail(row, cb) {
    if (details[row.chunk]) { cb(details[row.chunk]); return; }
    if (waiting[row.chunk]) { waiting[row.chunk].push(cb); return; }
    waiting[row.chunk] = [cb];
    var script = document.createElement("script");
    script.src = url("detail/" + String(row.chunk).padStart(5, "0") + ".js");
    document.head.appendChild(script);
  }

  function openSample(row) {
    state.open = row.id;
    withDetail(row, function (rows) {
      if (state.open !== row.id) return;
      showDetail(row, rows[row.at]);
    });
  }

  function typeset(text) {
    var box = el("div", "typeset");
    try {
      box.innerHTML = window.render(text, RENDER_OPTIONS);  // raw HTML off: markup is its own
    } catch (e) {
      box.replaceChildren(el("pre", null, text));
      box.appendChild(el("div", "error", "could not typeset: " + e));
    }
    return box;
  }

  // mathpix-markdown-it draws \hline but not booktabs rules: shown as plain rules here
  // (the raw target below stays exactly as stored).
  function forDisplay(text) {
    return text.replace(/\\(toprule|midrule|bottomrule)(\[[^\]]*\])?/g, "\\hline")
               .replace(/[ \t]*\\cmidrule(\([^)]*\))?\{[^}]*\}[ \t]*\n?/g, "");  // no blank line
  }

  function rendered(detail) {
    var t = detail.target;
    switch (detail.kind) {
      case "math": return typeset("\\[\n" + t + "\n\\]");
      case "markdown": return typeset(forDisplay(t));
      case "json":
        try { return el("pre", "json", JSON.stringify(JSON.parse(t), null, 2)); }
        catch (e) { return el("pre", "json", t); }
      case "layout":
        var wrap = el("div", "layout");
        if (detail.drawing) {
          var drawn = el("img", "drawing");
          drawn.src = url(detail.drawing);
          drawn.alt = "layout boxes drawn over the image";
          wrap.appendChild(drawn);
        }
        try { wrap.appendChild(el("pre", "json", JSON.stringify(JSON.parse(t), null, 1))); }
        catch (e) { wrap.appendChild(el("pre", "json", t)); }
        return wrap;
      case "kern":
      case "smiles":
        if (detail.drawing) {
          var img = el("img", "drawing");
          img.src = url(detail.drawing);
          img.alt = detail.kind + " drawn back";
          return img;
        }
        return el("pre", null, t);
      default: return el("pre", null, t);
    }
  }

  function showDetail(row, detail) {
    document.getElementById("detail-id").textContent = detail.id;
    document.getElementById("detail-tags").textContent =
      row.renderer + " \u00b7 " + row.task + " \u00b7 " + row.width + "\u00d7" + row.height +
      " \u00b7 target drawn as " + detail.kind;
    var images = document.getElementById("detail-images");
    images.replaceChildren();
    detail.images.forEach(function (rel, i) {
      var img = el("img", "full");
      img.src = url(rel);
      img.alt = detail.id + " image " + i;
      images.appendChild(img);
    });
    document.getElementById("detail-prompt").textContent = "prompt: " + row.prompt;
    document.getElementById("detail-rendered").replaceChildren(rendered(detail));
    document.getElementById("detail-note").textContent = detail.note;
    document.getElementById("target-raw").textContent = detail.target;
    var meta = detail.meta;
    try { meta = JSON.stringify(JSON.parse(meta), null, 1); } catch (e) { /* as stored */ }
    document.getElementById("detail-meta").textContent = meta;
    document.getElementById("detail").hidden = false;
  }

  function closeDetail() {
    state.open = null;
    document.getElementById("detail").hidden = true;
  }

  function fill(select, values) {
    values.forEach(function (v) {
      var option = el("option", null, v);
      option.value = v;
      select.appendChild(option);
    });
  }

  window.addEventListener("load", function () {
    document.getElementById("title").textContent = "ocr2synth preview: " + DATA.name;
    document.getElementById("summary").textContent =
      DATA.shown + " of " + DATA.total + " samples shown (at most " + DATA.per_group +
      " per renderer and task)";
    var byRenderer = document.getElementById("filter-renderer");
    var byTask = document.getElementById("filter-task");
    fill(byRenderer, DATA.renderers);
    fill(byTask, DATA.tasks);
    byRenderer.addEventListener("change", function () {
      state.renderer = byRenderer.value; state.page = 0; drawGrid();
    });
    byTask.addEventListener("change", function () {
      state.task = byTask.value; state.page = 0; drawGrid();
    });
    document.getElementById("prev").addEventListener("click", function () {
      state.page -= 1; drawGrid();
    });
    document.getElementById("next").addEventListener("click", function () {
      state.page += 1; drawGrid();
    });
    document.getElementById("detail-close").addEventListener("click", closeDetail);
    document.getElementById("detail").addEventListener("click", function (e) {
      if (e.target.id === "detail") closeDetail();
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeDetail(); });
    drawGrid();
    document.body.dataset.ready = "1";
  });
})();
