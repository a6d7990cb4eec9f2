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

  // Sheets load on demand, per model: model.images[i] is a decoded sheet or undefined until then.
  // Decoding before use (image.decode) keeps the first draw from a new sheet as fast as the rest.
  function prepare(model, dataUrl) {
    if (!model.images) {
      model.images = new Array(model.sheets.length);
      model.loading = new Map(); // sheet index -> Promise, while in flight or done
      model.dataUrl = dataUrl;   // sheet URLs are relative to the figure's JSON file
    }
    return model;
  }
  NTI.prepareModel = prepare;

  NTI.ensureSheet = function (model, index) {
    if (!model.loading.has(index)) {
      const url = new URL(model.sheets[index].url, model.dataUrl).href;
      const image = new Image();
      image.src = url;
      const promise = image.decode().then(() => { model.images[index] = image; return image; }, () => {
        model.loading.delete(index); // a later draw may try again
        throw new Error(`${url}: sprite sheet failed to load`);
      });
      model.loading.set(index, promise);
    }
    return model.loading.get(index);
  };

  // Everything requested so far (the sheets the current view draws) has arrived.
  NTI.settled = (model) => Promise.all(model.loading.values());
  NTI.allLoaded = (model) => model.sheets.every((_, i) => model.images[i]); // not images.every: it skips holes

  // Load the model's remaining sheets, frames every view needs first (group null), then the tracks
  // nearest `focus` (the current seed or level), a few at a time so the nearest arrive first.
  // `wanted()` is asked before each request: once the reader switches model or leaves the page it
  // answers false and the queue stops, leaving at most the three requests already in flight.
  NTI.preload = function (model, focus, wanted = () => true) {
    const rank = (i) => (model.sheets[i].group === null || model.sheets[i].group === undefined ? -1 : Math.abs(model.sheets[i].group - focus));
    const order = model.sheets.map((_, i) => i).filter((i) => !model.images[i]).sort((a, b) => rank(a) - rank(b) || a - b);
    let next = 0;
    const worker = async () => { while (next < order.length && wanted()) await NTI.ensureSheet(model, order[next++]); };
    return Promise.all([worker(), worker(), worker()]);
  };

  // A captioned canvas showing one frame; data-frame names the manifest file on screen.
  NTI.panel = function (caption, extraClass) {
    const canvas = NTI.el("canvas", { width: 1, height: 1, role: "img", "aria-label": caption });
    const figure = NTI.el("figure", { class: "nti-panel" + (extraClass ? " " + extraClass : "") },
      [NTI.el("div", { class: "nti-canvas-wrap" }, [canvas]), NTI.el("figcaption", { text: caption })]);
    let wanted = null;
    function paint(model, ref, image) {
      const sheet = model.sheets[ref[0]];
      const size = model.size;
      if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
      const context = canvas.getContext("2d");
      context.imageSmoothingEnabled = false;
      context.clearRect(0, 0, size, size);
      context.drawImage(image, (ref[1] % sheet.cols) * size, Math.floor(ref[1] / sheet.cols) * size, size, size, 0, 0, size, size);
      figure.dataset.frame = ref[2];
      canvas.dataset.frame = ref[2];
      canvas.setAttribute("aria-label", `${caption} (${ref[2]})`);
    }
    return {
      el: figure,
      canvas,
      // Draw now if the sheet is in; otherwise keep the frame on screen and draw this one when its
      // sheet arrives, unless another draw was asked for meanwhile.
      draw(model, ref) {
        wanted = ref;
        const image = model.images[ref[0]];
        if (image) return paint(model, ref, image);
        NTI.ensureSheet(model, ref[0]).then((loaded) => { if (wanted === ref) paint(model, ref, loaded); }, (error) => console.error(error));
      },
    };
  };

  NTI.fmt = function (value, digits) {
    if (value === null || value === undefined) return "∞";
    if (Math.abs(value) >= 1000) return value.toExponential(1);
    return Number(value).toFixed(digits === undefined ? 3 : digits);
  };
})(window.NTI);
