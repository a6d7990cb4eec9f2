// one_guess (the worked example of ARCHITECTURE.md): a slider over the noise levels t the model is
// told; the panel shows its clean-image guess from the seed's pure noise.
(function (NTI) {
  "use strict";
  NTI.figures.one_guess = {
    layout: { perRow: [1, 1] },
    create(body, model) {
      let seed = 0;
      const panel = NTI.panel("x̂₀: the guess");
      const last = model.timesteps.length - 1;
      function draw(i) { panel.draw(model, model.seeds[seed].guesses[i]); }
      const slider = NTI.Slider({ label: "Noise level told", min: 0, max: last, value: 0,
        text: (i) => `t = ${model.timesteps[i]}`, onChange: draw });
      const controls = NTI.el("div", { class: "nti-controls" }, [slider.el]);
      NTI.SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
      body.append(NTI.el("div", { class: "nti-panels" }, [panel.el]), controls);
      draw(0);
      return {
        focus: () => seed,
        getState: () => ({ level: last > 0 ? slider.value / last : 0 }),
        setState(state) { if (state.level !== undefined) slider.set(NTI.fromFraction(state.level, last)); },
      };
    },
  };
})(window.NTI);
