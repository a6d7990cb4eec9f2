// Frame loading shared by every figure: fetch figure data, load each sprite sheet once, and draw
// one cell of a sheet onto a panel's canvas. Drawing only from already-decoded sheets means a
// slider never shows a blank or stale frame while it is dragged.
window.NTI = window.NTI || { figures: {} };
(function (NTI) {
  "use strict";
  const sheets = new Map(); // absolute URL -> Promise<HTMLImageElement>

  NTI.el = function (tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  };

  NTI.loadJSON = async function (url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  };

  function loadSheet(url) {
    if (!sheets.has(url)) {
      sheets.set(url, new Promise((resolve, reject) => {
        const image = new Image();
        image.onload = () => resolve(image);
        image.onerror = () => { sheets.delete(url); reject(new Error(`${url}: sprite sheet failed to load`)); };
        image.src = url;
      }));
    }
    return sheets.get(url);
  }

  // Resolve and load all sheets of one model's figure data (URLs are relative to the JSON file).
  NTI.loadModel = async function (model, dataUrl) {
    if (!model.images) {
      model.images = await Promise.all(model.sheets.map((s) => loadSheet(new URL(s.url, dataUrl).href)));
    }
    return model;
  };

  // A captioned canvas showing one frame; data-frame names the manifest file on screen.
  NTI.panel = function (caption, extraClass) {
    const canvas = NTI.el("canvas", { width: 1, height: 1, role: "img", "aria-label": caption });
    const figure = NTI.el("figure", { class: "nti-panel" + (extraClass ? " " + extraClass : "") },
      [NTI.el("div", { class: "nti-canvas-wrap" }, [canvas]), NTI.el("figcaption", { text: caption })]);
    return {
      el: figure,
      canvas,
      draw(model, ref) {
        const sheet = model.sheets[ref[0]];
        const size = model.size;
        if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
        const context = canvas.getContext("2d");
        context.imageSmoothingEnabled = false;
        context.clearRect(0, 0, size, size);
        context.drawImage(model.images[ref[0]], (ref[1] % sheet.cols) * size, Math.floor(ref[1] / sheet.cols) * size,
          size, size, 0, 0, size, size);
        figure.dataset.frame = ref[2];
        canvas.dataset.frame = ref[2];
        canvas.setAttribute("aria-label", `${caption} (${ref[2]})`);
      },
    };
  };

  NTI.fmt = function (value, digits) {
    if (value === null || value === undefined) return "∞";
    if (Math.abs(value) >= 1000) return value.toExponential(1);
    return Number(value).toFixed(digits === undefined ? 3 : digits);
  };
})(window.NTI);
