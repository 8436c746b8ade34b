/* localtrack plot renderer: vanilla JS, no network, user strings only via textContent. */
(function () {
  'use strict';
  var LT = { drawn: 0, errors: [], ready: false };
  window.__localtrack = LT;
  window.addEventListener('error', function (e) { LT.errors.push(String(e.message || e)); });

  var NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
    '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#7b4173', '#3182bd'];
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  // ---- small DOM helpers -------------------------------------------------------------------
  function svg(tag, attrs, parent) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(n);
    return n;
  }
  // Bidi override/embedding/isolate controls could make a run name display as another one
  // ("evil\u202Eexe.txt"), so they are shown as visible code points instead.
  function show(s) {
    return String(s).replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, function (c) {
      return '<U+' + c.charCodeAt(0).toString(16).toUpperCase() + '>';
    });
  }
  function stext(parent, x, y, text, attrs) {
    var a = attrs || {};
    a.x = x; a.y = y;
    var t = svg('text', a, parent);
    t.textContent = show(text);
    return t;
  }
  function stitle(parent, text) { svg('title', {}, parent).textContent = show(text); }
  function el(tag, cls, parent, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = show(text);
    if (parent) parent.appendChild(n);
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function shorten(s, n) { s = show(s); return s.length > n ? s.slice(0, Math.max(1, n - 1)) + '\u2026' : s; }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }

  // ---- numbers, scales, colours -------------------------------------------------------------
  function fmt(v, digits) {
    if (v === null || v === undefined) return 'n/a';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(digits ? digits - 1 : 2).replace(/\.?0+e/, 'e');
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(digits || 4)));
  }
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / Math.max(count, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / mag;
    var step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    var out = [];
    var first = Math.ceil(lo / step - 1e-9);
    for (var i = first; i * step <= hi + step * 1e-9 && out.length < 50; i++) {
      var v = i * step;
      out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
    }
    return out;
  }
  function nice(lo, hi, count) {  // widen [lo, hi] to whole tick steps
    var t = ticks(lo, hi, count);
    if (t.length < 2) return [lo, hi];
    var step = t[1] - t[0];
    return [Math.min(lo, Math.floor(lo / step + 1e-9) * step), Math.max(hi, Math.ceil(hi / step - 1e-9) * step)];
  }
  function pad(lo, hi, frac) {
    if (!isNum(lo) || !isNum(hi)) return [0, 1];
    if (hi === lo) { var d = Math.abs(lo) * 0.05 || 1; return [lo - d, hi + d]; }
    var p = (hi - lo) * frac;
    return [lo - p, hi + p];
  }
  function scale(d0, d1, r0, r1) {
    var k = (r1 - r0) / ((d1 - d0) || 1);
    var f = function (v) { return r0 + (v - d0) * k; };
    f.invert = function (p) { return d0 + (p - r0) / k; };
    return f;
  }
  function viridis(t) {
    t = Math.max(0, Math.min(1, isNum(t) ? t : 0)) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(t), VIRIDIS.length - 2), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return 'rgb(' + [0, 1, 2].map(function (j) { return Math.round(a[j] + (b[j] - a[j]) * f); }).join(',') + ')';
  }
  var colorIndex = {};
  function colorFor(key) {
    if (!Object.prototype.hasOwnProperty.call(colorIndex, key)) {
      colorIndex[key] = PALETTE[Object.keys(colorIndex).length % PALETTE.length];
    }
    return colorIndex[key];
  }

  // ---- tooltip --------------------------------------------------------------------------------
  var tip = null;
  function showTip(ev, title, color, rows) {
    clear(tip);
    var t = el('div', 't', tip);
    if (color) { var sw = el('span', 'sw', t); sw.style.background = color; }
    el('span', null, t, title);
    rows.forEach(function (r) { var d = el('div', 'r', tip); el('span', null, d, r[0]); el('b', null, d, r[1]); });
    tip.style.display = 'block';
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }
  function hideTip() { if (tip) tip.style.display = 'none'; }

  // ---- axes -----------------------------------------------------------------------------------
  function drawAxes(g, box, sx, sy, xd, yd, xLabel, yLabel) {
    var grid = svg('g', { 'class': 'grid' }, g);
    var xt = ticks(xd[0], xd[1], Math.max(2, Math.floor((box.r - box.l) / 90)));
    var yt = ticks(yd[0], yd[1], Math.max(2, Math.floor((box.b - box.t) / 45)));
    xt.forEach(function (v) {
      var x = sx(v);
      svg('line', { x1: x, x2: x, y1: box.t, y2: box.b }, grid);
      stext(g, x, box.b + 15, fmt(v), { 'text-anchor': 'middle' });
    });
    yt.forEach(function (v) {
      var y = sy(v);
      svg('line', { x1: box.l, x2: box.r, y1: y, y2: y }, grid);
      stext(g, box.l - 6, y + 3.5, fmt(v), { 'text-anchor': 'end' });
    });
    svg('line', { 'class': 'axis', x1: box.l, x2: box.r, y1: box.b, y2: box.b }, g);
    svg('line', { 'class': 'axis', x1: box.l, x2: box.l, y1: box.t, y2: box.b }, g);
    if (xLabel) stext(g, (box.l + box.r) / 2, box.b + 34, shorten(xLabel, 80), { 'class': 'alabel', 'text-anchor': 'middle' });
    if (yLabel) {
      stext(g, 0, 0, shorten(yLabel, 40), { 'class': 'alabel', 'text-anchor': 'middle',
        transform: 'translate(14,' + ((box.t + box.b) / 2) + ') rotate(-90)' });
    }
  }

  // ---- line / scatter -------------------------------------------------------------------------
  function LinePanel(host, idx, metric, series, fig, multi) {
    this.idx = idx; this.metric = metric; this.series = series; this.fig = fig; this.multi = multi;
    this.view = null; this.onUp = null;
    this.div = el('div', 'lt-panel', host);
    this.div.setAttribute('data-metric', metric);
    var self = this;  // one window listener per panel, so a drag released outside still ends
    window.addEventListener('mouseup', function (ev) { if (self.onUp) self.onUp(ev); });
  }
  LinePanel.prototype.visible = function () {
    return this.series.filter(function (s) { return !hidden[s.label]; });
  };
  LinePanel.prototype.domain = function () {
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    this.visible().forEach(function (s) {
      for (var i = 0; i < s.x.length; i++) {
        var x = s.x[i], y = s.y[i];
        if (!isNum(x) || !isNum(y)) continue;
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    });
    if (x0 > x1) return { x: [0, 1], y: [0, 1] };
    var xd = x0 === x1 ? pad(x0, x1, 0) : [x0, x1];
    return { x: xd, y: pad(y0, y1, 0.05) };
  };
  LinePanel.prototype.render = function (width) {
    var self = this, fig = this.fig;
    clear(this.div);
    var H = this.multi ? 280 : 380, W = width;
    var box = { l: 66, r: W - 18, t: this.multi ? 30 : 14, b: H - 44 };
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, this.div);
    if (this.multi) stext(s, box.l, 18, shorten(this.metric, 100), { 'class': 'ptitle' });
    var d = this.view || this.domain();
    var sx = scale(d.x[0], d.x[1], box.l, box.r), sy = scale(d.y[0], d.y[1], box.b, box.t);
    drawAxes(s, box, sx, sy, d.x, d.y, fig.xLabel, this.multi ? this.metric : fig.yLabel);
    var clipId = 'lt-clip-' + this.idx;
    var cp = svg('clipPath', { id: clipId }, s);
    svg('rect', { x: box.l, y: box.t - 2, width: box.r - box.l, height: box.b - box.t + 4 }, cp);
    var plot = svg('g', { 'clip-path': 'url(#' + clipId + ')' }, s);
    var drawn = 0, scatter = fig.type === 'scatter';
    var vis = this.visible();
    var thin = vis.length > 12;
    vis.forEach(function (ser) {
      var parts = [], n = 0, inView = 0, r = scatter ? 2.6 : 2.4;
      for (var i = 0; i < ser.x.length; i++) {
        if (!isNum(ser.x[i]) || !isNum(ser.y[i])) continue;
        var px = sx(ser.x[i]).toFixed(1), py = sy(ser.y[i]).toFixed(1);
        if (scatter || ser.x.length === 1) {
          parts.push('M' + px + ',' + py + 'm-' + r + ',0a' + r + ',' + r + ' 0 1,0 ' + 2 * r + ',0a' + r + ',' + r + ' 0 1,0 -' + 2 * r + ',0');
        } else {
          parts.push((n === 0 ? 'M' : 'L') + px + ',' + py);
        }
        n++;
        if (ser.x[i] >= d.x[0] && ser.x[i] <= d.x[1] && ser.y[i] >= d.y[0] && ser.y[i] <= d.y[1]) inView++;
      }
      if (!n) return;
      var filled = scatter || ser.x.length === 1;
      var p = svg('path', { d: parts.join(''), fill: filled ? ser.color : 'none', stroke: filled ? 'none' : ser.color,
        'stroke-width': thin ? 1.1 : 1.7, 'stroke-linejoin': 'round', 'fill-opacity': 0.75, 'class': 'series' }, plot);
      p.setAttribute('data-label', ser.label);
      drawn += inView;
    });
    if (!drawn) stext(s, (box.l + box.r) / 2, (box.t + box.b) / 2, 'no finite points', { 'text-anchor': 'middle' });
    var marker = svg('circle', { r: 4.5, fill: 'none', stroke: '#1f2328', 'stroke-width': 1.5, visibility: 'hidden' }, s);
    var sel = svg('rect', { 'class': 'sel', visibility: 'hidden' }, s);
    var ov = svg('rect', { 'class': 'overlay', x: box.l, y: box.t, width: box.r - box.l, height: box.b - box.t }, s);
    var drag = null;
    function local(ev) {
      var rc = s.getBoundingClientRect();
      return [Math.max(box.l, Math.min(box.r, ev.clientX - rc.left)), Math.max(box.t, Math.min(box.b, ev.clientY - rc.top))];
    }
    ov.addEventListener('mousedown', function (ev) { if (ev.button === 0) { drag = local(ev); ev.preventDefault(); } });
    ov.addEventListener('mousemove', function (ev) {
      var p = local(ev);
      if (drag) {
        hideTip(); marker.setAttribute('visibility', 'hidden');
        svg_set(sel, { x: Math.min(drag[0], p[0]), y: Math.min(drag[1], p[1]), width: Math.abs(p[0] - drag[0]),
          height: Math.abs(p[1] - drag[1]), visibility: 'visible' });
        return;
      }
      var best = null, bd = Infinity;
      vis.forEach(function (ser) {
        for (var i = 0; i < ser.x.length; i++) {
          if (!isNum(ser.x[i]) || !isNum(ser.y[i])) continue;
          var dx = sx(ser.x[i]) - p[0], dy = sy(ser.y[i]) - p[1], dd = dx * dx + dy * dy;
          if (dd < bd) { bd = dd; best = [ser, i]; }
        }
      });
      if (!best) { hideTip(); return; }
      var ser = best[0], i = best[1];
      svg_set(marker, { cx: sx(ser.x[i]), cy: sy(ser.y[i]), stroke: ser.color, visibility: 'visible' });
      showTip(ev, ser.label, ser.color, [[fig.xLabel || 'x', fmt(ser.x[i], 7)], [ser.metric || fig.yLabel || 'y', fmt(ser.y[i], 7)]]);
    });
    ov.addEventListener('mouseleave', function () { hideTip(); marker.setAttribute('visibility', 'hidden'); });
    this.onUp = function (ev) {
      if (!drag) return;
      var p = local(ev), a = drag;
      drag = null;
      sel.setAttribute('visibility', 'hidden');
      var wx = Math.abs(p[0] - a[0]), wy = Math.abs(p[1] - a[1]);
      if (wx < 5) return;
      var xs = [sx.invert(Math.min(a[0], p[0])), sx.invert(Math.max(a[0], p[0]))];
      var ys = wy < 5 ? d.y : [sy.invert(Math.max(a[1], p[1])), sy.invert(Math.min(a[1], p[1]))];
      self.view = { x: xs, y: ys };
      renderAll();
    };
    ov.addEventListener('dblclick', function () { self.view = null; renderAll(); });
    return drawn;
  };
  function svg_set(n, attrs) { for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]); } }

  // ---- bars -----------------------------------------------------------------------------------
  function BarPanel(host, metric, bars, multi, maxLen) {
    this.metric = metric; this.bars = bars; this.multi = multi; this.maxLen = maxLen;
    this.div = el('div', 'lt-panel', host);
  }
  BarPanel.prototype.render = function (W) {
    clear(this.div);
    var bars = this.bars.filter(function (b) { return !hidden[b.label]; });
    var row = 24, top = this.multi ? 30 : 10;
    var H = top + Math.max(1, bars.length) * row + 40;
    var lw = Math.round(Math.min(W * 0.35, 16 + Math.max(4, this.maxLen) * 7));
    var box = { l: lw, r: W - 70, t: top, b: H - 40 };
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H }, this.div);
    if (this.multi) stext(s, 8, 18, shorten(this.metric, 100), { 'class': 'ptitle' });
    var vals = bars.map(function (b) { return b.value; }).filter(isNum);
    var lo = Math.min.apply(null, [0].concat(vals)), hi = Math.max.apply(null, [0].concat(vals));
    if (hi === lo) hi = lo + 1;
    var nd = nice(lo, hi, Math.max(2, Math.floor((box.r - box.l) / 90)));
    lo = nd[0]; hi = nd[1];
    var xt = ticks(lo, hi, Math.max(2, Math.floor((box.r - box.l) / 90)));
    var sx = scale(lo, hi, box.l, box.r), drawn = 0;
    var grid = svg('g', { 'class': 'grid' }, s);
    xt.forEach(function (v) {
      svg('line', { x1: sx(v), x2: sx(v), y1: box.t, y2: box.b }, grid);
      stext(s, sx(v), box.b + 15, fmt(v), { 'text-anchor': 'middle' });
    });
    stext(s, (box.l + box.r) / 2, box.b + 34, this.multi ? this.metric : (fig.yLabel || this.metric), { 'class': 'alabel', 'text-anchor': 'middle' });
    var maxChars = Math.max(3, Math.floor((lw - 16) / 7));
    bars.forEach(function (b, i) {
      var y = box.t + i * row;
      var lab = stext(s, box.l - 8, y + row / 2 + 4, shorten(b.label, maxChars), { 'text-anchor': 'end', 'class': 'alabel' });
      stitle(lab, b.label);
      if (!isNum(b.value)) { stext(s, sx(0) + 6, y + row / 2 + 4, fmt(b.value), {}); return; }
      var x0 = sx(Math.min(0, b.value)), x1 = sx(Math.max(0, b.value));
      var r = svg('rect', { x: x0, y: y + 4, width: Math.max(1, x1 - x0), height: row - 8, rx: 2, fill: colorFor(b.label) }, s);
      r.setAttribute('data-label', b.label);
      r.addEventListener('mousemove', function (ev) { showTip(ev, b.label, colorFor(b.label), [['metric', b.metric], ['value', fmt(b.value, 8)]]); });
      r.addEventListener('mouseleave', hideTip);
      stext(s, (b.value >= 0 ? x1 + 5 : x0 - 5), y + row / 2 + 4, fmt(b.value), { 'text-anchor': b.value >= 0 ? 'start' : 'end' });
      drawn++;
    });
    svg('line', { 'class': 'axis', x1: sx(0), x2: sx(0), y1: box.t, y2: box.b }, s);
    return drawn;
  };

  // ---- parallel coordinates -------------------------------------------------------------------
  function ParallelPanel(host, par) {
    this.par = par; this.brush = {};
    this.div = el('div', 'lt-panel', host);
  }
  ParallelPanel.prototype.render = function (W) {
    var self = this, par = this.par, dims = par.dimensions, runs = par.runs;
    clear(this.div);
    var H = 460, box = { l: 70, r: W - 90, t: 40, b: H - 84 };
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H }, this.div);
    if (!dims.length || !runs.length) { stext(s, W / 2, H / 2, 'nothing to plot', { 'text-anchor': 'middle' }); return 0; }
    var step = dims.length > 1 ? (box.r - box.l) / (dims.length - 1) : 0;
    var NA = box.b + 22;
    var axes = dims.map(function (dim, k) {
      var ax = { dim: dim, x: dims.length > 1 ? box.l + k * step : (box.l + box.r) / 2 };
      if (dim.kind === 'category') {
        var cats = [];
        dim.values.forEach(function (v) { if (v !== null && cats.indexOf(String(v)) < 0) cats.push(String(v)); });
        cats.sort();
        ax.cats = cats;
        ax.y = function (v) {
          if (v === null || v === undefined) return NA;
          var i = cats.indexOf(String(v));
          return box.b - (i + 0.5) / cats.length * (box.b - box.t);
        };
      } else {
        var nums = dim.values.filter(isNum);
        var lo = Math.min.apply(null, nums.length ? nums : [0]), hi = Math.max.apply(null, nums.length ? nums : [1]);
        ax.log = lo > 0 && hi / lo >= 100;  // learning rates, weight decay: spread over decades
        if (ax.log) {
          var l0 = Math.log10(lo), l1 = Math.log10(hi), lsc = scale(l0, l1, box.b, box.t);
          ax.dom = [lo, hi];
          ax.sc = function (v) { return lsc(Math.log10(v)); };
          ax.ticks = [];
          for (var e = Math.ceil(l0 - 1e-9); e <= l1 + 1e-9; e++) ax.ticks.push(Math.pow(10, e));
        } else {
          ax.dom = hi === lo ? pad(lo, hi, 0) : [lo, hi];
          ax.sc = scale(ax.dom[0], ax.dom[1], box.b, box.t);
          ax.ticks = ticks(ax.dom[0], ax.dom[1], 5);
        }
        var sc = ax.sc;
        ax.y = function (v) { return isNum(v) && (!ax.log || v > 0) ? sc(v) : NA; };
      }
      return ax;
    });
    var cdim = par.color === null || par.color === undefined ? null : dims[par.color];
    var cnums = cdim ? cdim.values.filter(isNum) : [];
    var c0 = Math.min.apply(null, cnums.length ? cnums : [0]), c1 = Math.max.apply(null, cnums.length ? cnums : [1]);
    function runColor(i) {
      if (!cdim) return colorFor(runs[i]);
      var v = cdim.values[i];
      if (cdim.kind === 'category') return v === null ? '#9aa0a6' : colorFor(String(v));
      return isNum(v) ? viridis(c1 > c0 ? (v - c0) / (c1 - c0) : 0.5) : '#9aa0a6';
    }
    var g = svg('g', {}, s), ag = svg('g', { 'class': 'pc-axes' }, s);
    // axes (drawn above the lines, labels with a halo)
    axes.forEach(function (ax) {
      var s = ag;
      svg('line', { 'class': 'axis', x1: ax.x, x2: ax.x, y1: box.t, y2: box.b, 'stroke-width': 1.2 }, s);
      var name = stext(s, ax.x, box.t - 14, shorten(ax.dim.name, Math.max(6, Math.floor(step / 7) || 30)) + (ax.log ? ' (log)' : ''), { 'text-anchor': 'middle', 'class': 'alabel' });
      stitle(name, ax.dim.name);
      if (ax.cats) {
        ax.cats.forEach(function (c) { stext(s, ax.x - 6, ax.y(c) + 3.5, shorten(c, 14), { 'text-anchor': 'end' }); });
      } else {
        ax.ticks.forEach(function (v) {
          svg('line', { 'class': 'axis', x1: ax.x - 4, x2: ax.x, y1: ax.sc(v), y2: ax.sc(v) }, s);
          stext(s, ax.x - 6, ax.sc(v) + 3.5, fmt(v), { 'text-anchor': 'end' });
        });
      }
      if (ax.dim.values.some(function (v) { return v === null || (ax.cats ? false : !isNum(v)); })) {
        stext(s, ax.x - 6, NA + 3.5, 'n/a', { 'text-anchor': 'end' });
      }
    });
    // lines
    var paths = [], order = runs.map(function (_, i) { return i; });
    if (cdim && cdim.kind !== 'category') {  // draw best-coloured last so they sit on top
      order.sort(function (a, b) {
        var va = cdim.values[a], vb = cdim.values[b];
        return (isNum(va) ? va : -Infinity) - (isNum(vb) ? vb : -Infinity) || a - b;
      });
    }
    var pts = runs.map(function (_, i) { return axes.map(function (ax) { return [ax.x, ax.y(ax.dim.values[i])]; }); });
    order.forEach(function (i) {
      var d = pts[i].map(function (p, k) { return (k ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join('');
      if (pts[i].length === 1) d += 'h0.1';
      var p = svg('path', { d: d, fill: 'none', stroke: runColor(i), 'stroke-width': 1.6, 'stroke-opacity': 0.85, 'class': 'run' }, g);
      p.setAttribute('data-label', runs[i]);
      paths[i] = p;
    });
    function inBrush(i) {
      return axes.every(function (ax, k) {
        var b = self.brush[k];
        if (!b) return true;
        var y = ax.y(ax.dim.values[i]);
        return y >= b[0] && y <= b[1];
      });
    }
    var hot = -1;
    function restyle() {
      paths.forEach(function (p, i) {
        var on = inBrush(i);
        p.setAttribute('stroke', on ? runColor(i) : '#d0d7de');
        p.setAttribute('stroke-opacity', hot >= 0 ? (i === hot ? 1 : 0.25) : on ? 0.85 : 0.5);
        p.setAttribute('stroke-width', i === hot ? 3.5 : 1.6);
      });
      if (Object.keys(self.brush).length) {  // runs kept by the filter sit above greyed ones
        order.forEach(function (i) { if (inBrush(i)) g.appendChild(paths[i]); });
      }
      if (hot >= 0) g.appendChild(paths[hot]);
    }
    // colour bar
    if (cdim && cdim.kind !== 'category' && cnums.length) {
      var defs = svg('defs', {}, s), grad = svg('linearGradient', { id: 'lt-cbar' }, defs);
      for (var j = 0; j <= 8; j++) svg('stop', { offset: (j / 8 * 100) + '%', 'stop-color': viridis(j / 8) }, grad);
      var cw = Math.min(260, box.r - box.l), cx = box.r - cw, cy = H - 26;
      svg('rect', { x: cx, y: cy, width: cw, height: 10, rx: 2, fill: 'url(#lt-cbar)' }, s);
      stext(s, cx - 6, cy + 9, fmt(c0), { 'text-anchor': 'end' });
      stext(s, cx + cw + 6, cy + 9, fmt(c1), {});
      stext(s, cx - 52, cy + 9, shorten(cdim.name, 40), { 'text-anchor': 'end', 'class': 'alabel' });
    }
    var sel = svg('rect', { 'class': 'sel', visibility: 'hidden', width: 16 }, s);
    var ov = svg('rect', { 'class': 'overlay', x: box.l - 20, y: box.t - 4, width: box.r - box.l + 40, height: NA - box.t + 12 }, s);
    var brushing = null;
    function local(ev) { var rc = s.getBoundingClientRect(); return [ev.clientX - rc.left, ev.clientY - rc.top]; }
    function nearAxis(x) {
      for (var k = 0; k < axes.length; k++) if (Math.abs(axes[k].x - x) < 12) return k;
      return -1;
    }
    function nearestRun(p) {
      var k = 0;
      while (k < axes.length - 2 && p[0] > axes[k + 1].x) k++;
      var best = -1, bd = Infinity;
      pts.forEach(function (q, i) {
        var y;
        if (q.length === 1) y = q[0][1];
        else {
          var a = q[k], b = q[k + 1], t = Math.max(0, Math.min(1, (p[0] - a[0]) / ((b[0] - a[0]) || 1)));
          y = a[1] + (b[1] - a[1]) * t;
        }
        var dd = Math.abs(y - p[1]);
        if (dd < bd && inBrush(i)) { bd = dd; best = i; }
      });
      return bd < 24 ? best : -1;
    }
    ov.addEventListener('mousedown', function (ev) {
      var p = local(ev), k = nearAxis(p[0]);
      if (k >= 0) { brushing = { k: k, y0: p[1] }; ev.preventDefault(); }
    });
    ov.addEventListener('mousemove', function (ev) {
      var p = local(ev);
      if (brushing) {
        var y0 = Math.min(brushing.y0, p[1]), y1 = Math.max(brushing.y0, p[1]);
        svg_set(sel, { x: axes[brushing.k].x - 8, y: y0, height: y1 - y0, visibility: 'visible' });
        return;
      }
      ov.style.cursor = nearAxis(p[0]) >= 0 ? 'ns-resize' : 'default';
      var i = nearestRun(p);
      if (i !== hot) { hot = i; restyle(); }
      if (i < 0) { hideTip(); return; }
      showTip(ev, runs[i], runColor(i), dims.map(function (dm) { return [dm.name, fmt(dm.values[i], 6)]; }));
    });
    ov.addEventListener('mouseleave', function () { hideTip(); if (hot >= 0) { hot = -1; restyle(); } });
    ov.addEventListener('mouseup', function (ev) {
      if (!brushing) return;
      var p = local(ev), b = brushing;
      brushing = null;
      var y0 = Math.min(b.y0, p[1]), y1 = Math.max(b.y0, p[1]);
      if (y0 <= box.t + 6) y0 = box.t - 1;  // a brush started at an axis end includes it
      if (y1 >= box.b - 6 && y1 < NA - 6) y1 = box.b + 1;
      if (Math.abs(p[1] - b.y0) < 4) delete self.brush[b.k];
      else self.brush[b.k] = [y0, y1];
      hot = -1; hideTip();
      restyle();
      sel.setAttribute('visibility', 'hidden');
      drawBrushes();
    });
    ov.addEventListener('dblclick', function () { self.brush = {}; restyle(); drawBrushes(); });
    var bg = svg('g', {}, s);
    s.insertBefore(bg, ov);
    function drawBrushes() {
      clear(bg);
      Object.keys(self.brush).forEach(function (k) {
        var b = self.brush[k];
        svg('rect', { 'class': 'sel', x: axes[k].x - 8, y: b[0], width: 16, height: b[1] - b[0] }, bg);
      });
    }
    restyle(); drawBrushes();
    return runs.length;
  };

  // ---- page -----------------------------------------------------------------------------------
  var fig = null, hidden = {}, panels = [], legendHost = null, panelHost = null;

  function buildLegend(labels) {
    clear(legendHost);
    if (labels.length < 1) return;
    labels.forEach(function (lab) {
      var b = el('button', hidden[lab] ? 'off' : '', legendHost);
      b.type = 'button';
      b.title = show(lab);
      b.setAttribute('aria-pressed', hidden[lab] ? 'false' : 'true');
      var sw = el('span', 'sw', b); sw.style.background = colorFor(lab);
      el('span', 'lbl', b, lab);
      b.addEventListener('click', function () {
        hidden[lab] = !hidden[lab];
        b.className = hidden[lab] ? 'off' : '';
        b.setAttribute('aria-pressed', hidden[lab] ? 'false' : 'true');
        renderAll();
      });
    });
  }

  function renderAll() {
    hideTip();
    var W = Math.max(360, Math.min(panelHost.clientWidth || 900, 1400) - 10);
    var n = 0;
    panels.forEach(function (p) { n += p.render(W); });
    LT.drawn = n;
  }

  function uniq(arr) { var out = []; arr.forEach(function (v) { if (out.indexOf(v) < 0) out.push(v); }); return out; }

  function main() {
    var raw = document.getElementById('lt-data').textContent;
    fig = JSON.parse(raw);
    document.title = show(fig.title || 'localtrack');
    var root = document.getElementById('lt-root');
    el('h1', null, root, fig.title || 'localtrack');
    var sub = el('div', 'lt-sub', root);
    legendHost = el('div', 'lt-legend', root);
    panelHost = el('div', 'lt-panels', root);
    tip = el('div', 'lt-tip', document.body);
    tip.setAttribute('role', 'tooltip');
    var hint = '';
    if (fig.type === 'line' || fig.type === 'scatter') {
      var series = fig.series || [];
      series.forEach(function (s) { s.color = colorFor(s.label); });
      var metrics = uniq(series.map(function (s) { return s.metric; }));
      metrics.forEach(function (m, i) {
        panels.push(new LinePanel(panelHost, i, m, series.filter(function (s) { return s.metric === m; }), fig, metrics.length > 1));
      });
      buildLegend(uniq(series.map(function (s) { return s.label; })));
      sub.textContent = fig.type + ' \u00b7 ' + series.length + ' series \u00b7 ' + metrics.length + ' metric' + (metrics.length === 1 ? '' : 's');
      hint = 'Drag a box to zoom (a flat drag zooms x only) \u00b7 double-click to reset \u00b7 click a legend entry to hide or show it.';
    } else if (fig.type === 'bar') {
      var bars = fig.bars || [];
      var bm = uniq(bars.map(function (b) { return b.metric; }));
      var maxLen = Math.max.apply(null, [4].concat(bars.map(function (b) { return show(b.label).length; })));
      bm.forEach(function (m) { panels.push(new BarPanel(panelHost, m, bars.filter(function (b) { return b.metric === m; }), bm.length > 1, maxLen)); });
      buildLegend(uniq(bars.map(function (b) { return b.label; })));
      sub.textContent = 'final values \u00b7 ' + uniq(bars.map(function (b) { return b.label; })).length + ' runs';
      hint = 'Click a legend entry to hide or show a run.';
    } else if (fig.type === 'parallel' && fig.parallel) {
      panels.push(new ParallelPanel(panelHost, fig.parallel));
      sub.textContent = 'parallel coordinates \u00b7 ' + fig.parallel.runs.length + ' runs \u00b7 ' + fig.parallel.dimensions.length + ' dimensions';
      hint = 'Hover a line to see its run \u00b7 drag along an axis to filter \u00b7 click an axis to clear its filter \u00b7 double-click to clear all.';
    }
    if (!panels.length) el('div', 'lt-empty', panelHost, 'No data to plot.');
    else el('div', 'lt-hint', root, hint);
    renderAll();
    var pending = null;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(renderAll, 120);
    });
  }

  try {
    main();
  } catch (e) {
    LT.errors.push(String(e && e.stack || e));
    var root = document.getElementById('lt-root') || document.body;
    el('div', 'lt-error', root, 'localtrack could not draw this figure: ' + String(e && e.message || e));
  }
  LT.ready = true;
}());
