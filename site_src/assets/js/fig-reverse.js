// Reverse process: one step slider drives x_t, the predicted noise, the predicted clean image and
// the next x_t; a strip of alpha_bar marks the current step; a seed picker chooses the trajectory.
(function (NTI) {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  function alphaStrip(model) {
    const width = 240, height = 40, n = model.alpha_bar.length;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "nti-strip");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Signal share ᾱ at each sampling step, rising from almost 0 (pure noise) to almost 1 (clean image)");
    const bar = width / n;
    model.alpha_bar.forEach((a, i) => {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", i * bar);
      rect.setAttribute("width", Math.max(0.5, bar - 0.5));
      rect.setAttribute("y", height - a * (height - 4));
      rect.setAttribute("height", a * (height - 4));
      rect.setAttribute("class", "nti-strip-bar");
      svg.append(rect);
    });
    const marker = document.createElementNS(SVG, "rect");
    marker.setAttribute("y", 0);
    marker.setAttribute("height", height);
    marker.setAttribute("width", Math.max(1.5, bar));
    marker.setAttribute("class", "nti-strip-marker");
    svg.append(marker);
    return { el: svg, mark(i) { marker.setAttribute("x", i * bar); } };
  }

  NTI.figures.reverse = {
    create(body, model, shell) {
      let seed = 0;
      const panels = {
        x: NTI.panel("xₜ: the input"), eps: NTI.panel("ε̂: predicted noise"),
        x0: NTI.panel("x̂₀: predicted clean image"), next: NTI.panel("next xₜ: scheduler output"),
      };
      const info = NTI.el("p", { class: "nti-info", "aria-live": "polite" });
      const strip = alphaStrip(model);
      const last = model.steps - 1;
      function draw(i) {
        const track = model.seeds[seed];
        panels.x.draw(model, track.x[i]);
        panels.eps.draw(model, track.eps[i]);
        panels.x0.draw(model, track.x0[i]);
        panels.next.draw(model, track.x[i + 1]);
        strip.mark(i);
        info.textContent = `step ${i + 1} of ${model.steps}: timestep t = ${model.timesteps[i]}, ᾱ = ${NTI.fmt(model.alpha_bar[i])}, SNR = ${NTI.fmt(model.snr[i])}`;
      }
      const slider = NTI.Slider({ label: "Sampling step", min: 0, max: last, value: 0,
        text: (i) => `step ${i + 1} of ${model.steps}, timestep ${model.timesteps[i]}`, onChange: draw });
      const player = NTI.Player({ shell, interval: Math.max(60, 3000 / model.steps), tick: () => slider.set(slider.value >= last ? 0 : slider.value + 1) });
      const controls = NTI.el("div", { class: "nti-controls" }, [slider.el, player.el]);
      const picker = NTI.SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
      body.append(NTI.el("div", { class: "nti-panels" }, Object.values(panels).map((p) => p.el)), strip.el, info, controls);
      draw(0);
      return {
        focus: () => seed,
        getState: () => ({ step: last > 0 ? slider.value / last : 0, seed }),
        setState(state) {
          if (state.seed !== undefined && state.seed < model.seeds.length) { seed = state.seed; if (picker) picker.set(seed); draw(slider.value); }
          if (state.step !== undefined) slider.set(NTI.fromFraction(state.step, last));
        },
      };
    },
  };
})(window.NTI);
