// Forward then backward: a start-level slider (how much noise is added) and a denoising-step slider
// over the triangle of runs; original, noised, current, reconstruction and their difference.
(function (NTI) {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  // The triangle of runs: one row per start level, one cell per denoising step; the current cell is marked.
  function triangleMap(model) {
    const T = model.steps, cell = Math.max(3, Math.min(10, Math.floor(200 / (T + 1))));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${(T + 1) * cell} ${model.levels.length * cell}`);
    svg.setAttribute("class", "nti-triangle");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Map of all runs: one row per start level (noisiest on top), one cell per denoising step");
    model.levels.forEach((level, row) => {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", 0); rect.setAttribute("y", row * cell);
      rect.setAttribute("width", level.frames.length * cell); rect.setAttribute("height", cell - 0.5);
      rect.setAttribute("class", "nti-triangle-row");
      svg.append(rect);
    });
    const marker = document.createElementNS(SVG, "rect");
    marker.setAttribute("width", cell); marker.setAttribute("height", cell);
    marker.setAttribute("class", "nti-strip-marker");
    svg.append(marker);
    return { el: svg, mark(row, j) { marker.setAttribute("x", j * cell); marker.setAttribute("y", row * cell); } };
  }

  NTI.figures.forward_backward = {
    create(body, model, shell) {
      const panels = {
        original: NTI.panel("original x₀"), noised: NTI.panel("noised to the start level"),
        current: NTI.panel("while denoising"), recon: NTI.panel("reconstruction"),
        diff: NTI.panel("|reconstruction − original|"),
      };
      const info = NTI.el("p", { class: "nti-info", "aria-live": "polite" });
      const lastLevel = model.levels.length - 1;
      const map = triangleMap(model);
      const levelOf = () => model.levels[levelSlider.value];
      function drawStep(j) {
        const level = levelOf();
        panels.current.draw(model, level.frames[j]);
        map.mark(levelSlider.value, j);
        info.textContent = `start at step ${level.level + 1} of ${model.steps} (timestep ${level.timestep}, ᾱ = ${NTI.fmt(level.alpha_bar)}); ` +
          `${j} of ${level.frames.length - 1} denoising steps taken; distance to the original ${NTI.fmt(level.distance, 2)}`;
      }
      function drawLevel(index) {
        const level = model.levels[index];
        panels.noised.draw(model, level.frames[0]);
        panels.recon.draw(model, level.frames[level.frames.length - 1]);
        panels.diff.draw(model, level.diff);
        stepSlider.setRange(0, level.frames.length - 1, stepSlider.value);
        drawStep(stepSlider.value);
      }
      const levelSlider = NTI.Slider({ label: "Start level (more noise to the left)", min: 0, max: lastLevel, value: 0,
        text: (k) => `start at step ${model.levels[k].level + 1} of ${model.steps}, signal share ᾱ ${NTI.fmt(model.levels[k].alpha_bar)}`,
        onChange: (k) => drawLevel(k) });
      const stepSlider = NTI.Slider({ label: "Denoising steps taken", min: 0, max: model.levels[0].frames.length - 1, value: 0,
        text: (j) => `${j} step${j === 1 ? "" : "s"} taken`, onChange: (j) => drawStep(j) });
      const player = NTI.Player({ shell, interval: 150, tick: () => stepSlider.set(stepSlider.value >= stepSlider.max ? 0 : stepSlider.value + 1) });
      body.append(NTI.el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), map.el, info,
        NTI.el("div", { class: "nti-controls" }, [levelSlider.el, stepSlider.el, player.el]));
      panels.original.draw(model, model.original);
      drawLevel(0);
      return {
        focus: () => levelSlider.value, // rows nearest the current start level load first
        getState: () => ({ level: lastLevel ? levelSlider.value / lastLevel : 0, step: stepSlider.max ? stepSlider.value / stepSlider.max : 0 }),
        setState(state) {
          if (state.level !== undefined) levelSlider.set(NTI.fromFraction(state.level, lastLevel));
          if (state.step !== undefined) stepSlider.set(NTI.fromFraction(state.step, stepSlider.max));
        },
      };
    },
  };
})(window.NTI);
