"""A self-contained HTML page that draws a laid-out network on a 2D canvas: pan, zoom, hover.

Why not vis.js (pyvis): building a vis network costs about 1 ms per edge in Chromium (each edge
and node is an object with merged options), so a 1,000-node hub sample with 11,000 follow edges
took 1 to 3 s to appear, before any Streamlit time; the 470 kB inlined library adds parsing on
every view. Positions are computed in Python anyway (ui.netview.layout), so the page only has to
draw: one canvas path per edge kind and per node colour, about 20 ms for that sample. Canvas 2D
needs no GPU (WebGL falls back to software or is refused in headless Chromium).

The page loads nothing from the internet. All text (hover titles, labels) is placed with
``textContent``/``fillText``, never as HTML, and the data is embedded as JSON with ``<``, ``>``
and ``&`` escaped, so user ids from uploads cannot inject markup or script. When drawn, the page
sets ``window.s3view = {nodes, edges, draws}`` so tests can tell that the view is up.
"""

from __future__ import annotations

import json

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
html,body{margin:0;padding:0;background:#fff;overflow:hidden;font-family:sans-serif}
#netview{position:relative;width:100%;height:__HEIGHT__px;border:1px solid #d3d3d3;box-sizing:border-box;
  cursor:grab;touch-action:none;user-select:none}
#netview.dragging{cursor:grabbing}
#netview canvas{display:block;width:100%;height:100%}
#nettip{position:absolute;display:none;background:#f5f4ed;border:1px solid #808074;border-radius:3px;
  box-shadow:3px 3px 10px rgba(0,0,0,.2);color:#000;font:13px verdana,sans-serif;padding:5px;
  pointer-events:none;white-space:nowrap;z-index:5}
</style></head><body>
<div id="netview"><canvas></canvas><div id="nettip"></div></div>
<script>
(function () {
  const D = __DATA__;
  const view = document.getElementById("netview"), cv = view.querySelector("canvas");
  const tip = document.getElementById("nettip"), ctx = cv.getContext("2d");
  const n = D.x.length, m = D.s.length, TAU = 2 * Math.PI;
  let W = 1, H = 1, dpr = 1, k = 1, ox = 0, oy = 0, hover = -1, drag = null, moved = false, pending = false;

  function resize() {
    const r = view.getBoundingClientRect();
    W = Math.max(1, r.width); H = Math.max(1, r.height); dpr = window.devicePixelRatio || 1;
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
  }
  function fit() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, D.x[i] - D.r[i]); x1 = Math.max(x1, D.x[i] + D.r[i]);
      y0 = Math.min(y0, D.y[i] - D.r[i]); y1 = Math.max(y1, D.y[i] + D.r[i]);
    }
    if (!n) { x0 = y0 = -1; x1 = y1 = 1; }
    k = Math.min(4, (W - 30) / Math.max(x1 - x0, 1e-6), (H - 30) / Math.max(y1 - y0, 1e-6));
    ox = W / 2 - k * (x0 + x1) / 2; oy = H / 2 - k * (y0 + y1) / 2;
  }
  function edges(kind, color, width) {
    ctx.beginPath();
    for (let e = 0; e < m; e++) {
      if (D.mu[e] !== kind) continue;
      const a = D.s[e], b = D.d[e];
      ctx.moveTo(D.x[a], D.y[a]); ctx.lineTo(D.x[b], D.y[b]);
    }
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.stroke();
    const len = 3 + 2 * width;
    if (len * k < 2.5) return;  // arrowheads too small to see at this zoom
    ctx.beginPath();
    for (let e = 0; e < m; e++) {
      if (D.mu[e] !== kind) continue;
      const a = D.s[e], b = D.d[e], dx = D.x[b] - D.x[a], dy = D.y[b] - D.y[a], L = Math.hypot(dx, dy);
      if (L <= D.r[b] + len) continue;
      const ux = dx / L, uy = dy / L, tx = D.x[b] - ux * (D.r[b] + 0.5), ty = D.y[b] - uy * (D.r[b] + 0.5);
      const bx = tx - ux * len, by = ty - uy * len, h = len * 0.45;
      ctx.moveTo(tx, ty); ctx.lineTo(bx - uy * h, by + ux * h); ctx.lineTo(bx + uy * h, by - ux * h); ctx.closePath();
    }
    ctx.fillStyle = color; ctx.fill();
  }
  function draw() {
    pending = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * ox, dpr * oy);
    ctx.lineCap = "round";
    edges(0, "#cccccc", 0.8);
    edges(1, "#888888", 1.5);
    if (hover >= 0) {
      ctx.beginPath();
      for (let e = 0; e < m; e++) {
        const a = D.s[e], b = D.d[e];
        if (a === hover || b === hover) { ctx.moveTo(D.x[a], D.y[a]); ctx.lineTo(D.x[b], D.y[b]); }
      }
      ctx.strokeStyle = "#333333"; ctx.lineWidth = 1.5; ctx.stroke();
    }
    for (let c = 0; c < D.pal.length; c++) {
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (D.c[i] !== c) continue;
        ctx.moveTo(D.x[i] + D.r[i], D.y[i]); ctx.arc(D.x[i], D.y[i], D.r[i], 0, TAU);
      }
      ctx.fillStyle = D.pal[c]; ctx.fill();
      ctx.strokeStyle = "rgba(0,0,0,0.45)"; ctx.lineWidth = 1 / Math.max(k, 0.5); ctx.stroke();
    }
    if (hover >= 0) {
      ctx.beginPath(); ctx.arc(D.x[hover], D.y[hover], D.r[hover] + 2 / k, 0, TAU);
      ctx.strokeStyle = "#000000"; ctx.lineWidth = 2 / k; ctx.stroke();
    }
    if (D.l) {
      ctx.fillStyle = "#000000"; ctx.font = "10px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
      for (let i = 0; i < n; i++) ctx.fillText(D.l[i], D.x[i], D.y[i] + D.r[i] + 2);
    }
    window.s3view = {nodes: n, edges: m, draws: (window.s3view ? window.s3view.draws : 0) + 1};
  }
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(draw); } }
  function at(ev) { const r = view.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
  function nearest(px, py) {
    const wx = (px - ox) / k, wy = (py - oy) / k;
    let best = -1, bd = Infinity;
    for (let i = 0; i < n; i++) {
      const d = Math.hypot(D.x[i] - wx, D.y[i] - wy) - D.r[i];
      if (d < bd) { bd = d; best = i; }
    }
    return bd <= 4 / k ? best : -1;
  }
  function showTip(i, px, py) {
    if (i < 0 || !D.t[i]) { tip.style.display = "none"; return; }
    tip.textContent = D.t[i]; tip.style.display = "block";
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(0, Math.min(px + 12, W - w - 2)) + "px";
    tip.style.top = (py + 14 + h > H ? Math.max(0, py - h - 8) : py + 14) + "px";
  }
  view.addEventListener("pointerdown", ev => {
    drag = at(ev); moved = false; view.setPointerCapture(ev.pointerId); view.classList.add("dragging");
  });
  view.addEventListener("pointermove", ev => {
    const [px, py] = at(ev);
    if (drag) {
      ox += px - drag[0]; oy += py - drag[1]; drag = [px, py]; moved = true;
      tip.style.display = "none"; redraw(); return;
    }
    const i = nearest(px, py);
    if (i !== hover) { hover = i; redraw(); }
    showTip(i, px, py);
  });
  function release() { drag = null; view.classList.remove("dragging"); }
  view.addEventListener("pointerup", release);
  view.addEventListener("pointercancel", release);
  view.addEventListener("pointerleave", () => { if (!drag && hover >= 0) { hover = -1; redraw(); } tip.style.display = "none"; });
  view.addEventListener("wheel", ev => {
    ev.preventDefault();
    const [px, py] = at(ev), f = Math.exp(-ev.deltaY * 0.0015), k2 = Math.min(40, Math.max(0.01, k * f));
    ox = px - (px - ox) * (k2 / k); oy = py - (py - oy) * (k2 / k); k = k2;
    tip.style.display = "none"; redraw();
  }, {passive: false});
  view.addEventListener("dblclick", () => { fit(); redraw(); });
  let fitted = true;
  view.addEventListener("pointerup", () => { if (moved) fitted = false; });
  view.addEventListener("wheel", () => { fitted = false; }, {passive: true});
  new ResizeObserver(() => { const cx = W / 2, cy = H / 2; resize(); if (fitted) fit(); else { ox += W / 2 - cx; oy += H / 2 - cy; } draw(); })
    .observe(view);
  resize(); fit(); draw();
})();
</script></body></html>
"""


def page(
    x: list[float],
    y: list[float],
    radius: list[float],
    color_index: list[int],
    palette: list[str],
    titles: list[str],
    src: list[int],
    dst: list[int],
    mutual: list[bool],
    labels: list[str] | None = None,
    height: int = 560,
) -> str:
    """The HTML page drawing ``len(x)`` nodes and ``len(src)`` directed edges.

    Args:
        x, y: node centres in layout pixels (the view fits them to its size; zoom scales them).
        radius: dot radius per node, in layout pixels.
        color_index: per node, an index into ``palette`` (CSS colours, e.g. ``"#0072B2"``).
        titles: hover text per node (plain text; "" shows none).
        src, dst: node positions (0..n-1) of each edge's follower and followee; drawn src -> dst.
        mutual: per edge, the follow is reciprocated (drawn darker and wider).
        labels: optional text drawn under each node.
        height: the view's height in CSS pixels.

    Raises:
        ValueError: a per-node or per-edge list has the wrong length, or an index is out of range.
    """
    n, m = len(x), len(src)
    per_node = {"y": y, "radius": radius, "color_index": color_index, "titles": titles}
    if labels is not None:
        per_node["labels"] = labels
    wrong = [f"{name} has {len(v)}" for name, v in per_node.items() if len(v) != n]
    wrong += [f"{name} has {len(v)}" for name, v in {"dst": dst, "mutual": mutual}.items() if len(v) != m]
    if wrong:
        raise ValueError(f"network view: {n} nodes and {m} edges, but " + ", ".join(wrong))
    if n and m and (min(min(src), min(dst)) < 0 or max(max(src), max(dst)) >= n):
        raise ValueError(f"network view: an edge end is outside the {n} nodes")
    if n and (min(color_index) < 0 or max(color_index) >= len(palette)):
        raise ValueError(f"network view: a colour index is outside the palette of {len(palette)}")
    data = {
        "x": [round(float(v), 1) for v in x],
        "y": [round(float(v), 1) for v in y],
        "r": [round(float(v), 2) for v in radius],
        "c": [int(v) for v in color_index],
        "pal": [str(v) for v in palette],
        "t": [str(v) for v in titles],
        "l": None if labels is None else [str(v) for v in labels],
        "s": [int(v) for v in src],
        "d": [int(v) for v in dst],
        "mu": [int(bool(v)) for v in mutual],
    }
    return _PAGE.replace("__HEIGHT__", str(int(height))).replace("__DATA__", script_json(data))


def script_json(data) -> str:
    """JSON that is safe inside an HTML <script>: no ``</script>``, comment or entity can start in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text
