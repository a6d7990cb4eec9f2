// one_guess (the worked example of ARCHITECTURE.md): a slider over the noise levels t the model is
// told; the panel shows its clean-image guess from the seed's pure noise.
import { el, panel } from "../frames.js";
import { Slider } from "../slider.js";
import { SeedPicker, fromFraction } from "../widgets.js";

export const one_guess = {
  layout: { perRow: [1, 1] },
  create(body, model) {
    let seed = 0;
    const guess = panel("x̂₀: the guess");
    const last = model.timesteps.length - 1;
    function draw(i) { guess.draw(model, model.seeds[seed].guesses[i]); }
    const slider = Slider({ label: "Noise level told", min: 0, max: last, value: 0,
      text: (i) => `t = ${model.timesteps[i]}`, onChange: draw });
    const controls = el("div", { class: "nti-controls" }, [slider.el]);
    SeedPicker(model.seeds, controls, (index) => { seed = index; draw(slider.value); });
    body.append(el("div", { class: "nti-panels" }, [guess.el]), controls);
    draw(0);
    return {
      focus: () => seed,
      getState: () => ({ level: last > 0 ? slider.value / last : 0 }),
      setState(state) { if (state.level !== undefined) slider.set(fromFraction(state.level, last)); },
    };
  },
};
