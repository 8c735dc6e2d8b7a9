// Page layout and measurement for the markdown-page renderer. Content arrives only as the
// argument of ocrPage()/ocrFormula() (page.evaluate(fn, arg)); it is rendered by
// mathpix-markdown-it with raw HTML off, so markdown can never add script to the page.
(function () {
  "use strict";
  // mathpix-options.js, loaded before this script
  var RENDER_OPTIONS = window.OCR2SYNTH_MATHPIX_OPTIONS;
  var MATH = "mjx-container, .math-inline, .math-block, svg";
  var CJK = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]/;

  window.addEventListener("load", function () {
    if (window.loadMathJax) { try { window.loadMathJax(); } catch (e) { /* styles only */ } }
  });

  // Consecutive pages of a document hand the blocks that did not fit to the next page:
  // their HTML is kept rather than rendered again (keyed by width and source).
  var CACHE = new Map(), CACHE_SIZE = 600;
  function keyOf(text, width) { return width + "\u0000" + text; }
  function optionsFor(width) { return Object.assign({}, RENDER_OPTIONS, { width: width }); }
  function md(text, width) {
    var key = keyOf(text, width), html = CACHE.get(key);
    if (html === undefined) {
      html = window.render(text, optionsFor(width));
      if (CACHE.size >= CACHE_SIZE) CACHE.clear();
      CACHE.set(key, html);
    }
    return html;
  }

  // mathpix-markdown-it builds a new parser (about 0.5 ms) for every render call, so the
  // blocks a page still needs are rendered in one call, each followed by a paragraph of its
  // own, and the HTML is split there again: each piece is what its block renders to alone
  // (the same, on 8,463 generated blocks, but for the anchor ids of repeated headings). Only
  // for documents whose blocks share no state (no footnotes, labels, numbered equations or
  // sections: `a.joint`, which the generated documents set); a split that does not come
  // out one piece per block falls back to one call per block.
  var BREAK = "ocr2synthblockbreak";
  var SHELLS = new Map();  // width -> [the HTML around a rendered text, before and after]
  function shellOf(width) {
    if (!SHELLS.has(width)) {
      var html = window.render(BREAK, optionsFor(width));
      var at = html.indexOf("<div>" + BREAK + "</div>");
      SHELLS.set(width, at < 0 ? null : [html.slice(0, at),
                                         html.slice(at + BREAK.length + 11)]);
    }
    return SHELLS.get(width);
  }
  function renderTogether(texts, width) {
    var missing = [];
    texts.forEach(function (t) {
      if (!CACHE.has(keyOf(t, width)) && t.indexOf(BREAK) < 0 &&
          missing.indexOf(t) < 0) missing.push(t);
    });
    var shell = missing.length > 1 ? shellOf(width) : null;
    if (!shell) return;
    var html = window.render(missing.join("\n\n" + BREAK + "\n\n"), optionsFor(width));
    if (html.slice(0, shell[0].length) !== shell[0] ||
        html.slice(html.length - shell[1].length) !== shell[1]) return;
    var pieces = html.slice(shell[0].length, html.length - shell[1].length)
      .split("\n<div>" + BREAK + "</div>\n");
    if (pieces.length !== missing.length) return;
    if (CACHE.size + pieces.length > CACHE_SIZE) CACHE.clear();
    pieces.forEach(function (piece, i) {
      CACHE.set(keyOf(missing[i], width), shell[0] + piece + shell[1]);
    });
  }

  function rectsOf(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var out = [];
    var rs = range.getClientRects();
    for (var i = 0; i < rs.length; i++) {
      if (rs[i].width > 0 && rs[i].height > 0) out.push(rs[i]);
    }
    el.querySelectorAll(MATH + ", table, img").forEach(function (m) {
      var r = m.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) out.push(r);
    });
    return out;
  }

  function inside(el, frame, colWidth) {
    var rs = rectsOf(el);
    for (var i = 0; i < rs.length; i++) {
      var r = rs[i];
      if (r.top < frame.top - 1 || r.bottom > frame.bottom + 0.5 || r.left < frame.left - 1 ||
          r.right > frame.right + 1 || r.width > colWidth + 1) return false;
    }
    return true;
  }

  function tooWide(el, colWidth) {
    var rs = rectsOf(el);
    for (var i = 0; i < rs.length; i++) if (rs[i].width > colWidth + 1) return true;
    // scrolling containers hide what overflows them
    var all = el.querySelectorAll("div, table, pre, .math-block, mjx-container");
    for (var j = 0; j < all.length; j++) {
      if (all[j].scrollWidth > all[j].clientWidth + 1 && all[j].clientWidth > 0 &&
          getComputedStyle(all[j]).overflowX !== "visible") return true;
    }
    return false;
  }

  function union(rs) {
    var b = null;
    rs.forEach(function (r) {
      if (!b) b = { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
      else {
        b.x0 = Math.min(b.x0, r.left); b.y0 = Math.min(b.y0, r.top);
        b.x1 = Math.max(b.x1, r.right); b.y1 = Math.max(b.y1, r.bottom);
      }
    });
    return b;
  }

  // Line boxes: the rects of words (and whole formulas), merged while they share a line.
  function lines(el, cjk) {
    var tokens = [];
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        if (n.nodeType === 1 && n.matches(MATH)) {
          var r = n.getBoundingClientRect();
          if (r.width > 0) tokens.push({ r: r, t: "" });
          return NodeFilter.FILTER_REJECT;
        }
        return n.nodeType === 3 ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      }
    });
    var range = document.createRange();
    var re = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+/g;
    var node;
    while ((node = walker.nextNode())) {
      var text = node.nodeValue, m;
      re.lastIndex = 0;
      while ((m = re.exec(text))) {
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        var rs = range.getClientRects();
        for (var i = 0; i < rs.length; i++) {
          if (rs[i].width > 0) tokens.push({ r: rs[i], t: i === 0 ? m[0] : "" });
        }
      }
    }
    var out = [], cur = null;
    tokens.forEach(function (tok) {
      var r = tok.r, mid = (r.top + r.bottom) / 2;
      if (cur && mid >= cur.y0 && mid <= cur.y1 && r.left >= cur.x1 - 2) {
        cur.x1 = Math.max(cur.x1, r.right); cur.y0 = Math.min(cur.y0, r.top);
        cur.y1 = Math.max(cur.y1, r.bottom);
        if (tok.t) cur.words.push(tok.t);
      } else {
        cur = { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, words: tok.t ? [tok.t] : [] };
        out.push(cur);
      }
    });
    return out.map(function (l) {
      var text = "";
      l.words.forEach(function (w) {
        text += (text && !(cjk && CJK.test(w) && CJK.test(text.slice(-1))) ? " " : "") + w;
      });
      return { x0: l.x0, y0: l.y0, x1: l.x1, y1: l.y1, text: text };
    });
  }

  function plainText(el) {
    var copy = el.cloneNode(true);
    copy.querySelectorAll(MATH).forEach(function (m) { m.remove(); });
    // innerText needs layout: measure the copy off-screen
    copy.style.position = "absolute"; copy.style.left = "-99999px";
    document.body.appendChild(copy);
    var text = copy.innerText;
    copy.remove();
    return text;
  }

  // Slot 1 is a second page at `left` px right of slot 0, so that one capture takes two
  // pages; laying out slot 0 empties and hides slot 1.
  function slotOf(a) {
    var second = document.getElementById("page1");
    if (!a.slot) {
      second.style.display = "none";
      document.getElementById("body1").textContent = "";
      document.getElementById("foot1").textContent = "";
      return ["page", "body", "foot"].map(function (id) { return document.getElementById(id); });
    }
    second.style.left = a.left + "px";
    return ["page1", "body1", "foot1"].map(function (id) { return document.getElementById(id); });
  }

  // a: {width, height, padding: [t, r, b, l], columns, gap, font, size, lineHeight,
  //     align, blocks: [{md, kind}], notes: [{owner, md}], lang, measure, pageText, joint,
  //     slot (0 or 1), left (slot 1's x), whole (no block breaks across columns)}
  // Returns the blocks shown (all blocks before `cut`, less those too wide for a column);
  // with measure false, only which blocks fit (to find where the next page starts).
  window.ocrPage = function (a) {
    var els = slotOf(a), page = els[0], body = els[1], foot = els[2];
    page.style.display = "flex";
    page.style.width = a.width + "px";
    page.style.height = a.height + "px";
    page.style.padding = a.padding.map(function (p) { return p + "px"; }).join(" ");
    page.style.fontFamily = a.font;
    page.style.fontSize = a.size + "px";
    page.style.lineHeight = String(a.lineHeight);
    page.style.textAlign = a.align;
    body.style.columnCount = String(a.columns);
    body.style.columnGap = a.gap + "px";
    body.classList.toggle("whole", !!a.whole);
    body.textContent = "";
    foot.textContent = "";
    if (a.joint) {
      renderTogether(a.blocks.map(function (b) { return b.md; })
        .concat(a.notes.map(function (n) { return n.md; })), a.width);
    }
    var blocks = a.blocks.map(function (b, i) {
      var d = document.createElement("div");
      d.className = "blk " + b.kind;
      d.innerHTML = md(b.md, a.width);
      body.appendChild(d);
      return d;
    });
    var notes = a.notes.map(function (n) {
      var d = document.createElement("div");
      d.className = "blk note";
      d.innerHTML = md(n.md, a.width);
      foot.appendChild(d);
      return d;
    });
    var bodyRect = body.getBoundingClientRect();
    var colWidth = (bodyRect.width - (a.columns - 1) * a.gap) / a.columns;
    var dropped = {};
    blocks.forEach(function (d, i) {
      if (tooWide(d, colWidth)) { d.style.display = "none"; dropped[i] = "too-wide"; }
    });
    var shown = function (i) { return blocks[i].style.display !== "none"; };
    var cut = blocks.length;
    // the page ends before block n: its notes go with it
    var cutAt = function (n) {
      for (var k = n; k < cut; k++) blocks[k].style.display = "none";
      cut = n;
      notes.forEach(function (d, j) {
        d.style.display = (a.notes[j].owner < cut && shown(a.notes[j].owner)) ? "" : "none";
      });
    };
    cutAt(cut);
    for (var round = 0; round < 100; round++) {
      var frame = body.getBoundingClientRect();
      var pageRect = page.getBoundingClientRect();
      var inner = { left: pageRect.left + a.padding[3], right: pageRect.right - a.padding[1],
                    top: pageRect.top + a.padding[0], bottom: pageRect.bottom - a.padding[2] };
      var bad = -1;
      for (var i = 0; i < cut && bad < 0; i++) {
        if (shown(i) && !inside(blocks[i], frame, colWidth)) bad = i;
      }
      for (var j = 0; j < notes.length && bad < 0; j++) {
        if (notes[j].style.display !== "none" && !inside(notes[j], inner, inner.right - inner.left)) {
          bad = a.notes[j].owner;
        }
      }
      if (bad < 0) break;
      cutAt(bad);
    }
    // a heading keeps with what follows it: headings left last on a page whose content
    // goes on start the next page instead (unless the page would hold headings only)
    if (cut < blocks.length) {
      var keep = cut, hasText = false;
      for (var h = cut - 1; h >= 0 && (!shown(h) || a.blocks[h].kind === "heading"); h--) {
        if (shown(h)) keep = h;
      }
      for (var r = 0; r < keep; r++) {
        if (shown(r) && a.blocks[r].kind !== "heading") hasText = true;
      }
      if (keep < cut && hasText) cutAt(keep);
    }
    var origin = page.getBoundingClientRect();
    var shift = function (b) {
      return { x0: b.x0 - origin.left, y0: b.y0 - origin.top, x1: b.x1 - origin.left,
               y1: b.y1 - origin.top, text: b.text || "" };
    };
    var cjk = a.lang === "zh";
    var report = function (d) {
      var box = union(rectsOf(d));
      return { box: box && shift(box), lines: lines(d, cjk).map(shift),
               text: a.pageText ? plainText(d) : "" };
    };
    var visible = [], out = [], noteOut = [];
    blocks.forEach(function (d, i) {
      if (i < cut && shown(i)) { visible.push(i); if (a.measure) out.push(report(d)); }
    });
    if (!a.measure) return { visible: visible, cut: cut, dropped: dropped };
    notes.forEach(function (d, j) {
      if (d.style.display !== "none") noteOut.push(Object.assign({ index: j }, report(d)));
    });
    return { visible: visible, cut: cut, blocks: out, notes: noteOut, dropped: dropped,
             rawMath: /\\[()[\]]/.test(page.innerText) };
  };

  // One formula, display style, in its own box: {tex, size, font}
  window.ocrFormula = function (a) {
    var els = slotOf({ slot: 0 }), page = els[0], body = els[1];
    els[2].textContent = "";
    page.style.width = "auto"; page.style.height = "auto"; page.style.padding = "0";
    page.style.display = "inline-block";
    page.style.fontSize = a.size + "px";
    body.style.columnCount = "auto";
    body.textContent = "";
    var d = document.createElement("div");
    d.className = "formula";
    d.style.padding = a.pad + "px";
    d.innerHTML = md("\\[" + "\n" + a.tex + "\n" + "\\]", 4000);
    body.appendChild(d);
    var r = d.getBoundingClientRect();
    var err = d.querySelector("mjx-merror, [data-mjx-error], .math-error, merror");
    return { width: Math.ceil(r.width), height: Math.ceil(r.height),
             error: err ? (err.getAttribute("data-mjx-error") || err.textContent || "error") : "",
             svg: !!d.querySelector("svg") };
  };
})();
