// Chart drawing and read-back for the chart-echarts renderer. The option arrives only as
// the argument of ocrChart() (page.evaluate(fn, arg)); it is plain JSON data (no functions),
// so nothing in it can run as code.
(function () {
  "use strict";
  var chart = null;

  // Every text ECharts painted: its string and its box in canvas pixels. ZRText elements
  // are found by walking the scene graph (the display list holds their line spans).
  function texts(zr) {
    var out = [];
    zr.storage.getRoots().forEach(function walk(el) {
      if (el.ignore || el.invisible) return;
      if (el.type === "text" && el.style && el.style.text !== undefined &&
          String(el.style.text).trim() !== "" && el.style.opacity !== 0) {
        var r = el.getBoundingRect().clone();
        if (el.transform) r.applyTransform(el.transform);
        out.push({ text: String(el.style.text), x0: r.x, y0: r.y, x1: r.x + r.width,
                   y1: r.y + r.height });
      }
      if (el.isGroup && el.eachChild) el.eachChild(walk);
      var inner = el.getTextContent && el.getTextContent();
      if (inner) walk(inner);
    });
    return out;
  }

  function pick(list) { return (list || []).map(function (x) { return x; }); }

  // Load every font family the charts use before the first chart: zrender caches text
  // widths across charts, and a width measured while a font is still loading would shift
  // the layout of later charts (the same chart must give the same pixels in any order).
  window.ocrWarmFonts = function (families) {
    var ctx = document.createElement("canvas").getContext("2d");
    var sample = "0123456789.,-% Aa Zz \u4e2d\u6587\uff08\uff09\u5e74\u6708";
    return Promise.all(families.map(function (f) {
      return document.fonts.load("16px " + f, sample);
    })).then(function () {
      families.forEach(function (f) {
        [10, 12, 14, 16, 18, 20].forEach(function (px) {
          ctx.font = px + "px " + f;
          ctx.measureText(sample);
        });
      });
      return document.fonts.ready;
    }).then(function () { return families.length; });
  };

  // Charts of one capture: slot 0 is #chart at the top left, slot i > 0 a container of
  // its own below it. Each slot holds its own ECharts instance on its own canvas, so a
  // chart's pixels do not depend on the other slots; the renderer places them apart.
  var slots = [];

  function container(slot) {
    if (slot === 0) return document.getElementById("chart");
    var id = "chart-" + slot, box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.className = "slot";
      document.body.appendChild(box);
    }
    return box;
  }

  // a: {width, height, theme, option, renderer, slot?, left?, top?}; slot 0 (the default)
  // starts a capture: every other slot is emptied and removed, so nothing from an earlier
  // group can show through the area of this one
  window.ocrChart = function (a) {
    var slot = a.slot || 0;
    if (slot === 0) {
      for (var i = 1; i < slots.length; i++) {
        if (slots[i]) slots[i].dispose();
        var old = document.getElementById("chart-" + i);
        if (old) old.remove();
      }
      slots.length = Math.min(slots.length, 1);
    }
    var box = container(slot);
    // a fresh instance per chart: a reused one carries state (layout caches, legend
    // selection) from the chart before, and the same chart must give the same pixels
    {
      if (slots[slot]) slots[slot].dispose();
      box.style.left = (a.left || 0) + "px";
      box.style.top = (a.top || 0) + "px";
      box.style.width = a.width + "px";
      box.style.height = a.height + "px";
      chart = slots[slot] = echarts.init(box, a.theme || null, {
        renderer: a.renderer, width: a.width, height: a.height, devicePixelRatio: 1 });
    }
    chart.setOption(a.option, { notMerge: true, lazyUpdate: false });
    chart.getZr().refreshImmediately();
    var applied = chart.getOption();
    var series = applied.series.map(function (s) {
      return { name: s.name, type: s.type, stack: s.stack || null,
               data: (s.data || []).map(function (d) {
                 return d !== null && typeof d === "object" && !Array.isArray(d) ?
                   { name: d.name, value: d.value } : d;
               }) };
    });
    var radar = applied.radar && applied.radar[0] ?
      applied.radar[0].indicator.map(function (i) { return i.name; }) : [];
    return {
      series: series,
      xAxis: (applied.xAxis || []).map(function (x) { return { type: x.type, data: pick(x.data) }; }),
      yAxis: (applied.yAxis || []).map(function (y) { return { type: y.type, data: pick(y.data) }; }),
      legend: applied.legend && applied.legend[0] ? pick(applied.legend[0].data) : [],
      radar: radar,
      texts: texts(chart.getZr())
    };
  };
})();
