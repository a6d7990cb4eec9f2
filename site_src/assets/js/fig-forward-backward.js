// Forward then backward: a start-level slider (how much noise is added) and a denoising-step slider
// over the triangle of runs; original, noised, current, reconstruction and their difference.
(function (NTI) {
  "use strict";
  NTI.figures.forward_backward = {
    create(body, model, shell) {
      const panels = {
        original: NTI.panel("original x₀"), noised: NTI.panel("noised to the start level"),
        current: NTI.panel("while denoising"), recon: NTI.panel("reconstruction"),
        diff: NTI.panel("|reconstruction − original|"),
      };
      const info = NTI.el("p", { class: "nti-info", "aria-live": "polite" });
      const lastLevel = model.levels.length - 1;
      const levelOf = () => model.levels[levelSlider.value];
      function drawStep(j) {
        const level = levelOf();
        panels.current.draw(model, level.frames[j]);
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
      body.append(NTI.el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), info,
        NTI.el("div", { class: "nti-controls" }, [levelSlider.el, stepSlider.el, player.el]));
      panels.original.draw(model, model.original);
      drawLevel(0);
      return {
        getState: () => ({ level: lastLevel ? levelSlider.value / lastLevel : 0, step: stepSlider.max ? stepSlider.value / stepSlider.max : 0 }),
        setState(state) {
          if (state.level !== undefined) levelSlider.set(NTI.fromFraction(state.level, lastLevel));
          if (state.step !== undefined) stepSlider.set(NTI.fromFraction(state.step, stepSlider.max));
        },
      };
    },
  };
})(window.NTI);
